// Models struct dma_heap_ops and struct dma_heap_export_info (include/linux/dma-heap.h, Linux 6.1 and 6.12).
using Sim.Core;
using Sim.Core.Kernel;

namespace Sim.DmaBufs;

/// <summary>
/// <c>allocate(heap, len, fd_flags, heap_flags)</c> called by <paramref name="current"/>: the new dma-buf, or
/// (null, -errno) for <c>ERR_PTR</c>. <c>len</c> is already page aligned and non-zero.
/// </summary>
public delegate (DmaBuf? DmaBuf, int Err) DmaHeapAllocateFn(DmaHeap heap, ulong len, uint fdFlags, ulong heapFlags, Process current);

/// <summary><c>struct dma_heap_ops</c>: a heap's only op, <c>allocate</c> (mandatory: <c>dma_heap_add</c> refuses a heap without it).</summary>
[Kernel("struct dma_heap_ops", "include/linux/dma-heap.h")]
public sealed class DmaHeapOps
{
    /// <summary><c>allocate</c>.</summary>
    public DmaHeapAllocateFn? Allocate { get; init; }
}

/// <summary><c>struct dma_heap_export_info</c>: what a heap driver hands <c>dma_heap_add</c>.</summary>
[Kernel("struct dma_heap_export_info", "include/linux/dma-heap.h")]
public sealed class DmaHeapExportInfo
{
    /// <summary><c>name</c>: the device node's name under <c>/dev/dma_heap/</c> (mandatory, non-empty, unique).</summary>
    public string? Name { get; init; }

    /// <summary><c>ops</c>.</summary>
    public DmaHeapOps? Ops { get; init; }

    /// <summary><c>priv</c>: the heap driver's data (<c>dma_heap_get_drvdata</c>).</summary>
    public object? Priv { get; init; }
}
