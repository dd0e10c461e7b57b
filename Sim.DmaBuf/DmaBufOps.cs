// Models struct dma_buf_ops, struct dma_buf_attach_ops and struct dma_buf_export_info (include/linux/dma-buf.h, Linux 6.1).
using Sim.Core;
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Mm;

namespace Sim.DmaBufs;

/// <summary>
/// <c>map_dma_buf</c>: the exporter maps the buffer for <c>attach-&gt;dev</c>. Returns the table, or
/// (null, -errno) for <c>ERR_PTR</c>, or (null, 0) for a NULL return (the core turns it into <c>-ENOMEM</c>).
/// </summary>
public delegate (SgTable? Sgt, int Err) MapDmaBufFn(DmaBufAttachment attach, DmaDataDirection direction);

/// <summary><c>vmap</c>: 0 and the kernel mapping, or a negative errno.</summary>
public delegate int VmapFn(DmaBuf dmabuf, out IosysMap map);

/// <summary>
/// <c>struct dma_buf_ops</c>: the exporter's vtable. A null member is an absent op with the kernel's semantics
/// (no <c>mmap</c>: <c>-EINVAL</c>; no <c>attach</c>/<c>detach</c>/<c>begin_cpu_access</c>: nothing to do).
/// <c>map_dma_buf</c>, <c>unmap_dma_buf</c> and <c>release</c> are mandatory (<see cref="DmaBuf.Export"/> WARNs).
/// Keep instances <c>static readonly</c> beside the exporter: reference identity is the exporter's type tag.
/// </summary>
[Kernel("struct dma_buf_ops", "include/linux/dma-buf.h")]
public sealed class DmaBufOps
{
    /// <summary><c>cache_sgt_mapping</c>: the core keeps the first mapping of an attachment and returns it again.</summary>
    public bool CacheSgtMapping { get; init; }

    /// <summary><c>attach</c>: 0, or a negative errno that fails the attach (-EBUSY when the storage is unreachable for the device).</summary>
    public Func<DmaBuf, DmaBufAttachment, int>? Attach { get; init; }

    /// <summary><c>detach</c>.</summary>
    public Action<DmaBuf, DmaBufAttachment>? Detach { get; init; }

    /// <summary><c>pin</c> (dynamic exporters; with <see cref="Unpin"/>).</summary>
    public Func<DmaBufAttachment, int>? Pin { get; init; }

    /// <summary><c>unpin</c>.</summary>
    public Action<DmaBufAttachment>? Unpin { get; init; }

    /// <summary><c>map_dma_buf</c> (mandatory).</summary>
    public MapDmaBufFn? MapDmaBuf { get; init; }

    /// <summary><c>unmap_dma_buf</c> (mandatory).</summary>
    public Action<DmaBufAttachment, SgTable, DmaDataDirection>? UnmapDmaBuf { get; init; }

    /// <summary><c>release</c> (mandatory): the last reference of the dma-buf is gone.</summary>
    public Action<DmaBuf>? Release { get; init; }

    /// <summary><c>begin_cpu_access</c>.</summary>
    public Func<DmaBuf, DmaDataDirection, int>? BeginCpuAccess { get; init; }

    /// <summary><c>end_cpu_access</c>.</summary>
    public Func<DmaBuf, DmaDataDirection, int>? EndCpuAccess { get; init; }

    /// <summary><c>mmap</c>: sets up the user mapping (its <see cref="Vma.Ops"/>), or a negative errno.</summary>
    public Func<DmaBuf, Vma, int>? Mmap { get; init; }

    /// <summary><c>vmap</c>.</summary>
    public VmapFn? Vmap { get; init; }

    /// <summary><c>vunmap</c>.</summary>
    public Action<DmaBuf, IosysMap>? Vunmap { get; init; }
}

/// <summary><c>struct dma_buf_attach_ops</c>: the importer's side of a dynamic attachment.</summary>
[Kernel("struct dma_buf_attach_ops", "include/linux/dma-buf.h")]
public sealed class DmaBufAttachOps
{
    /// <summary><c>allow_peer2peer</c>.</summary>
    public bool AllowPeer2Peer { get; init; }

    /// <summary><c>move_notify</c> (mandatory for a dynamic importer; <see cref="DmaBuf.DynamicAttach"/> WARNs).</summary>
    public Action<DmaBufAttachment>? MoveNotify { get; init; }
}

/// <summary><c>struct dma_buf_export_info</c> (<c>DEFINE_DMA_BUF_EXPORT_INFO</c>).</summary>
[Kernel("struct dma_buf_export_info", "include/linux/dma-buf.h")]
public sealed class DmaBufExportInfo
{
    /// <summary><c>exp_name</c> (KBUILD_MODNAME of the exporter: <c>drm</c>, <c>kvmfr</c>).</summary>
    public string ExpName { get; init; } = "";

    /// <summary><c>owner</c>: the exporting module's name (<c>THIS_MODULE</c>; null = built in, no module reference).</summary>
    public string? Owner { get; init; }

    /// <summary><c>ops</c>.</summary>
    public DmaBufOps? Ops { get; init; }

    /// <summary><c>size</c> in bytes.</summary>
    public ulong Size { get; init; }

    /// <summary><c>flags</c>: O_* flags of the file (only O_ACCMODE and O_NONBLOCK are kept).</summary>
    public uint Flags { get; init; }

    /// <summary><c>resv</c>: the exporter's reservation object (a GEM object's), or null for one embedded in the dma-buf.</summary>
    public DmaResv? Resv { get; init; }

    /// <summary><c>priv</c>: the exporter's object (mandatory).</summary>
    public object? Priv { get; init; }
}

/// <summary>
/// <c>struct iosys_map</c> (include/linux/iosys-map.h): a kernel virtual address, system memory or I/O memory.
/// The simulator's address is an opaque handle the exporter understands.
/// </summary>
[Kernel("struct iosys_map", "include/linux/iosys-map.h")]
public readonly record struct IosysMap(ulong Vaddr, bool IsIomem)
{
    /// <summary><c>iosys_map_is_null</c>.</summary>
    public bool IsNull => Vaddr == 0;
}
