// Models the DMA side of struct device (include/linux/device.h) and struct device_dma_parameters (Linux 6.1).
namespace Sim.Core.Dma;

/// <summary><c>struct device_dma_parameters</c>: the limits a driver sets with <c>dma_set_max_seg_size</c> / <c>dma_set_seg_boundary</c>.</summary>
[Kernel("struct device_dma_parameters", "include/linux/device.h")]
public sealed class DeviceDmaParameters
{
    /// <summary><c>max_segment_size</c> (0 = unset: <c>dma_get_max_seg_size</c> reports 64 KiB).</summary>
    public uint MaxSegmentSize { get; set; }

    /// <summary><c>segment_boundary_mask</c> (0 = unset: <c>dma_get_seg_boundary</c> reports ULONG_MAX).</summary>
    public ulong SegmentBoundaryMask { get; set; }

    /// <summary><c>min_align_mask</c>.</summary>
    public uint MinAlignMask { get; set; }
}

/// <summary>Which <c>dma_map_ops</c> a device uses (<c>get_dma_ops(dev)</c>).</summary>
public enum DmaOps
{
    /// <summary>No ops: dma-direct (kernel/dma/direct.c), bouncing through swiotlb when forced or needed.</summary>
    Direct,
    /// <summary><c>iommu_dma_ops</c> (drivers/iommu/dma-iommu.c).</summary>
    Iommu,
}

/// <summary>
/// The DMA view of a <c>struct device</c>: its name, masks (<c>dma_mask</c> is a pointer in C: null here means
/// the device has none), <c>bus_dma_limit</c>, <c>dma_parms</c>, its ops choice, IOMMU group/domain and
/// swiotlb pool. Devices are made by <see cref="DmaMapping.CreateDevice"/>, which configures them the way the
/// machine's bus and IOMMU probing would.
/// </summary>
[Kernel("struct device", "include/linux/device.h")]
public sealed class Device
{
    /// <summary>Creates a device with no DMA configuration (a platform device before <c>of_dma_configure</c>).</summary>
    public Device(string name) => Name = name;

    /// <summary><c>dev_name(dev)</c>, e.g. <c>0000:00:01.0</c>.</summary>
    public string Name { get; }

    /// <summary><c>*dev-&gt;dma_mask</c>, or null when <c>dev-&gt;dma_mask</c> is NULL.</summary>
    public ulong? DmaMask { get; set; }

    /// <summary><c>coherent_dma_mask</c>.</summary>
    public ulong CoherentDmaMask { get; set; }

    /// <summary><c>bus_dma_limit</c> (0 = none).</summary>
    public ulong BusDmaLimit { get; set; }

    /// <summary><c>dma_parms</c>, or null.</summary>
    public DeviceDmaParameters? DmaParms { get; set; }

    /// <summary>
    /// Which implementation serves the device's DMA calls: dma-direct or iommu-dma. On 6.1 that is the
    /// <c>dma_map_ops</c> table (<c>get_dma_ops(dev)</c>); on 6.12 iommu-dma is reached through
    /// <c>dev-&gt;dma_iommu</c> with no table (see <see cref="DmaMapOps"/>).
    /// </summary>
    public DmaOps Ops { get; set; }

    /// <summary>
    /// <c>dev-&gt;dma_ops</c> is set (<c>get_dma_ops(dev) != NULL</c>): true for an iommu-dma device on 6.1
    /// (<c>iommu_setup_dma_ops</c> installs <c>&amp;iommu_dma_ops</c>); always false on 6.12, where
    /// CONFIG_IOMMU_DMA devices have <c>dev-&gt;dma_iommu</c> set and kernel/dma/mapping.c calls iommu-dma
    /// directly (<c>use_dma_iommu(dev)</c>).
    /// </summary>
    public bool DmaMapOps { get; set; }

    /// <summary><c>dev-&gt;dma_iommu</c> (6.12 only): kernel/dma/mapping.c calls the <c>iommu_dma_*</c> functions directly.</summary>
    public bool DmaIommu { get; set; }

    /// <summary>The IOMMU group id, or -1 when the device is not behind an IOMMU.</summary>
    public int IommuGroup { get; set; } = -1;

    /// <summary>The IOMMU domain (<c>iommu_get_dma_domain</c>), or null.</summary>
    public IommuDomain? Domain { get; set; }

    /// <summary><c>dev-&gt;dma_io_tlb_mem</c>: the swiotlb pool, or null.</summary>
    public Swiotlb? DmaIoTlbMem { get; set; }

    /// <summary>PCI vendor id (0 for a non-PCI device).</summary>
    public ushort PciVendor { get; set; }

    /// <summary>PCI device id.</summary>
    public ushort PciDevice { get; set; }

    /// <summary><c>dev_is_pci(dev)</c>.</summary>
    public bool IsPci => PciVendor != 0;

    /// <summary><c>dev_is_dma_coherent(dev)</c>: always true on x86.</summary>
    public bool DmaCoherent { get; set; } = true;

    /// <inheritdoc/>
    public override string ToString() => Name;
}
