// Models drivers/dma-buf/heaps/system_heap.c (Linux 6.1.192 and 6.12.118): the "system" heap, buffers made of
// buddy pages of orders 8, 4 and 0 (largest first), their sg table, and system_heap_buf_ops. 6.12 asks order 4
// with HIGH_ORDER_GFP (no reclaim, no retry) where 6.1 used MID_ORDER_GFP, and drops __GFP_COMP from order 0.
using Sim.Core;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBufs.Heaps;

/// <summary><c>struct system_heap_buffer</c>: the pages (as an sg table), the attachments, the kernel mapping.</summary>
[Kernel("struct system_heap_buffer", "drivers/dma-buf/heaps/system_heap.c")]
public sealed class SystemHeapBuffer
{
    internal SystemHeapBuffer(SystemHeap heap, ulong len)
    {
        Heap = heap;
        Len = len;
    }

    /// <summary>The heap driver.</summary>
    public SystemHeap Heap { get; }

    /// <summary><c>attachments</c>, newest first (<c>list_add</c>).</summary>
    public List<DmaHeapAttachment> Attachments { get; } = [];

    /// <summary><c>len</c>.</summary>
    public ulong Len { get; }

    /// <summary><c>sg_table</c>: one entry per allocated block (<c>page_size(page)</c> long).</summary>
    public SgTable SgTable { get; } = new();

    /// <summary><c>vmap_cnt</c>.</summary>
    public int VmapCnt { get; internal set; }

    /// <summary><c>vaddr</c>.</summary>
    public ulong Vaddr { get; internal set; }
}

/// <summary>
/// <c>struct dma_heap_attachment</c> of a heap buffer: the importer's device, the attachment's own table (a copy of
/// the buffer's for the system heap; built from the page array for the CMA heap) and whether it is mapped.
/// </summary>
[Kernel("struct dma_heap_attachment", "drivers/dma-buf/heaps/system_heap.c")]
public sealed class DmaHeapAttachment(Device dev, SgTable table)
{
    /// <summary><c>dev</c>.</summary>
    public Device Dev { get; } = dev;

    /// <summary><c>table</c>.</summary>
    public SgTable Table { get; } = table;

    /// <summary><c>mapped</c>.</summary>
    public bool Mapped { get; internal set; }
}

/// <summary>
/// The system heap: <c>system_heap_create</c> (module_init) adds <c>/dev/dma_heap/system</c> when the machine has
/// CONFIG_DMABUF_HEAPS_SYSTEM (<see cref="MachineOptions.DmaHeapSystem"/>).
/// </summary>
[Kernel("sys_heap", "drivers/dma-buf/heaps/system_heap.c")]
public sealed class SystemHeap
{
    /// <summary>The orders tried, largest first: 1 MiB, 64 KiB, 4 KiB blocks.</summary>
    [Kernel("orders", "drivers/dma-buf/heaps/system_heap.c")]
    public static readonly int[] Orders = [8, 4, 0];

    /// <summary><c>LOW_ORDER_GFP</c> of 6.1: GFP_HIGHUSER | __GFP_ZERO | __GFP_COMP.</summary>
    public const Gfp LOW_ORDER_GFP_6_1 = Gfp.GFP_HIGHUSER | Gfp.__GFP_ZERO | Gfp.__GFP_COMP;
    /// <summary><c>LOW_ORDER_GFP</c> of 6.12: GFP_HIGHUSER | __GFP_ZERO.</summary>
    public const Gfp LOW_ORDER_GFP_6_12 = Gfp.GFP_HIGHUSER | Gfp.__GFP_ZERO;
    /// <summary><c>MID_ORDER_GFP</c> (6.1 only): LOW_ORDER_GFP | __GFP_NOWARN.</summary>
    public const Gfp MID_ORDER_GFP = LOW_ORDER_GFP_6_1 | Gfp.__GFP_NOWARN;
    /// <summary><c>HIGH_ORDER_GFP</c>: (GFP_HIGHUSER | __GFP_ZERO | __GFP_NOWARN | __GFP_NORETRY) &amp; ~__GFP_RECLAIM | __GFP_COMP.</summary>
    public const Gfp HIGH_ORDER_GFP = ((Gfp.GFP_HIGHUSER | Gfp.__GFP_ZERO | Gfp.__GFP_NOWARN | Gfp.__GFP_NORETRY) & ~Gfp.__GFP_RECLAIM) | Gfp.__GFP_COMP;

    private static readonly FaultSite s_kzallocBuffer = FaultSite.Register("system_heap_allocate:kzalloc");
    private static readonly FaultSite s_kzallocAttach = FaultSite.Register("system_heap_attach:kzalloc");
    private static readonly FaultSite s_kzallocDup = FaultSite.Register("dup_sg_table:kzalloc");

    /// <summary><c>system_heap_buf_ops</c>.</summary>
    [Kernel("system_heap_buf_ops", "drivers/dma-buf/heaps/system_heap.c")]
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

    private readonly PageAlloc _pages;
    private readonly DmaMapping _dma;
    private readonly Vmalloc _vmalloc;
    private readonly DmaBufList _dbList;
    private readonly Gfp[] _orderFlags;

    /// <summary><c>system_heap_create</c>: <c>dma_heap_add</c> of "system" with <c>system_heap_ops</c>.</summary>
    [Kernel("system_heap_create", "drivers/dma-buf/heaps/system_heap.c")]
    public SystemHeap(MachineOptions options, DmaHeapCore heaps, PageAlloc pages, DmaMapping dma, Vmalloc vmalloc, DmaBufList dbList)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(heaps);
        _pages = pages;
        _dma = dma;
        _vmalloc = vmalloc;
        _dbList = dbList;
        _orderFlags = options.Kernel >= KernelVersion.V6_12
            ? [HIGH_ORDER_GFP, HIGH_ORDER_GFP, LOW_ORDER_GFP_6_12]
            : [HIGH_ORDER_GFP, MID_ORDER_GFP, LOW_ORDER_GFP_6_1];
        if (options.DmaHeapSystem)
        {
            (Heap, AddError) = heaps.Add(new DmaHeapExportInfo
            {
                Name = "system",
                Ops = new DmaHeapOps { Allocate = Allocate },
            });
        }
    }

    /// <summary><c>sys_heap</c> (null when not configured or <c>dma_heap_add</c> failed).</summary>
    public DmaHeap? Heap { get; }

    /// <summary>The error of <c>dma_heap_add</c> (0 = none).</summary>
    public int AddError { get; }

    /// <summary><c>order_flags</c>: the gfp mask for each of <see cref="Orders"/> on this kernel.</summary>
    [Kernel("order_flags", "drivers/dma-buf/heaps/system_heap.c")]
    public IReadOnlyList<Gfp> OrderFlags => _orderFlags;

    /// <summary>
    /// <c>alloc_largest_available(size, max_order)</c>: the first order of 8, 4, 0 that fits in
    /// <paramref name="size"/> and is not above <paramref name="maxOrder"/> and that the page allocator can give
    /// (with that order's gfp); a failing order falls through to the next. Returns the head pfn or null.
    /// </summary>
    [Kernel("alloc_largest_available", "drivers/dma-buf/heaps/system_heap.c")]
    private ulong? AllocLargestAvailable(ulong size, int maxOrder)
    {
        for (int i = 0; i < Orders.Length; i++)
        {
            if (size < (Align.PAGE_SIZE << Orders[i]))
            {
                continue;
            }
            if (maxOrder < Orders[i])
            {
                continue;
            }
            if (_pages.AllocPages(_orderFlags[i], Orders[i], out ulong pfn) != 0)
            {
                continue;
            }
            return pfn;
        }
        return null;
    }

    /// <summary><c>compound_order(page)</c>: the block's order for a compound head, 0 otherwise.</summary>
    [Kernel("compound_order", "include/linux/mm.h")]
    private int CompoundOrder(ulong pfn)
    {
        var page = _pages.Pages.Get(pfn);
        return (page.Flags & PageFlags.Head) != 0 ? page.Order : 0;
    }

    /// <summary>
    /// <c>system_heap_allocate(heap, len, fd_flags, heap_flags)</c>: the buffer (<c>-ENOMEM</c>); blocks of the
    /// largest order that fits the rest and is not above the last block's order, each allocation preceded by the
    /// fatal-signal check (<c>-EINTR</c>); no block at all is <c>-ENOMEM</c>; the sg table of one entry per block
    /// (<c>-ENOMEM</c>); <c>dma_buf_export</c> with the heap's name, the buffer's length and
    /// <paramref name="fdFlags"/> as the file flags (its error). Every failure gives the pages back.
    /// </summary>
    [Kernel("system_heap_allocate", "drivers/dma-buf/heaps/system_heap.c")]
    public (DmaBuf? DmaBuf, int Err) Allocate(DmaHeap heap, ulong len, uint fdFlags, ulong heapFlags, Process current)
    {
        ArgumentNullException.ThrowIfNull(heap);
        ArgumentNullException.ThrowIfNull(current);
        int ret = -(int)Errno.ENOMEM;
        if (s_kzallocBuffer.ShouldFail())
        {
            return (null, -(int)Errno.ENOMEM);
        }
        var buffer = new SystemHeapBuffer(this, len);
        var pages = new List<ulong>();
        ulong sizeRemaining = len;
        int maxOrder = Orders[0];
        SgTable table;
        while (sizeRemaining > 0)
        {
            // Avoid trying to allocate memory if the process has been killed by SIGKILL.
            if (current.FatalSignalPending)
            {
                ret = -(int)Errno.EINTR;
                goto free_buffer;
            }
            ulong? page = AllocLargestAvailable(sizeRemaining, maxOrder);
            if (page is null)
            {
                goto free_buffer;
            }
            pages.Add(page.Value);
            int order = CompoundOrder(page.Value);
            sizeRemaining -= Align.PAGE_SIZE << order; // page_size(page)
            maxOrder = order;
        }

        table = buffer.SgTable;
        if (SgTable.Alloc(table, pages.Count) != 0)
        {
            goto free_buffer;
        }
        {
            var sg = table.Sgl;
            foreach (ulong page in pages)
            {
                table.At(sg).SetPage(page, (uint)(Align.PAGE_SIZE << CompoundOrder(page)), 0);
                sg = table.Next(sg);
            }
        }
        pages.Clear(); // list_del: the table owns them now

        {
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

        // free_pages:
        FreeTablePages(table);
        table.Free();
    free_buffer:
        foreach (ulong page in pages)
        {
            _pages.FreePagesBlock(page, CompoundOrder(page));
        }
        return (null, ret);
    }

    private void FreeTablePages(SgTable table)
    {
        foreach (var c in table.Sgs())
        {
            ulong pfn = table.At(c).Pfn;
            _pages.FreePagesBlock(pfn, CompoundOrder(pfn));
        }
    }

    /// <summary>
    /// <c>dup_sg_table(table)</c>: a new table of <c>orig_nents</c> entries with the same pages, lengths and offsets
    /// (no DMA addresses); <c>-ENOMEM</c> when the table or its entries cannot be allocated.
    /// </summary>
    [Kernel("dup_sg_table", "drivers/dma-buf/heaps/system_heap.c")]
    private static (SgTable? Table, int Err) DupSgTable(SgTable table)
    {
        if (s_kzallocDup.ShouldFail())
        {
            return (null, -(int)Errno.ENOMEM);
        }
        var newTable = new SgTable();
        if (SgTable.Alloc(newTable, table.OrigNents) != 0)
        {
            return (null, -(int)Errno.ENOMEM);
        }
        var newSg = newTable.Sgl;
        foreach (var c in table.Sgs())
        {
            ref var sg = ref table.At(c);
            newTable.At(newSg).SetPage(sg.Pfn, sg.Length, sg.Offset);
            newSg = newTable.Next(newSg);
        }
        return (newTable, 0);
    }

    /// <summary><c>system_heap_attach</c>: the attachment's own copy of the buffer's table (<c>-ENOMEM</c>), added to the buffer's list.</summary>
    [Kernel("system_heap_attach", "drivers/dma-buf/heaps/system_heap.c")]
    public static int Attach(DmaBuf dmabuf, DmaBufAttachment attachment)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        ArgumentNullException.ThrowIfNull(attachment);
        var buffer = (SystemHeapBuffer)dmabuf.Priv;
        if (s_kzallocAttach.ShouldFail())
        {
            return -(int)Errno.ENOMEM;
        }
        var (table, _) = DupSgTable(buffer.SgTable);
        if (table is null)
        {
            return -(int)Errno.ENOMEM;
        }
        var a = new DmaHeapAttachment(attachment.Dev, table);
        attachment.Priv = a;
        buffer.Attachments.Insert(0, a);
        return 0;
    }

    /// <summary><c>system_heap_detach</c>: off the list, the copy freed.</summary>
    [Kernel("system_heap_detach", "drivers/dma-buf/heaps/system_heap.c")]
    public static void Detach(DmaBuf dmabuf, DmaBufAttachment attachment)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        ArgumentNullException.ThrowIfNull(attachment);
        var buffer = (SystemHeapBuffer)dmabuf.Priv;
        var a = (DmaHeapAttachment)attachment.Priv!;
        buffer.Attachments.Remove(a);
        a.Table.Free();
    }

    /// <summary><c>system_heap_map_dma_buf</c>: <c>dma_map_sgtable(attachment-&gt;dev, a-&gt;table, direction, 0)</c> (its error as is); marks the attachment mapped.</summary>
    [Kernel("system_heap_map_dma_buf", "drivers/dma-buf/heaps/system_heap.c")]
    public static (SgTable? Sgt, int Err) MapDmaBuf(DmaBufAttachment attachment, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        var a = (DmaHeapAttachment)attachment.Priv!;
        var buffer = (SystemHeapBuffer)attachment.DmaBuf!.Priv;
        int ret = buffer.Heap._dma.MapSgtable(attachment.Dev, a.Table, direction, 0);
        if (ret != 0)
        {
            return (null, ret);
        }
        a.Mapped = true;
        return (a.Table, 0);
    }

    /// <summary><c>system_heap_unmap_dma_buf</c>: not mapped any more, then <c>dma_unmap_sgtable</c>.</summary>
    [Kernel("system_heap_unmap_dma_buf", "drivers/dma-buf/heaps/system_heap.c")]
    public static void UnmapDmaBuf(DmaBufAttachment attachment, SgTable table, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        var a = (DmaHeapAttachment)attachment.Priv!;
        a.Mapped = false;
        DmaMapping.UnmapSgtable(attachment.Dev, table, direction, 0);
    }

    /// <summary><c>system_heap_dma_buf_begin_cpu_access</c>: every mapped attachment's table synced for the CPU; 0.</summary>
    [Kernel("system_heap_dma_buf_begin_cpu_access", "drivers/dma-buf/heaps/system_heap.c")]
    public static int BeginCpuAccess(DmaBuf dmabuf, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        SyncAttachments(((SystemHeapBuffer)dmabuf.Priv).Attachments, direction, forCpu: true);
        return 0;
    }

    /// <summary><c>system_heap_dma_buf_end_cpu_access</c>: every mapped attachment's table synced for its device; 0.</summary>
    [Kernel("system_heap_dma_buf_end_cpu_access", "drivers/dma-buf/heaps/system_heap.c")]
    public static int EndCpuAccess(DmaBuf dmabuf, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        SyncAttachments(((SystemHeapBuffer)dmabuf.Priv).Attachments, direction, forCpu: false);
        return 0;
    }

    // The list walk of begin/end_cpu_access (invalidate/flush_kernel_vmap_range do nothing on x86).
    internal static void SyncAttachments(List<DmaHeapAttachment> attachments, DmaDataDirection direction, bool forCpu)
    {
        foreach (var a in attachments)
        {
            if (!a.Mapped)
            {
                continue;
            }
            if (forCpu)
            {
                DmaMapping.SyncSgtableForCpu(a.Dev, a.Table, direction);
            }
            else
            {
                DmaMapping.SyncSgtableForDevice(a.Dev, a.Table, direction);
            }
        }
    }

    /// <summary>
    /// <c>system_heap_mmap</c>: from page <c>vm_pgoff</c> of the table on, each page <c>remap_pfn_range</c>d at the
    /// next address until the mapping is full (its error returned as is).
    /// </summary>
    [Kernel("system_heap_mmap", "drivers/dma-buf/heaps/system_heap.c")]
    public static int Mmap(DmaBuf dmabuf, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        ArgumentNullException.ThrowIfNull(vma);
        var buffer = (SystemHeapBuffer)dmabuf.Priv;
        var ptes = RemappedPages.Of(vma);
        ulong addr = vma.Start;
        foreach (ulong pfn in TablePages(buffer.SgTable, vma.PgOff))
        {
            int ret = ptes.RemapPfnRange(addr, pfn, Align.PAGE_SIZE);
            if (ret != 0)
            {
                return ret;
            }
            addr += Align.PAGE_SIZE;
            if (addr >= vma.End)
            {
                return 0;
            }
        }
        return 0;
    }

    /// <summary><c>for_each_sgtable_page(table, &amp;piter, pgoffset)</c>: the table's pages from page <paramref name="pgoffset"/> on.</summary>
    [Kernel("for_each_sgtable_page", "include/linux/scatterlist.h")]
    public static IEnumerable<ulong> TablePages(SgTable table, ulong pgoffset)
    {
        ulong skip = pgoffset;
        foreach (var c in table.Sgs())
        {
            var sg = table.At(c);
            ulong n = ((ulong)sg.Offset + sg.Length + Align.PAGE_SIZE - 1) >> Align.PAGE_SHIFT;
            for (ulong k = 0; k < n; k++)
            {
                if (skip > 0)
                {
                    skip--;
                    continue;
                }
                yield return sg.Pfn + k;
            }
        }
    }

    /// <summary>
    /// <c>system_heap_do_vmap</c>: a temporary page array (<c>vmalloc</c>, <c>-ENOMEM</c>) filled from the table,
    /// <c>vmap</c> of it (<c>-ENOMEM</c>), the array freed again.
    /// </summary>
    [Kernel("system_heap_do_vmap", "drivers/dma-buf/heaps/system_heap.c")]
    private ulong DoVmap(SystemHeapBuffer buffer, out int err)
    {
        int npages = (int)(Align.PageAlign(buffer.Len) / Align.PAGE_SIZE);
        ulong array = _vmalloc.VmallocNodeRange((ulong)npages * 8, 1, Gfp.GFP_KERNEL, 0);
        err = 0;
        if (array == 0)
        {
            err = -(int)Errno.ENOMEM;
            return 0;
        }
        var pages = new List<ulong>(npages);
        foreach (ulong pfn in TablePages(buffer.SgTable, 0))
        {
            _dbList.Warnings.On(pages.Count >= npages, "WARN_ON(tmp - pages >= npages) in system_heap_do_vmap");
            pages.Add(pfn);
        }
        ulong vaddr = _vmalloc.Vmap(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pages));
        _vmalloc.Vfree(array);
        if (vaddr == 0)
        {
            err = -(int)Errno.ENOMEM;
        }
        return vaddr;
    }

    /// <summary><c>system_heap_vmap</c>: the existing mapping counted again, or a new one (its error); <c>vmap_cnt</c>++.</summary>
    [Kernel("system_heap_vmap", "drivers/dma-buf/heaps/system_heap.c")]
    public static int Vmap(DmaBuf dmabuf, out IosysMap map)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        var buffer = (SystemHeapBuffer)dmabuf.Priv;
        map = default;
        if (buffer.VmapCnt != 0)
        {
            buffer.VmapCnt++;
            map = new IosysMap(buffer.Vaddr, false);
            return 0;
        }
        ulong vaddr = buffer.Heap.DoVmap(buffer, out int err);
        if (vaddr == 0)
        {
            return err;
        }
        buffer.Vaddr = vaddr;
        buffer.VmapCnt++;
        map = new IosysMap(vaddr, false);
        return 0;
    }

    /// <summary><c>system_heap_vunmap</c>: the last user's <c>vunmap</c>.</summary>
    [Kernel("system_heap_vunmap", "drivers/dma-buf/heaps/system_heap.c")]
    public static void Vunmap(DmaBuf dmabuf, IosysMap map)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        var buffer = (SystemHeapBuffer)dmabuf.Priv;
        if (--buffer.VmapCnt == 0)
        {
            buffer.Heap._vmalloc.Vunmap(buffer.Vaddr);
            buffer.Vaddr = 0;
        }
    }

    /// <summary><c>system_heap_dma_buf_release</c>: every block back to the page allocator, the table freed.</summary>
    [Kernel("system_heap_dma_buf_release", "drivers/dma-buf/heaps/system_heap.c")]
    public static void Release(DmaBuf dmabuf)
    {
        ArgumentNullException.ThrowIfNull(dmabuf);
        var buffer = (SystemHeapBuffer)dmabuf.Priv;
        buffer.Heap.FreeTablePages(buffer.SgTable);
        buffer.SgTable.Free();
    }
}

/// <summary>
/// The ptes <c>remap_pfn_range</c> installed in a mapping (mm/memory.c): the mapping becomes
/// VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP; a private writable (COW) mapping may only be remapped whole,
/// and its <c>vm_pgoff</c> becomes the pfn.
/// </summary>
internal sealed class RemappedPages : IVmOperations
{
    private readonly Vma _vma;
    private readonly ulong[] _pfns;
    private readonly bool[] _present;

    private RemappedPages(Vma vma)
    {
        _vma = vma;
        _pfns = new ulong[vma.Pages];
        _present = new bool[vma.Pages];
    }

    /// <summary>The mapping's pte table (installed as its ops).</summary>
    public static RemappedPages Of(Vma vma)
    {
        if (vma.Ops is RemappedPages r)
        {
            return r;
        }
        r = new RemappedPages(vma);
        vma.Ops = r;
        return r;
    }

    /// <summary><c>remap_pfn_range(vma, addr, pfn, size, prot)</c>: 0 or <c>-EINVAL</c>.</summary>
    [Kernel("remap_pfn_range", "mm/memory.c")]
    public int RemapPfnRange(ulong addr, ulong pfn, ulong size)
    {
        ulong end = addr + Align.PageAlign(size);
        // is_cow_mapping: (vm_flags & (VM_SHARED | VM_MAYWRITE)) == VM_MAYWRITE.
        if ((_vma.Flags & (Vma.VM_SHARED | Vma.VM_MAYWRITE)) == Vma.VM_MAYWRITE)
        {
            if (addr != _vma.Start || end != _vma.End)
            {
                return -(int)Errno.EINVAL;
            }
            _vma.PgOff = pfn;
        }
        _vma.Flags |= Vma.VM_IO | Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        for (ulong a = addr; a < end; a += Align.PAGE_SIZE)
        {
            ulong k = (a - _vma.Start) >> Align.PAGE_SHIFT;
            _pfns[k] = pfn + ((a - addr) >> Align.PAGE_SHIFT);
            _present[k] = true;
        }
        return 0;
    }

    /// <summary>A pte that was never installed is a SIGBUS (VM_PFNMAP without a fault handler).</summary>
    public long Fault(Vma vma, ulong pgoff)
    {
        ulong k = pgoff - vma.PgOff;
        return k < (ulong)_pfns.Length && _present[k] ? (long)_pfns[k] : -(long)Errno.EFAULT;
    }
}
