// Models kernel/dma/direct.c and direct.h (Linux 6.1): identity mapping (no DMA offset), dma_capable against
// the mask and bus limit, bouncing through swiotlb when forced or when the address does not fit.
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.Core.Dma;

/// <summary>dma-direct: the DMA address of a page is its physical address (<c>phys_to_dma</c> = identity here).</summary>
[Kernel("dma-direct", "kernel/dma/direct.c")]
public sealed class DmaDirect(PhysicalMemory memory, PageAlloc pageAlloc, Debug.Warnings warnings)
{
    private bool _warnedOverflow;

    /// <summary>The page allocator dma-direct allocates from.</summary>
    public PageAlloc PageAllocator => pageAlloc;

    /// <summary><c>zone_dma_bits</c> on x86.</summary>
    public const int ZoneDmaBits = 24;

    /// <summary><c>dma_capable(dev, addr, size, is_ram)</c>: the end address fits <c>min_not_zero(*dma_mask, bus_dma_limit)</c>.</summary>
    [Kernel("dma_capable", "include/linux/dma-direct.h")]
    public static bool DmaCapable(Device dev, ulong addr, ulong size)
    {
        ulong end = unchecked(addr + size - 1);
        if (addr == DmaAttrs.DMA_MAPPING_ERROR)
        {
            return false;
        }
        return end <= MinNotZero(dev.DmaMask ?? 0, dev.BusDmaLimit);
    }

    internal static ulong MinNotZero(ulong a, ulong b) => a == 0 ? b : b == 0 ? a : Math.Min(a, b);

    /// <summary>
    /// <c>dma_direct_map_page</c>: forced bounce goes to swiotlb; an address the device cannot reach bounces
    /// when swiotlb is active, else WARNs once and fails with <c>DMA_MAPPING_ERROR</c>.
    /// </summary>
    [Kernel("dma_direct_map_page", "kernel/dma/direct.h")]
    public ulong MapPage(Device dev, ulong pfn, ulong offset, ulong size, DmaDataDirection dir, ulong attrs)
    {
        ulong phys = unchecked((pfn << Align.PAGE_SHIFT) + offset);
        ulong dmaAddr = phys;
        var mem = dev.DmaIoTlbMem;
        if (mem is { ForceBounce: true })
        {
            return mem.Map(dev, phys, size, dir, attrs);
        }
        if (!DmaCapable(dev, dmaAddr, size))
        {
            if (mem is { IsActive: true })
            {
                return mem.Map(dev, phys, size, dir, attrs);
            }
            warnings.On(!_warnedOverflow, $"DMA addr 0x{dmaAddr:x}+{size} overflow (mask {dev.DmaMask:x}, bus limit {dev.BusDmaLimit:x})", "dma_direct_map_page");
            _warnedOverflow = true;
            return DmaAttrs.DMA_MAPPING_ERROR;
        }
        return dmaAddr;
    }

    /// <summary><c>dma_direct_unmap_page</c>: a swiotlb address is synced back (unless SKIP_CPU_SYNC) and released.</summary>
    [Kernel("dma_direct_unmap_page", "kernel/dma/direct.h")]
    public static void UnmapPage(Device dev, ulong addr, ulong size, DmaDataDirection dir, ulong attrs)
    {
        ulong phys = addr;
        var mem = dev.DmaIoTlbMem;
        if (mem is not null && mem.IsSwiotlbBuffer(phys))
        {
            if ((attrs & DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC) == 0)
            {
                mem.SyncSingleForCpu(phys, size, dir);
            }
            mem.TblUnmapSingle(dev, phys, size, dir, attrs | DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
        }
    }

    /// <summary>
    /// <c>dma_direct_map_sg</c>: maps each entry on its own (no merging, no splitting: nents = orig_nents); the
    /// first failure unmaps the entries already mapped and returns <c>-EIO</c>.
    /// </summary>
    [Kernel("dma_direct_map_sg", "kernel/dma/direct.c")]
    public int MapSg(Device dev, SgTable table, SgCursor sgl, int nents, DmaDataDirection dir, ulong attrs)
    {
        var sg = sgl;
        for (int i = 0; i < nents; i++, sg = i < nents ? table.Next(sg) : sg)
        {
            ref var s = ref table.At(sg);
            s.DmaAddress = MapPage(dev, s.Pfn, s.Offset, s.Length, dir, attrs);
            if (s.DmaAddress == DmaAttrs.DMA_MAPPING_ERROR)
            {
                UnmapSg(dev, table, sgl, i, dir, attrs | DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
                return -(int)Errno.EIO;
            }
            s.DmaLength = s.Length;
        }
        return nents;
    }

    /// <summary><c>dma_direct_unmap_sg</c>.</summary>
    [Kernel("dma_direct_unmap_sg", "kernel/dma/direct.c")]
    public static void UnmapSg(Device dev, SgTable table, SgCursor sgl, int nents, DmaDataDirection dir, ulong attrs)
    {
        var sg = sgl;
        for (int i = 0; i < nents; i++, sg = i < nents ? table.Next(sg) : sg)
        {
            ref var s = ref table.At(sg);
            UnmapPage(dev, s.DmaAddress, s.DmaLength, dir, attrs);
        }
    }

    /// <summary><c>dma_direct_max_mapping_size</c>: the swiotlb limit when it is active and bouncing, else SIZE_MAX.</summary>
    [Kernel("dma_direct_max_mapping_size", "kernel/dma/direct.c")]
    public ulong MaxMappingSize(Device dev)
    {
        var mem = dev.DmaIoTlbMem;
        if (mem is { IsActive: true } && (AddressingLimited(dev) || mem.ForceBounce))
        {
            return Swiotlb.MaxMappingSize(dev);
        }
        return ulong.MaxValue;
    }

    /// <summary><c>dma_addressing_limited</c>: the mask does not cover all RAM.</summary>
    [Kernel("dma_addressing_limited", "include/linux/dma-mapping.h")]
    public bool AddressingLimited(Device dev) =>
        MinNotZero(dev.DmaMask ?? 0, dev.BusDmaLimit) < GetRequiredMask();

    /// <summary><c>dma_direct_get_required_mask</c>: the smallest all-ones mask covering the last byte of RAM.</summary>
    [Kernel("dma_direct_get_required_mask", "kernel/dma/direct.c")]
    public ulong GetRequiredMask()
    {
        ulong maxDma = (memory.EndPfn - 1) << Align.PAGE_SHIFT;
        return unchecked((1UL << (63 - System.Numerics.BitOperations.LeadingZeroCount(maxDma))) * 2 - 1);
    }

    /// <summary><c>dma_direct_supported(dev, mask)</c>: 32-bit or wider always; smaller masks must cover ZONE_DMA (24 bits) or all RAM.</summary>
    [Kernel("dma_direct_supported", "kernel/dma/direct.c")]
    public bool Supported(ulong mask)
    {
        ulong minMask = (memory.EndPfn - 1) << Align.PAGE_SHIFT;
        if (mask >= DmaAttrs.DMA_BIT_MASK(32))
        {
            return true;
        }
        minMask = Math.Min(minMask, DmaAttrs.DMA_BIT_MASK(ZoneDmaBits));
        return mask >= minMask;
    }

    /// <summary>
    /// <c>dma_direct_alloc</c> (x86, coherent): zeroed pages of <c>get_order(size)</c> below the coherent mask
    /// (GFP_DMA32/GFP_DMA chosen as <c>dma_direct_optimal_gfp_mask</c> does); DMA address = physical address.
    /// Returns 0 or <c>-ENOMEM</c>; <paramref name="pfn"/> is the first frame.
    /// </summary>
    [Kernel("dma_direct_alloc", "kernel/dma/direct.c")]
    public int Alloc(Device dev, ulong size, out ulong dmaHandle, out ulong pfn)
    {
        dmaHandle = DmaAttrs.DMA_MAPPING_ERROR;
        pfn = 0;
        size = Align.PageAlign(size);
        int order = Align.GetOrder(size);
        ulong limit = MinNotZero(dev.CoherentDmaMask, dev.BusDmaLimit);
        var gfp = Gfp.GFP_KERNEL | Gfp.__GFP_ZERO;
        if (limit <= DmaAttrs.DMA_BIT_MASK(ZoneDmaBits))
        {
            gfp |= Gfp.__GFP_DMA;
        }
        else if (limit <= DmaAttrs.DMA_BIT_MASK(32))
        {
            gfp |= Gfp.__GFP_DMA32;
        }
        int err = pageAlloc.AllocPages(gfp, order, out ulong p);
        if (err != 0)
        {
            return -(int)Errno.ENOMEM;
        }
        ulong phys = p << Align.PAGE_SHIFT;
        if (!(phys + size - 1 <= limit))
        {
            pageAlloc.FreePagesBlock(p, order);
            return -(int)Errno.ENOMEM;
        }
        pfn = p;
        dmaHandle = phys;
        return 0;
    }

    /// <summary><c>dma_direct_free</c>.</summary>
    [Kernel("dma_direct_free", "kernel/dma/direct.c")]
    public void Free(ulong size, ulong dmaHandle) =>
        pageAlloc.FreePagesBlock(dmaHandle >> Align.PAGE_SHIFT, Align.GetOrder(Align.PageAlign(size)));
}
