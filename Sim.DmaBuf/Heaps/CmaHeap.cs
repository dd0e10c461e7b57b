// Models drivers/dma-buf/heaps/cma_heap.c (Linux 6.1.192 and 6.12.118): the CMA heap on the default CMA area,
// named after it ("reserved" for the area of cma= / CONFIG_CMA_SIZE_MBYTES), buffers from cma_alloc, and
// cma_heap_buf_ops. 6.1 maps user pages with vm_fault giving the page; 6.12 marks the mapping
// VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP and inserts pfns (vmf_insert_pfn). Debian builds it on
// neither kernel (DMABUF_HEAPS_CMA is not set): modelled from the upstream source (option dma_heap / dma_heap=cma).
using Sim.Core;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBufs.Heaps;

/// <summary><c>struct cma_heap_buffer</c>: a contiguous CMA range, its page array, attachments and kernel mapping.</summary>
[Kernel("struct cma_heap_buffer", "drivers/dma-buf/heaps/cma_heap.c")]
public sealed class CmaHeapBuffer
{
    internal CmaHeapBuffer(CmaHeap heap, ulong len, ulong cmaPages, ulong[] pages)
    {
        Heap = heap;
        Len = len;
        CmaPages = cmaPages;
        Pages = pages;
    }

    /// <summary><c>heap</c>.</summary>
    public CmaHeap Heap { get; }

    /// <summary><c>attachments</c>, newest first.</summary>
    public List<DmaHeapAttachment> Attachments { get; } = [];

    /// <summary><c>len</c> (page aligned).</summary>
    public ulong Len { get; }

    /// <summary><c>cma_pages</c>: the first frame.</summary>
    public ulong CmaPages { get; }

    /// <summary><c>pages</c>: one frame per page.</summary>
    public ulong[] Pages { get; }

    /// <summary><c>pagecount</c>.</summary>
    public ulong PageCount => (ulong)Pages.Length;

    /// <summary><c>vmap_cnt</c>.</summary>
    public int VmapCnt { get; internal set; }

    /// <summary><c>vaddr</c>.</summary>
    public ulong Vaddr { get; internal set; }
}

/// <summary>
/// <c>struct cma_heap</c>: <c>add_default_cma_heap</c> (module_init) adds a heap named after the default CMA area
/// (<c>dev_get_cma_area(NULL)</c>) when the machine has one and CONFIG_DMABUF_HEAPS_CMA
/// (<see cref="MachineOptions.DmaHeapCma"/>).
/// </summary>
[Kernel("struct cma_heap", "drivers/dma-buf/heaps/cma_heap.c")]
public sealed class CmaHeap
{
    private static readonly FaultSite s_kzallocBuffer = FaultSite.Register("cma_heap_allocate:kzalloc");
    private static readonly FaultSite s_kmallocPages = FaultSite.Register("cma_heap_allocate:kmalloc_array");
    private static readonly FaultSite s_kzallocAttach = FaultSite.Register("cma_heap_attach:kzalloc");

    /// <summary><c>cma_heap_buf_ops</c>.</summary>
    [Kernel("cma_heap_buf_ops", "drivers/dma-buf/heaps/cma_heap.c")]
    public static readonly DmaBufOps BufOps = new()
    {
        Attach = Attach,
        Detach = Detach,
        MapDmaBuf = MapDmaBuf,
        UnmapDmaBuf = UnmapDmaBuf,
        BeginCpuAccess = BeginCpuAccess,
        EndCpuAccess = EndCpuAccess,
        Mmap = Mmap,
        Vmap = Vmap,
        Vunmap = Vunmap,
        Release = Release,
    };

    private readonly Cma? _cma;
    private readonly PhysicalMemory _memory;
    private readonly DmaMapping _dma;
    private readonly Vmalloc _vmalloc;
    private readonly DmaBufList _dbList;
    private readonly uint _cmaAlignment;
    private readonly ulong _lowmemEndPfn;
    private readonly bool _pfnmap;

    /// <summary><c>add_default_cma_heap</c> → <c>__add_cma_heap(default_cma)</c>: the heap named <c>cma_get_name(cma)</c>.</summary>
    [Kernel("add_default_cma_heap", "drivers/dma-buf/heaps/cma_heap.c")]
    public CmaHeap(MachineOptions options, DmaHeapCore heaps, PhysicalMemory memory, DmaMapping dma, Vmalloc vmalloc,
        DmaBufList dbList, DmaContiguous? contiguous = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(heaps);
        _memory = memory;
        _dma = dma;
        _vmalloc = vmalloc;
        _dbList = dbList;
        _cmaAlignment = (uint)options.CmaMaxAlignOrder;
        _pfnmap = options.Kernel >= KernelVersion.V6_12;
        // PageHighMem: on the 32-bit board, frames above lowmem (768 MiB with VMSPLIT_3G) are highmem.
        _lowmemEndPfn = options.Is32Bit
            ? (options.RamBase + Math.Min(options.RamBytes, DmaContiguous.ArmLowmemBytes)) >> Align.PAGE_SHIFT
            : ulong.MaxValue;
        _cma = contiguous?.DevGetCmaArea();
        if (options.DmaHeapCma && _cma is not null)
        {
            // __add_cma_heap's kzalloc of the cma_heap: boot time, not a fault site of the sweep.
            (Heap, AddError) = heaps.Add(new DmaHeapExportInfo
            {
                Name = _cma.Name,
                Ops = new DmaHeapOps { Allocate = Allocate },
                Priv = this,
            });
        }
    }

    /// <summary><c>cma_heap-&gt;heap</c> (null when not configured, no CMA area, or <c>dma_heap_add</c> failed).</summary>
    public DmaHeap? Heap { get; }

    /// <summary>The error of <c>__add_cma_heap</c> (0 = none).</summary>
    public int AddError { get; }

    /// <summary><c>cma_heap-&gt;cma</c>.</summary>
    public Cma? Cma => _cma;

    /// <summary>
    /// <c>cma_heap_allocate(heap, len, fd_flags, heap_flags)</c>: the buffer (<c>-ENOMEM</c>); <c>cma_alloc</c> of
    /// the page count aligned to <c>get_order(size)</c> capped at CONFIG_CMA_ALIGNMENT (<c>-ENOMEM</c>); the pages
    /// cleared (highmem page by page, giving up with <c>-ENOMEM</c> on a fatal signal); the page array
    /// (<c>-ENOMEM</c>); <c>dma_buf_export</c> (its error). Failures release the CMA range.
    /// </summary>
    [Kernel("cma_heap_allocate", "drivers/dma-buf/heaps/cma_heap.c")]
    public (DmaBuf? DmaBuf, int Err) Allocate(DmaHeap heap, ulong len, uint fdFlags, ulong heapFlags, Process current)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentNullException.ThrowIfNull(current);
        ulong size = Align.PageAlign(len);
        ulong pagecount = size >> Align.PAGE_SHIFT;
        uint align = (uint)Align.GetOrder(size);
        int ret = -(int)Errno.ENOMEM;
        ulong cmaPages;
        ulong[] pages;

        if (s_kzallocBuffer.ShouldFail())
        {
            return (null, -(int)Errno.ENOMEM);
        }
        if (align > _cmaAlignment)
        {
            align = _cmaAlignment;
        }
        ulong? got = _cma!.Alloc(pagecount, align, false);
        if (got is null)
        {
            goto free_buffer;
        }
        cmaPages = got.Value;

        // Clear the cma pages.
        if (cmaPages >= _lowmemEndPfn)
        {
            for (ulong k = 0; k < pagecount; k++)
            {
                _memory.ZeroPages(cmaPages + k, 1); // kmap_atomic, memset, kunmap_atomic
                if (current.FatalSignalPending)
                {
                    goto free_cma;
                }
            }
        }
        else
        {
            _memory.ZeroPages(cmaPages, pagecount);
        }

        if (s_kmallocPages.ShouldFail())
        {
            ret = -(int)Errno.ENOMEM;
            goto free_cma;
        }
        pages = new ulong[pagecount];
        for (ulong pg = 0; pg < pagecount; pg++)
        {
            pages[pg] = cmaPages + pg;
        }

        {
            var buffer = new CmaHeapBuffer(this, size, cmaPages, pages);
            var (dmabuf, err) = DmaBuf.Export(_dbList, new DmaBufExportInfo
            {
                ExpName = heap.Name,
                Ops = BufOps,
                Size = buffer.Len,
                Flags = fdFlags,
                Priv = buffer,
            });
            if (dmabuf is not null)
            {
                return (dmabuf, 0);
            }
            ret = err;
        }
        // free_pages: kfree(buffer->pages)
    free_cma:
        _cma.Release(cmaPages, pagecount);
    free_buffer:
        return (null, ret);
    }

    /// <summary><c>cma_heap_attach</c>: a table from the page array (<c>sg_alloc_table_from_pages</c>: the contiguous range in one entry), its error as is.</summary>
    [Kernel("cma_heap_attach", "drivers/dma-buf/heaps/cma_heap.c")]
    public static int Attach(DmaBuf dmabuf, DmaBufAttachment attachment)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        ArgumentNullException.ThrowIfNull(attachment);
        var buffer = (CmaHeapBuffer)dmabuf.Priv;
        if (s_kzallocAttach.ShouldFail())
        {
            return -(int)Errno.ENOMEM;
        }
        var table = new SgTable();
        int ret = SgTable.AllocFromPages(table, buffer.Pages, (uint)buffer.PageCount, 0, buffer.PageCount << Align.PAGE_SHIFT);
        if (ret != 0)
        {
            return ret;
        }
        var a = new DmaHeapAttachment(attachment.Dev, table);
        attachment.Priv = a;
        buffer.Attachments.Insert(0, a);
        return 0;
    }

    /// <summary><c>cma_heap_detach</c>.</summary>
    [Kernel("cma_heap_detach", "drivers/dma-buf/heaps/cma_heap.c")]
    public static void Detach(DmaBuf dmabuf, DmaBufAttachment attachment)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        ArgumentNullException.ThrowIfNull(attachment);
        var buffer = (CmaHeapBuffer)dmabuf.Priv;
        var a = (DmaHeapAttachment)attachment.Priv!;
        buffer.Attachments.Remove(a);
        a.Table.Free();
    }

    /// <summary><c>cma_heap_map_dma_buf</c>: <c>dma_map_sgtable</c> of the attachment's table; any failure is <c>-ENOMEM</c>.</summary>
    [Kernel("cma_heap_map_dma_buf", "drivers/dma-buf/heaps/cma_heap.c")]
    public static (SgTable? Sgt, int Err) MapDmaBuf(DmaBufAttachment attachment, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        var a = (DmaHeapAttachment)attachment.Priv!;
        var buffer = (CmaHeapBuffer)attachment.DmaBuf!.Priv;
        if (buffer.Heap._dma.MapSgtable(attachment.Dev, a.Table, direction, 0) != 0)
        {
            return (null, -(int)Errno.ENOMEM);
        }
        a.Mapped = true;
        return (a.Table, 0);
    }

    /// <summary><c>cma_heap_unmap_dma_buf</c>.</summary>
    [Kernel("cma_heap_unmap_dma_buf", "drivers/dma-buf/heaps/cma_heap.c")]
    public static void UnmapDmaBuf(DmaBufAttachment attachment, SgTable table, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        ((DmaHeapAttachment)attachment.Priv!).Mapped = false;
        DmaMapping.UnmapSgtable(attachment.Dev, table, direction, 0);
    }

    /// <summary><c>cma_heap_dma_buf_begin_cpu_access</c>: mapped attachments synced for the CPU; 0.</summary>
    [Kernel("cma_heap_dma_buf_begin_cpu_access", "drivers/dma-buf/heaps/cma_heap.c")]
    public static int BeginCpuAccess(DmaBuf dmabuf, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        SystemHeap.SyncAttachments(((CmaHeapBuffer)dmabuf.Priv).Attachments, direction, forCpu: true);
        return 0;
    }

    /// <summary><c>cma_heap_dma_buf_end_cpu_access</c>: mapped attachments synced for their devices; 0.</summary>
    [Kernel("cma_heap_dma_buf_end_cpu_access", "drivers/dma-buf/heaps/cma_heap.c")]
    public static int EndCpuAccess(DmaBuf dmabuf, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        SystemHeap.SyncAttachments(((CmaHeapBuffer)dmabuf.Priv).Attachments, direction, forCpu: false);
        return 0;
    }

    /// <summary>
    /// <c>cma_heap_mmap</c>: shared mappings only (<c>-EINVAL</c>); faults give the buffer's pages. 6.12 also sets
    /// VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP (so such a mapping cannot grow with mremap).
    /// </summary>
    [Kernel("cma_heap_mmap", "drivers/dma-buf/heaps/cma_heap.c")]
    public static int Mmap(DmaBuf dmabuf, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        ArgumentNullException.ThrowIfNull(vma);
        var buffer = (CmaHeapBuffer)dmabuf.Priv;
        if ((vma.Flags & (Vma.VM_SHARED | Vma.VM_MAYSHARE)) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (buffer.Heap._pfnmap)
        {
            vma.Flags |= Vma.VM_IO | Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP; // vm_flags_set
        }
        vma.Ops = new VmOps(buffer);
        vma.PrivateData = buffer;
        return 0;
    }

    /// <summary><c>cma_heap_do_vmap</c>: <c>vmap</c> of the page array (<c>-ENOMEM</c>).</summary>
    [Kernel("cma_heap_do_vmap", "drivers/dma-buf/heaps/cma_heap.c")]
    private ulong DoVmap(CmaHeapBuffer buffer) => _vmalloc.Vmap(buffer.Pages);

    /// <summary><c>cma_heap_vmap</c>.</summary>
    [Kernel("cma_heap_vmap", "drivers/dma-buf/heaps/cma_heap.c")]
    public static int Vmap(DmaBuf dmabuf, out IosysMap map)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        var buffer = (CmaHeapBuffer)dmabuf.Priv;
        map = default;
        if (buffer.VmapCnt != 0)
        {
            buffer.VmapCnt++;
            map = new IosysMap(buffer.Vaddr, false);
            return 0;
        }
        ulong vaddr = buffer.Heap.DoVmap(buffer);
        if (vaddr == 0)
        {
            return -(int)Errno.ENOMEM;
        }
        buffer.Vaddr = vaddr;
        buffer.VmapCnt++;
        map = new IosysMap(vaddr, false);
        return 0;
    }

    /// <summary><c>cma_heap_vunmap</c>.</summary>
    [Kernel("cma_heap_vunmap", "drivers/dma-buf/heaps/cma_heap.c")]
    public static void Vunmap(DmaBuf dmabuf, IosysMap map)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        var buffer = (CmaHeapBuffer)dmabuf.Priv;
        if (--buffer.VmapCnt == 0)
        {
            buffer.Heap._vmalloc.Vunmap(buffer.Vaddr);
            buffer.Vaddr = 0;
        }
    }

    /// <summary>
    /// <c>cma_heap_dma_buf_release</c>: a buffer still vmapped is a WARN ("buffer still mapped in the kernel") and
    /// is unmapped; then the page array goes and the range is <c>cma_release</c>d.
    /// </summary>
    [Kernel("cma_heap_dma_buf_release", "drivers/dma-buf/heaps/cma_heap.c")]
    public static void Release(DmaBuf dmabuf)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        var buffer = (CmaHeapBuffer)dmabuf.Priv;
        var heap = buffer.Heap;
        if (buffer.VmapCnt > 0)
        {
            heap._dbList.Warnings.On(true, "cma_heap_dma_buf_release: buffer still mapped in the kernel");
            heap._vmalloc.Vunmap(buffer.Vaddr);
            buffer.Vaddr = 0;
        }
        heap._cma!.Release(buffer.CmaPages, buffer.PageCount);
    }

    /// <summary><c>dma_heap_vm_ops</c>.</summary>
    [Kernel("dma_heap_vm_ops", "drivers/dma-buf/heaps/cma_heap.c")]
    private sealed class VmOps(CmaHeapBuffer buffer) : IVmOperations
    {
        /// <summary><c>cma_heap_vm_fault</c>: past the buffer is SIGBUS; else the page (6.1: <c>get_page</c>; 6.12: <c>vmf_insert_pfn</c>).</summary>
        [Kernel("cma_heap_vm_fault", "drivers/dma-buf/heaps/cma_heap.c")]
        public long Fault(Vma vma, ulong pgoff) => pgoff >= buffer.PageCount ? -(long)Errno.EFAULT : (long)buffer.Pages[pgoff];
    }
}
