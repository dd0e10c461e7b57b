// Models arch/arm/mm/dma-mapping.c (Linux 6.1) as reached through kernel/dma/mapping.c's dma_alloc_attrs /
// dma_free_attrs and include/linux/dma-mapping.h's dma_alloc_wc / dma_free_wc: the ARM __dma_alloc path with a
// CMA area present (cma_allocator: CMA only, no fallback), zeroed buffers, lowmem kernel addresses.
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Sim.Core.Mm;

namespace Sim.Core.Dma;

/// <summary>
/// Coherent/write-combined DMA buffers of a device without IOMMU on the ARM board (dma-direct addressing: DMA
/// address = physical address, no DMA offset). With a CMA area and a blocking gfp, <c>__dma_alloc</c> picks the
/// CMA allocator and never falls back: when CMA has no room, the allocation fails (NULL, the DMA handle left at
/// <c>DMA_MAPPING_ERROR</c>) and the GEM DMA helper turns that into -ENOMEM.
/// </summary>
[Kernel("arm_dma_ops", "arch/arm/mm/dma-mapping.c")]
public sealed class ArmDmaMapping
{
    /// <summary><c>DMA_ATTR_WRITE_COMBINE</c>.</summary>
    public const ulong DMA_ATTR_WRITE_COMBINE = 1UL << 2;

    /// <summary><c>DMA_ATTR_NO_KERNEL_MAPPING</c>.</summary>
    public const ulong DMA_ATTR_NO_KERNEL_MAPPING = 1UL << 4;

    /// <summary><c>DMA_ATTR_NO_WARN</c>.</summary>
    public const ulong DMA_ATTR_NO_WARN = 1UL << 8;

    /// <summary>ARM's <c>PAGE_OFFSET</c> (VMSPLIT_3G).</summary>
    public const ulong ArmPageOffset = 0xC0000000UL;

    /// <summary>x86_64's direct-map base (<c>PAGE_OFFSET</c>, no KASLR).</summary>
    public const ulong X86PageOffset = 0xffff888000000000UL;

    private readonly DmaContiguous _contiguous;
    private readonly IPageFrames _frames;
    private readonly Warnings _warnings;
    private readonly LiveObjects _live;
    private readonly MachineOptions _options;
    private readonly Dictionary<ulong, ArmDmaBuffer> _bufs = [];

    /// <summary>Creates the DMA ops of the machine's devices.</summary>
    public ArmDmaMapping(MachineOptions options, DmaContiguous contiguous, IPageFrames frames, Warnings warnings, LiveObjects live)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _contiguous = contiguous;
        _frames = frames;
        _warnings = warnings;
        _live = live;
        DmaMappingError = options.Is32Bit ? 0xffffffffUL : ulong.MaxValue;
    }

    /// <summary><c>DMA_MAPPING_ERROR</c> = <c>~(dma_addr_t)0</c> (32-bit dma_addr_t on the ARM board).</summary>
    public ulong DmaMappingError { get; }

    /// <summary>Buffers handed out and not freed (<c>arm_dma_bufs</c>).</summary>
    public int Live => _bufs.Count;

    /// <summary>The first frame and the page-aligned size of each buffer handed out and not freed.</summary>
    public IEnumerable<(ulong Pfn, ulong Size)> Buffers()
    {
        foreach (var b in _bufs.Values)
        {
            yield return (b.Pfn, b.Size);
        }
    }

    /// <summary><c>PAGE_OFFSET</c> of the machine.</summary>
    public ulong PageOffset => _options.Is32Bit ? ArmPageOffset : X86PageOffset;

    /// <summary><c>page_address(pfn_to_page(pfn))</c> for lowmem: PAGE_OFFSET + (phys - PHYS_OFFSET).</summary>
    [Kernel("page_address", "include/linux/mm.h")]
    public ulong PageAddress(ulong pfn) => PageOffset + ((pfn << Align.PAGE_SHIFT) - _options.RamBase);

    /// <summary><c>__pa(vaddr)</c> for a lowmem address.</summary>
    [Kernel("__pa", "arch/arm/include/asm/memory.h")]
    public ulong Pa(ulong vaddr) => vaddr - PageOffset + _options.RamBase;

    /// <summary>
    /// <c>dma_alloc_wc(dev, size, &amp;dma_addr, gfp)</c>: attrs WRITE_COMBINE (+ NO_WARN with __GFP_NOWARN), then
    /// <see cref="AllocAttrs"/>. Returns the kernel virtual address, or 0 (NULL) with
    /// <paramref name="dmaAddr"/> = <see cref="DmaMappingError"/>.
    /// </summary>
    [Kernel("dma_alloc_wc", "include/linux/dma-mapping.h")]
    public ulong AllocWc(ulong size, out ulong dmaAddr, Gfp gfp)
    {
        ulong attrs = DMA_ATTR_WRITE_COMBINE;
        if ((gfp & Gfp.__GFP_NOWARN) != 0)
        {
            attrs |= DMA_ATTR_NO_WARN;
        }
        return AllocAttrs(size, out dmaAddr, gfp, attrs);
    }

    /// <summary><c>dma_free_wc(dev, size, cpu_addr, dma_addr)</c>.</summary>
    [Kernel("dma_free_wc", "include/linux/dma-mapping.h")]
    public void FreeWc(ulong size, ulong cpuAddr, ulong dmaAddr) => FreeAttrs(size, cpuAddr, dmaAddr, DMA_ATTR_WRITE_COMBINE);

    /// <summary>
    /// <c>dma_alloc_attrs</c> → <c>arm_dma_alloc</c> → <c>__dma_alloc(dev, size, handle, gfp, prot, false, attrs)</c>
    /// (the device has no per-device coherent pool; the zone modifiers are dropped first).
    /// </summary>
    [Kernel("dma_alloc_attrs", "kernel/dma/mapping.c")]
    public ulong AllocAttrs(ulong size, out ulong dmaAddr, Gfp gfp, ulong attrs)
    {
        gfp &= ~(Gfp.__GFP_DMA | Gfp.__GFP_DMA32 | Gfp.__GFP_HIGHMEM);
        return DmaAlloc(size, out dmaAddr, gfp, attrs);
    }

    [Kernel("__dma_alloc", "arch/arm/mm/dma-mapping.c")]
    private ulong DmaAlloc(ulong size, out ulong handle, Gfp gfp, ulong attrs)
    {
        ulong alignedSize = Align.PageAlign(size);
        bool wantVaddr = (attrs & DMA_ATTR_NO_KERNEL_MAPPING) == 0;
        gfp &= ~Gfp.__GFP_COMP;
        handle = DmaMappingError;
        bool allowblock = gfp.AllowBlocking();
        var cma = allowblock ? _contiguous.DevGetCmaArea() : null;
        if (cma is null)
        {
            // The simple/remap/pool allocators (buddy pages, the atomic pool) are not modelled.
            throw new NotSupportedException("__dma_alloc: only the CMA allocator (a CMA area and a blocking gfp) is modelled");
        }
        ulong addr = AllocFromContiguous(alignedSize, wantVaddr, gfp, out ulong? page);
        if (page is { } pfn)
        {
            handle = pfn << Align.PAGE_SHIFT;
            ulong virt = wantVaddr ? addr : pfn;
            _bufs.Add(virt, new ArmDmaBuffer(virt, pfn, alignedSize,
                _live.Register("arm_dma_buffer", $"pfn 0x{pfn:x} size {alignedSize}")));
        }
        return wantVaddr ? addr : page ?? 0;
    }

    [Kernel("__alloc_from_contiguous", "arch/arm/mm/dma-mapping.c")]
    private ulong AllocFromContiguous(ulong size, bool wantVaddr, Gfp gfp, out ulong? retPage)
    {
        retPage = null;
        uint order = (uint)Align.GetOrder(size);
        ulong count = size >> Align.PAGE_SHIFT;
        ulong? page = _contiguous.AllocFromContiguous(count, order, (gfp & Gfp.__GFP_NOWARN) != 0);
        if (page is not { } pfn)
        {
            return 0;
        }
        // __dma_clear_buffer: the pages are zeroed (and the caches flushed).
        _frames.ZeroPages(pfn, count);
        ulong ptr = 0;
        if (wantVaddr)
        {
            // Lowmem (every CMA area of the modelled boards): __dma_remap + page_address. A highmem area would be
            // remapped with dma_common_contiguous_remap into vmalloc space, which is not modelled.
            ptr = PageAddress(pfn);
        }
        retPage = pfn;
        return ptr;
    }

    /// <summary>
    /// <c>dma_free_attrs</c> → <c>arm_dma_free</c> → <c>__arm_dma_free</c>: finds the buffer by its CPU address
    /// (<c>WARN(!buf, "Freeing invalid buffer %p")</c> and nothing freed when unknown), then releases
    /// PAGE_ALIGN(<paramref name="size"/>) pages from the page of <paramref name="dmaAddr"/> back to CMA.
    /// </summary>
    [Kernel("dma_free_attrs", "kernel/dma/mapping.c")]
    public void FreeAttrs(ulong size, ulong cpuAddr, ulong dmaAddr, ulong attrs)
    {
        ulong pfn = dmaAddr >> Align.PAGE_SHIFT;
        ulong alignedSize = Align.PageAlign(size);
        bool wantVaddr = (attrs & DMA_ATTR_NO_KERNEL_MAPPING) == 0;
        if (_warnings.On(!_bufs.TryGetValue(cpuAddr, out var buf), $"Freeing invalid buffer 0x{cpuAddr:x}"))
        {
            return;
        }
        // cma_allocator_free -> __free_from_contiguous: __dma_remap back to PAGE_KERNEL, then the release.
        _ = wantVaddr;
        _contiguous.ReleaseFromContiguous(pfn, (int)(alignedSize >> Align.PAGE_SHIFT));
        _bufs.Remove(cpuAddr);
        _live.Unregister(buf!.LiveId);
    }

    /// <summary>
    /// <c>dma_get_sgtable(dev, sgt, cpu_addr, dma_addr, size)</c> on the board (dma-direct: <c>dma_direct_get_sgtable</c>):
    /// a one-entry table whose page is the buffer's first frame and whose length is PAGE_ALIGN(size). 0 or -ENOMEM.
    /// </summary>
    [Kernel("dma_direct_get_sgtable", "kernel/dma/direct.c")]
    public int GetSgtable(SgTable sgt, ulong cpuAddr, ulong dmaAddr, ulong size)
    {
        ArgumentNullException.ThrowIfNull(sgt);
        _ = cpuAddr;
        int ret = SgTable.Alloc(sgt, 1);
        if (ret == 0)
        {
            sgt.At(sgt.Sgl).SetPage(dmaAddr >> Align.PAGE_SHIFT, (uint)Align.PageAlign(size), 0);
        }
        return ret;
    }

    /// <summary>
    /// <c>dma_mmap_wc(dev, vma, cpu_addr, dma_addr, size)</c> on the board (<c>dma_direct_mmap</c>): the mapping may
    /// start at buffer page <c>vm_pgoff</c> and must end inside the buffer (<c>-ENXIO</c> otherwise); then the
    /// frames from <c>dma_addr</c>'s page + <c>vm_pgoff</c> are remapped into it (<c>remap_pfn_range</c>: VM_IO |
    /// VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP). The caller's vm_ops serve those page table entries.
    /// </summary>
    [Kernel("dma_direct_mmap", "kernel/dma/direct.c")]
    public int MmapWc(Vma vma, ulong cpuAddr, ulong dmaAddr, ulong size)
    {
        ArgumentNullException.ThrowIfNull(vma);
        _ = cpuAddr;
        _ = dmaAddr;
        ulong userCount = vma.Pages;
        ulong count = Align.PageAlign(size) >> Align.PAGE_SHIFT;
        if (vma.PgOff >= count || userCount > count - vma.PgOff)
        {
            return -(int)Uapi.Errno.ENXIO;
        }
        vma.Flags |= Vma.VM_IO | Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        return 0;
    }

    private sealed record ArmDmaBuffer(ulong Virt, ulong Pfn, ulong Size, long LiveId);
}
