// Models drivers/iommu/dma-iommu.c (Linux 6.1): iommu_dma_map_sg / __finalise_sg / __invalidate_sg /
// iommu_dma_unmap_sg and iommu_dma_alloc_iova, over an IOMMU domain with a sparse I/O page table.
using Sim.Core.Lib;
using Sim.Core.Uapi;

namespace Sim.Core.Dma;

/// <summary>
/// <c>struct iommu_domain</c> with its DMA cookie: the type (<c>IOMMU_DOMAIN_DMA_FQ</c> = 11 for the traced
/// lazy domain), the aperture, the IOVA allocator and the I/O page table (IOVA pfn to physical pfn; sparse).
/// </summary>
[Kernel("struct iommu_domain", "include/linux/iommu.h")]
public sealed class IommuDomain
{
    /// <summary><c>IOMMU_DOMAIN_DMA</c>.</summary>
    public const int IOMMU_DOMAIN_DMA = 3;

    /// <summary><c>IOMMU_DOMAIN_DMA_FQ</c> (DMA domain with a flush queue: <c>iommu.strict=0</c>, the traced default).</summary>
    public const int IOMMU_DOMAIN_DMA_FQ = 11;

    private readonly Dictionary<ulong, ulong> _pageTable = [];

    /// <summary>The domain type.</summary>
    public int Type { get; init; } = IOMMU_DOMAIN_DMA_FQ;

    /// <summary><c>geometry.aperture_end</c> (Intel VT-d, 39-bit guest address width: 2^39 − 1).</summary>
    public ulong ApertureEnd { get; init; } = (1UL << 39) - 1;

    /// <summary><c>geometry.force_aperture</c>.</summary>
    public bool ForceAperture { get; init; } = true;

    /// <summary>The cookie's IOVA domain.</summary>
    public IovaDomain Iovad { get; } = new();

    /// <summary>IOVA pages currently mapped.</summary>
    public int MappedPages => _pageTable.Count;

    /// <summary><c>iommu_map</c> of one granule.</summary>
    [Kernel("iommu_map", "drivers/iommu/iommu.c")]
    public void MapPage(ulong iovaPfn, ulong physPfn) => _pageTable[iovaPfn] = physPfn;

    /// <summary><c>iommu_unmap</c> of one granule.</summary>
    [Kernel("iommu_unmap", "drivers/iommu/iommu.c")]
    public void UnmapPage(ulong iovaPfn) => _pageTable.Remove(iovaPfn);

    /// <summary><c>iommu_iova_to_phys</c>: the physical address behind <paramref name="iova"/>, or 0.</summary>
    [Kernel("iommu_iova_to_phys", "drivers/iommu/iommu.c")]
    public ulong IovaToPhys(ulong iova) =>
        _pageTable.TryGetValue(iova >> Align.PAGE_SHIFT, out ulong pfn) ? (pfn << Align.PAGE_SHIFT) | (iova & (Align.PAGE_SIZE - 1)) : 0;
}

/// <summary>iommu-dma: one IOVA range per scatterlist, entries laid out back to back with boundary padding.</summary>
[Kernel("iommu_dma_ops", "drivers/iommu/dma-iommu.c")]
public sealed class DmaIommu
{
    /// <summary>
    /// <c>iommu_setup_dma_ops(dev)</c> for a device in a DMA domain. 6.1 installs the ops table:
    /// <c>dev-&gt;dma_ops = &amp;iommu_dma_ops</c>, so <c>get_dma_ops(dev)</c> is non-NULL. 6.12 (the
    /// CONFIG_IOMMU_DMA direct calls, upstream 6.10) sets <c>dev-&gt;dma_iommu = iommu_is_dma_domain(domain)</c> and
    /// leaves <c>dev-&gt;dma_ops</c> NULL; kernel/dma/mapping.c tests <c>use_dma_iommu(dev)</c> after
    /// <c>dma_map_direct()</c> and calls <c>iommu_dma_map_sg</c> and the others by name.
    /// </summary>
    [Kernel("iommu_setup_dma_ops", "drivers/iommu/dma-iommu.c")]
    public static void SetupDmaOps(Device dev, Boot.KernelVersion kernel)
    {
        ArgumentNullException.ThrowIfNull(dev);
        dev.Ops = DmaOps.Iommu;
        dev.DmaIommu = kernel >= Boot.KernelVersion.V6_12;
        dev.DmaMapOps = !dev.DmaIommu;
    }

    /// <summary><c>iommu_dma_opt_mapping_size</c>: <c>iova_rcache_range()</c> = 128 KiB.</summary>
    [Kernel("iommu_dma_opt_mapping_size", "drivers/iommu/dma-iommu.c")]
    public static ulong OptMappingSize() => IovaDomain.RcacheRange();

    /// <summary><c>iommu_dma_max_mapping_size</c>: SIZE_MAX for a trusted device.</summary>
    [Kernel("iommu_dma_max_mapping_size", "drivers/iommu/dma-iommu.c")]
    public static ulong MaxMappingSize() => ulong.MaxValue;

    /// <summary>
    /// <c>iommu_dma_alloc_iova</c>: a PCI device whose limit is above 32 bits first tries below 4 GiB (SAC);
    /// the limit is <c>min_not_zero(dma_limit, bus_dma_limit)</c> and the aperture. Returns the IOVA or 0.
    /// </summary>
    [Kernel("iommu_dma_alloc_iova", "drivers/iommu/dma-iommu.c")]
    public static ulong AllocIova(IommuDomain domain, Device dev, ulong size, ulong dmaLimit)
    {
        var iovad = domain.Iovad;
        int shift = iovad.Shift;
        ulong iovaLen = size >> shift;
        dmaLimit = DmaDirect.MinNotZero(dmaLimit, dev.BusDmaLimit);
        if (domain.ForceAperture)
        {
            dmaLimit = Math.Min(dmaLimit, domain.ApertureEnd);
        }
        ulong iova = 0;
        if (dmaLimit > DmaAttrs.DMA_BIT_MASK(32) && dev.IsPci)
        {
            iova = iovad.AllocFast(iovaLen, DmaAttrs.DMA_BIT_MASK(32) >> shift, flushRcache: false);
        }
        if (iova == 0)
        {
            iova = iovad.AllocFast(iovaLen, dmaLimit >> shift);
        }
        return iova << shift;
    }

    /// <summary>
    /// <c>iommu_dma_map_sg</c>: stashes each entry's in-granule offset and length in its DMA fields, aligns
    /// entries to granules, pads the previous entry up to a segment boundary when an entry would cross one,
    /// allocates one IOVA range for all, maps it, then merges in <see cref="FinaliseSg"/>. Returns the number of
    /// DMA segments, or <c>-ENOMEM</c> (no IOVA space; the list is restored by <c>__invalidate_sg</c>).
    /// </summary>
    [Kernel("iommu_dma_map_sg", "drivers/iommu/dma-iommu.c")]
    public static int MapSg(Device dev, SgTable table, SgCursor sgl, int nents, DmaDataDirection dir, ulong attrs)
    {
        _ = dir;
        _ = attrs;
        var domain = dev.Domain!;
        ulong iovaLen = 0;
        ulong mask = DmaMapping.GetSegBoundary(dev);
        var prev = SgCursor.Null;
        var sg = sgl;
        for (int i = 0; i < nents; i++, sg = i < nents ? table.Next(sg) : sg)
        {
            ref var s = ref table.At(sg);
            ulong sIovaOff = s.Offset & (Align.PAGE_SIZE - 1);
            ulong sLength = s.Length;
            ulong padLen = unchecked((mask - iovaLen + 1) & mask);
            s.DmaAddress = sIovaOff;
            s.DmaLength = (uint)sLength;
            s.Offset -= (uint)sIovaOff;
            sLength = Align.Up(sLength + sIovaOff, Align.PAGE_SIZE);
            s.Length = (uint)sLength;
            if (padLen != 0 && padLen < unchecked(sLength - 1))
            {
                table.At(prev).Length += (uint)padLen;
                iovaLen += padLen;
            }
            iovaLen += sLength;
            prev = sg;
        }
        if (iovaLen == 0)
        {
            return FinaliseSg(dev, table, sgl, nents, 0);
        }
        ulong iova = AllocIova(domain, dev, iovaLen, dev.DmaMask ?? 0);
        if (iova == 0)
        {
            InvalidateSg(table, sgl, nents);
            return -(int)Errno.ENOMEM;
        }
        MapSgAtomic(domain, iova, table, sgl, nents);
        return FinaliseSg(dev, table, sgl, nents, iova);
    }

    /// <summary><c>iommu_map_sg_atomic</c>: maps every (aligned, padded) entry's frames back to back from <paramref name="iova"/>.</summary>
    [Kernel("iommu_map_sg_atomic", "drivers/iommu/iommu.c")]
    private static void MapSgAtomic(IommuDomain domain, ulong iova, SgTable table, SgCursor sgl, int nents)
    {
        ulong pos = iova >> Align.PAGE_SHIFT;
        var sg = sgl;
        for (int i = 0; i < nents; i++, sg = i < nents ? table.Next(sg) : sg)
        {
            ref var s = ref table.At(sg);
            ulong first = s.Pfn + (s.Offset >> Align.PAGE_SHIFT);
            ulong pages = s.Length >> Align.PAGE_SHIFT;
            for (ulong k = 0; k < pages; k++)
            {
                domain.MapPage(pos + k, first + k);
            }
            pos += pages;
        }
    }

    /// <summary>
    /// <c>__finalise_sg</c>: restores each entry's CPU fields and builds the DMA view: an entry joins the current
    /// segment only if the previous one filled its IOVA space, it starts on a granule, its IOVA is not on a
    /// segment boundary and <c>(u32)(max_len − cur_len) &gt;= length</c> (unsigned: a segment already longer than
    /// max_len keeps absorbing). Unused tail entries keep <c>DMA_MAPPING_ERROR</c> / 0.
    /// </summary>
    [Kernel("__finalise_sg", "drivers/iommu/dma-iommu.c")]
    private static int FinaliseSg(Device dev, SgTable table, SgCursor sgl, int nents, ulong dmaAddr)
    {
        var cur = sgl;
        ulong segMask = DmaMapping.GetSegBoundary(dev);
        uint curLen = 0, maxLen = DmaMapping.GetMaxSegSize(dev);
        int count = 0;
        var s = sgl;
        for (int i = 0; i < nents; i++, s = i < nents ? table.Next(s) : s)
        {
            ref var e = ref table.At(s);
            uint sIovaOff = (uint)e.DmaAddress;
            uint sLength = e.DmaLength;
            uint sIovaLen = e.Length;
            e.DmaAddress = DmaAttrs.DMA_MAPPING_ERROR;
            e.DmaLength = 0;
            e.Offset += sIovaOff;
            e.Length = sLength;
            if (curLen != 0 && sIovaOff == 0 && (dmaAddr & segMask) != 0 && unchecked(maxLen - curLen) >= sLength)
            {
                curLen += sLength;
            }
            else
            {
                if (i > 0)
                {
                    cur = table.Next(cur);
                }
                curLen = sLength;
                count++;
                table.At(cur).DmaAddress = dmaAddr + sIovaOff;
            }
            table.At(cur).DmaLength = curLen;
            dmaAddr += sIovaLen;
            if ((ulong)sLength + sIovaOff < sIovaLen)
            {
                curLen = 0;
            }
        }
        return count;
    }

    /// <summary><c>__invalidate_sg</c>: undoes the stashing of a failed map.</summary>
    [Kernel("__invalidate_sg", "drivers/iommu/dma-iommu.c")]
    private static void InvalidateSg(SgTable table, SgCursor sgl, int nents)
    {
        var s = sgl;
        for (int i = 0; i < nents; i++, s = i < nents ? table.Next(s) : s)
        {
            ref var e = ref table.At(s);
            if (e.DmaAddress != DmaAttrs.DMA_MAPPING_ERROR)
            {
                e.Offset += (uint)e.DmaAddress;
            }
            if (e.DmaLength != 0)
            {
                e.Length = e.DmaLength;
            }
            e.DmaAddress = DmaAttrs.DMA_MAPPING_ERROR;
            e.DmaLength = 0;
        }
    }

    /// <summary>
    /// <c>iommu_dma_unmap_sg</c>: the range runs from the first DMA segment's address to the end of the last one
    /// with a non-zero length; it is unmapped and its IOVA freed (<c>__iommu_dma_unmap</c>).
    /// </summary>
    [Kernel("iommu_dma_unmap_sg", "drivers/iommu/dma-iommu.c")]
    public static void UnmapSg(Device dev, SgTable table, SgCursor sgl, int nents)
    {
        ulong start = 0, end = 0;
        // The first loop of the C function stops at the first entry (no bus-address entries here).
        var tmp = sgl;
        if (nents > 0 && table.At(tmp).DmaLength != 0)
        {
            start = table.At(tmp).DmaAddress;
        }
        for (int i = 0; i < nents; i++, tmp = i < nents ? table.Next(tmp) : tmp)
        {
            ref var e = ref table.At(tmp);
            if (e.DmaLength == 0)
            {
                break;
            }
            end = e.DmaAddress + e.DmaLength;
        }
        if (end != 0)
        {
            IommuDmaUnmap(dev.Domain!, start, end - start);
        }
    }

    /// <summary><c>__iommu_dma_unmap</c>: unmaps the granule-aligned range and frees its IOVA.</summary>
    [Kernel("__iommu_dma_unmap", "drivers/iommu/dma-iommu.c")]
    private static void IommuDmaUnmap(IommuDomain domain, ulong dmaAddr, ulong size)
    {
        ulong iovaOff = dmaAddr & (Align.PAGE_SIZE - 1);
        dmaAddr -= iovaOff;
        size = Align.Up(size + iovaOff, Align.PAGE_SIZE);
        for (ulong k = 0; k < size >> Align.PAGE_SHIFT; k++)
        {
            domain.UnmapPage((dmaAddr >> Align.PAGE_SHIFT) + k);
        }
        domain.Iovad.Free(dmaAddr >> Align.PAGE_SHIFT);
    }
}
