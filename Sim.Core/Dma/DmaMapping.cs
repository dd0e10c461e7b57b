// Models kernel/dma/mapping.c and the inline helpers of include/linux/dma-mapping.h (Linux 6.1): the entry
// points drivers call, dispatching to dma-direct (kernel/dma/direct.c) or iommu-dma (drivers/iommu/dma-iommu.c).
using Sim.Core.Boot;
using Sim.Core.Lib;
using Sim.Core.Uapi;

namespace Sim.Core.Dma;

/// <summary>
/// The machine's DMA mapping API. <see cref="CreateDevice"/> makes a PCI device configured the way the
/// machine's probing would (32-bit masks, <c>dma_parms</c> 64 KiB / 0xffffffff, iommu-dma behind the IOMMU
/// with <c>iommu=on</c>, the swiotlb pool with <c>swiotlb=force</c>). Every call returns errors as values.
/// </summary>
[Kernel("dma-mapping", "kernel/dma/mapping.c")]
public sealed class DmaMapping(MachineOptions options, DmaDirect direct, Swiotlb swiotlb, Debug.Warnings warnings)
{
    /// <summary><c>EREMOTEIO</c> (121).</summary>
    public const int EREMOTEIO = 121;

    private int _nextIommuGroup = 1;
    private readonly List<IommuDomain> _domains = [];

    /// <summary>The IOMMU domains of the devices made so far (one per device under iommu-dma).</summary>
    public IReadOnlyList<IommuDomain> Domains => _domains;

    /// <summary>The machine's DMA path.</summary>
    public DmaPath Path => options.DmaPath;

    /// <summary>dma-direct.</summary>
    public DmaDirect Direct => direct;

    /// <summary>The swiotlb pool (inactive when the machine has none).</summary>
    public Swiotlb Swiotlb => swiotlb;

    /// <summary>
    /// A PCI device as <c>pci_device_add</c> + <c>pci_dma_configure</c> + IOMMU probing leave it: <c>dma_mask</c>
    /// and <c>coherent_dma_mask</c> 32-bit, <c>dma_parms</c> with <c>max_segment_size</c> 65536 and
    /// <c>segment_boundary_mask</c> 0xffffffff, its own IOMMU group (ids from 1: group 0 is the host bridge)
    /// and a DMA-FQ domain under iommu-dma, the swiotlb pool otherwise.
    /// </summary>
    [Kernel("pci_device_add", "drivers/pci/probe.c")]
    public Device CreateDevice(string name, ushort pciVendor = 0x1234, ushort pciDevice = 0x11e8)
    {
        var dev = new Device(name)
        {
            PciVendor = pciVendor,
            PciDevice = pciDevice,
            DmaMask = DmaAttrs.DMA_BIT_MASK(32),
            CoherentDmaMask = DmaAttrs.DMA_BIT_MASK(32),
            DmaParms = new DeviceDmaParameters(),
        };
        _ = SetMaxSegSize(dev, 65536);
        _ = SetSegBoundary(dev, 0xffffffff);
        if (options.DmaPath == DmaPath.Iommu)
        {
            DmaIommu.SetupDmaOps(dev, options.Kernel);
            dev.IommuGroup = _nextIommuGroup++;
            dev.Domain = new IommuDomain();
            _domains.Add(dev.Domain);
        }
        else
        {
            dev.Ops = DmaOps.Direct;
            dev.DmaIoTlbMem = swiotlb.IsActive ? swiotlb : null;
        }
        return dev;
    }

    /// <summary><c>dma_get_max_seg_size</c>: <c>dma_parms-&gt;max_segment_size</c>, 64 KiB when unset.</summary>
    [Kernel("dma_get_max_seg_size", "include/linux/dma-mapping.h")]
    public static uint GetMaxSegSize(Device dev) =>
        dev.DmaParms is { MaxSegmentSize: not 0 } p ? p.MaxSegmentSize : 65536u;

    /// <summary><c>dma_set_max_seg_size</c>: 0, or <c>-EIO</c> without <c>dma_parms</c>.</summary>
    [Kernel("dma_set_max_seg_size", "include/linux/dma-mapping.h")]
    public static int SetMaxSegSize(Device dev, uint size)
    {
        if (dev.DmaParms is { } p)
        {
            p.MaxSegmentSize = size;
            return 0;
        }
        return -(int)Errno.EIO;
    }

    /// <summary><c>dma_get_seg_boundary</c>: the mask, ULONG_MAX when unset.</summary>
    [Kernel("dma_get_seg_boundary", "include/linux/dma-mapping.h")]
    public static ulong GetSegBoundary(Device dev) =>
        dev.DmaParms is { SegmentBoundaryMask: not 0 } p ? p.SegmentBoundaryMask : ulong.MaxValue;

    /// <summary><c>dma_set_seg_boundary</c>: 0, or <c>-EIO</c> without <c>dma_parms</c>.</summary>
    [Kernel("dma_set_seg_boundary", "include/linux/dma-mapping.h")]
    public static int SetSegBoundary(Device dev, ulong mask)
    {
        if (dev.DmaParms is { } p)
        {
            p.SegmentBoundaryMask = mask;
            return 0;
        }
        return -(int)Errno.EIO;
    }

    /// <summary><c>dma_get_mask</c>: <c>*dma_mask</c>, or 32 bits when the device has none.</summary>
    [Kernel("dma_get_mask", "include/linux/dma-mapping.h")]
    public static ulong GetMask(Device dev) => dev.DmaMask is { } m && m != 0 ? m : DmaAttrs.DMA_BIT_MASK(32);

    /// <summary><c>dma_supported</c>: iommu-dma accepts any mask; dma-direct per <see cref="DmaDirect.Supported"/>.</summary>
    [Kernel("dma_supported", "kernel/dma/mapping.c")]
    public bool Supported(Device dev, ulong mask) => dev.Ops == DmaOps.Iommu || direct.Supported(mask);

    /// <summary><c>dma_set_mask</c>: <c>-EIO</c> when the device has no mask pointer or the mask is unsupported.</summary>
    [Kernel("dma_set_mask", "kernel/dma/mapping.c")]
    public int SetMask(Device dev, ulong mask)
    {
        if (dev.DmaMask is null || !Supported(dev, mask))
        {
            return -(int)Errno.EIO;
        }
        dev.DmaMask = mask;
        return 0;
    }

    /// <summary><c>dma_set_coherent_mask</c>.</summary>
    [Kernel("dma_set_coherent_mask", "kernel/dma/mapping.c")]
    public int SetCoherentMask(Device dev, ulong mask)
    {
        if (!Supported(dev, mask))
        {
            return -(int)Errno.EIO;
        }
        dev.CoherentDmaMask = mask;
        return 0;
    }

    /// <summary><c>dma_set_mask_and_coherent</c>.</summary>
    [Kernel("dma_set_mask_and_coherent", "include/linux/dma-mapping.h")]
    public int SetMaskAndCoherent(Device dev, ulong mask)
    {
        int rc = SetMask(dev, mask);
        return rc == 0 ? SetCoherentMask(dev, mask) : rc;
    }

    /// <summary><c>dma_max_mapping_size</c>: SIZE_MAX, the swiotlb limit (256 KiB) when bouncing.</summary>
    [Kernel("dma_max_mapping_size", "kernel/dma/mapping.c")]
    public ulong MaxMappingSize(Device dev) =>
        dev.Ops == DmaOps.Direct ? direct.MaxMappingSize(dev) : DmaIommu.MaxMappingSize();

    /// <summary><c>dma_opt_mapping_size</c>: min(max mapping size, the ops' optimum: 128 KiB under iommu-dma).</summary>
    [Kernel("dma_opt_mapping_size", "kernel/dma/mapping.c")]
    public ulong OptMappingSize(Device dev)
    {
        ulong size = dev.Ops == DmaOps.Iommu ? DmaIommu.OptMappingSize() : ulong.MaxValue;
        return Math.Min(MaxMappingSize(dev), size);
    }

    /// <summary><c>is_swiotlb_active(dev)</c>.</summary>
    [Kernel("is_swiotlb_active", "kernel/dma/swiotlb.c")]
    public static bool IsSwiotlbActive(Device dev) => dev.DmaIoTlbMem is { IsActive: true };

    /// <summary>
    /// <c>__dma_map_sg_attrs</c> / <c>dma_map_sg_attrs</c>: the number of DMA segments, 0 when the device has no
    /// mask (WARN), or a negative errno (<c>-EIO</c>, <c>-ENOMEM</c>, <c>-EINVAL</c>, <c>-EREMOTEIO</c>).
    /// </summary>
    [Kernel("__dma_map_sg_attrs", "kernel/dma/mapping.c")]
    public int MapSgAttrs(Device dev, SgTable table, SgCursor sg, int nents, DmaDataDirection dir, ulong attrs)
    {
        Debug.KernelBugException.On(dir > DmaDataDirection.DMA_FROM_DEVICE, "invalid DMA direction");
        if (warnings.On(dev.DmaMask is null, "!dev->dma_mask"))
        {
            return 0;
        }
        int ents = dev.Ops == DmaOps.Direct
            ? direct.MapSg(dev, table, sg, nents, dir, attrs)
            : DmaIommu.MapSg(dev, table, sg, nents, dir, attrs);
        if (ents <= 0 && warnings.On(ents != -(int)Errno.EINVAL && ents != -(int)Errno.ENOMEM &&
            ents != -(int)Errno.EIO && ents != -EREMOTEIO, "dma_map_sg unexpected return"))
        {
            return -(int)Errno.EIO;
        }
        return ents;
    }

    /// <summary><c>dma_unmap_sg_attrs</c>.</summary>
    [Kernel("dma_unmap_sg_attrs", "kernel/dma/mapping.c")]
    public static void UnmapSgAttrs(Device dev, SgTable table, SgCursor sg, int nents, DmaDataDirection dir, ulong attrs)
    {
        Debug.KernelBugException.On(dir > DmaDataDirection.DMA_FROM_DEVICE, "invalid DMA direction");
        if (dev.Ops == DmaOps.Direct)
        {
            DmaDirect.UnmapSg(dev, table, sg, nents, dir, attrs);
        }
        else
        {
            DmaIommu.UnmapSg(dev, table, sg, nents);
        }
    }

    /// <summary><c>dma_map_sgtable(dev, sgt, dir, attrs)</c>: maps <c>orig_nents</c> entries; sets <c>nents</c> on success; 0 or a negative errno.</summary>
    [Kernel("dma_map_sgtable", "kernel/dma/mapping.c")]
    public int MapSgtable(Device dev, SgTable sgt, DmaDataDirection dir, ulong attrs = 0)
    {
        int nents = MapSgAttrs(dev, sgt, sgt.Sgl, sgt.OrigNents, dir, attrs);
        if (nents < 0)
        {
            return nents;
        }
        sgt.Nents = nents;
        return 0;
    }

    /// <summary><c>dma_unmap_sgtable(dev, sgt, dir, attrs)</c>: unmaps <c>orig_nents</c> entries.</summary>
    [Kernel("dma_unmap_sgtable", "include/linux/dma-mapping.h")]
    public static void UnmapSgtable(Device dev, SgTable sgt, DmaDataDirection dir, ulong attrs = 0) =>
        UnmapSgAttrs(dev, sgt, sgt.Sgl, sgt.OrigNents, dir, attrs);

    /// <summary>
    /// <c>dma_sync_sgtable_for_cpu(dev, sgt, dir)</c>: the mapped (<c>nents</c>) entries; on dma-direct an entry
    /// bounced through swiotlb is copied back (<c>swiotlb_sync_single_for_cpu</c>); coherent x86 needs nothing else.
    /// </summary>
    [Kernel("dma_sync_sgtable_for_cpu", "include/linux/dma-mapping.h")]
    public static void SyncSgtableForCpu(Device dev, SgTable sgt, DmaDataDirection dir) => SyncSgtable(dev, sgt, dir, forCpu: true);

    /// <summary><c>dma_sync_sgtable_for_device(dev, sgt, dir)</c>: bounced entries copied out to the swiotlb slots.</summary>
    [Kernel("dma_sync_sgtable_for_device", "include/linux/dma-mapping.h")]
    public static void SyncSgtableForDevice(Device dev, SgTable sgt, DmaDataDirection dir) => SyncSgtable(dev, sgt, dir, forCpu: false);

    private static void SyncSgtable(Device dev, SgTable sgt, DmaDataDirection dir, bool forCpu)
    {
        ArgumentNullException.ThrowIfNull(dev);
        ArgumentNullException.ThrowIfNull(sgt);
        var mem = dev.DmaIoTlbMem;
        if (dev.Ops == DmaOps.Iommu || mem is null)
        {
            return;
        }
        foreach (var c in sgt.DmaSgs())
        {
            ref var sg = ref sgt.At(c);
            if (mem.IsSwiotlbBuffer(sg.DmaAddress))
            {
                if (forCpu)
                {
                    mem.SyncSingleForCpu(sg.DmaAddress, sg.Length, dir);
                }
                else
                {
                    mem.SyncSingleForDevice(sg.DmaAddress, sg.Length, dir);
                }
            }
        }
    }

    /// <summary>
    /// <c>dma_alloc_coherent</c> on x86: dma-direct pages below the coherent mask, or under iommu-dma pages
    /// anywhere mapped at a fresh IOVA below the coherent mask. Returns 0 or <c>-ENOMEM</c>; <paramref name="pfn"/>
    /// is the first frame (the CPU address), <paramref name="dmaHandle"/> the device address.
    /// </summary>
    [Kernel("dma_alloc_coherent", "include/linux/dma-mapping.h")]
    public int AllocCoherent(Device dev, ulong size, out ulong dmaHandle, out ulong pfn)
    {
        if (dev.Ops == DmaOps.Direct)
        {
            return direct.Alloc(dev, size, out dmaHandle, out pfn);
        }
        dmaHandle = DmaAttrs.DMA_MAPPING_ERROR;
        pfn = 0;
        size = Align.PageAlign(size);
        int order = Align.GetOrder(size);
        var pageAlloc = direct.PageAllocator;
        if (pageAlloc.AllocPages(Mm.Gfp.GFP_KERNEL | Mm.Gfp.__GFP_ZERO, order, out ulong p) != 0)
        {
            return -(int)Errno.ENOMEM;
        }
        ulong iova = DmaIommu.AllocIova(dev.Domain!, dev, size, dev.CoherentDmaMask);
        if (iova == 0)
        {
            pageAlloc.FreePagesBlock(p, order);
            return -(int)Errno.ENOMEM;
        }
        for (ulong k = 0; k < size >> Align.PAGE_SHIFT; k++)
        {
            dev.Domain!.MapPage((iova >> Align.PAGE_SHIFT) + k, p + k);
        }
        dmaHandle = iova;
        pfn = p;
        return 0;
    }

    /// <summary><c>dma_free_coherent</c>.</summary>
    [Kernel("dma_free_coherent", "include/linux/dma-mapping.h")]
    public void FreeCoherent(Device dev, ulong size, ulong pfn, ulong dmaHandle)
    {
        size = Align.PageAlign(size);
        if (dev.Ops == DmaOps.Iommu)
        {
            for (ulong k = 0; k < size >> Align.PAGE_SHIFT; k++)
            {
                dev.Domain!.UnmapPage((dmaHandle >> Align.PAGE_SHIFT) + k);
            }
            dev.Domain!.Iovad.Free(dmaHandle >> Align.PAGE_SHIFT);
        }
        direct.PageAllocator.FreePagesBlock(pfn, Align.GetOrder(size));
    }
}
