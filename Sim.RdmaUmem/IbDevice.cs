// Models the parts of struct ib_device and enum ib_access_flags (include/rdma/ib_verbs.h, Linux 6.1) that the umem
// code uses: the DMA device and ib_access_writable().
using Sim.Core;
using Sim.Core.Dma;

namespace Sim.RdmaUmem;

/// <summary>
/// <c>struct ib_device</c>, reduced to what <c>ib_umem_dmabuf_get</c> reads: <c>dma_device</c>, the device the
/// dma-buf is attached to (and mapped for). A zeroed <c>ib_device</c> (as the sg traces' module uses) has only
/// <see cref="DmaDevice"/> set.
/// </summary>
[Kernel("struct ib_device", "include/rdma/ib_verbs.h")]
public sealed class IbDevice
{
    /// <summary>Makes an ib_device whose <c>dma_device</c> is <paramref name="dmaDevice"/>.</summary>
    public IbDevice(Device? dmaDevice, string name = "")
    {
        DmaDevice = dmaDevice;
        Name = name;
    }

    /// <summary><c>dma_device</c>: the struct device DMA goes through (NULL makes the dma-buf attach fail).</summary>
    public Device? DmaDevice { get; }

    /// <summary><c>name</c> (empty for a zeroed device).</summary>
    public string Name { get; }

    /// <inheritdoc/>
    public override string ToString() => Name.Length > 0 ? Name : $"ib_device(dma_device {DmaDevice?.Name ?? "NULL"})";
}

/// <summary><c>enum ib_access_flags</c> (values of <c>IB_UVERBS_ACCESS_*</c>, include/uapi/rdma/ib_user_ioctl_verbs.h).</summary>
[Kernel("enum ib_access_flags", "include/rdma/ib_verbs.h")]
[Flags]
public enum IbAccessFlags
{
    /// <summary>No access flag.</summary>
    None = 0,

    /// <summary><c>IB_ACCESS_LOCAL_WRITE</c>.</summary>
    IB_ACCESS_LOCAL_WRITE = 1 << 0,

    /// <summary><c>IB_ACCESS_REMOTE_WRITE</c>.</summary>
    IB_ACCESS_REMOTE_WRITE = 1 << 1,

    /// <summary><c>IB_ACCESS_REMOTE_READ</c>.</summary>
    IB_ACCESS_REMOTE_READ = 1 << 2,

    /// <summary><c>IB_ACCESS_REMOTE_ATOMIC</c>.</summary>
    IB_ACCESS_REMOTE_ATOMIC = 1 << 3,

    /// <summary><c>IB_ACCESS_MW_BIND</c>.</summary>
    IB_ACCESS_MW_BIND = 1 << 4,

    /// <summary><c>IB_ZERO_BASED</c>.</summary>
    IB_ZERO_BASED = 1 << 5,

    /// <summary><c>IB_ACCESS_ON_DEMAND</c>.</summary>
    IB_ACCESS_ON_DEMAND = 1 << 6,

    /// <summary><c>IB_ACCESS_HUGETLB</c>.</summary>
    IB_ACCESS_HUGETLB = 1 << 7,

    /// <summary><c>IB_ACCESS_RELAXED_ORDERING</c> (<c>IB_UVERBS_ACCESS_OPTIONAL_FIRST</c>).</summary>
    IB_ACCESS_RELAXED_ORDERING = 1 << 20,
}

/// <summary>Helpers of include/rdma/ib_verbs.h over <see cref="IbAccessFlags"/>.</summary>
public static class IbVerbs
{
    /// <summary>
    /// <c>ib_access_writable</c>: the memory is written through the MR if any of LOCAL_WRITE, REMOTE_WRITE,
    /// REMOTE_ATOMIC or MW_BIND is set.
    /// </summary>
    [Kernel("ib_access_writable", "include/rdma/ib_verbs.h")]
    public static bool AccessWritable(int accessFlags) =>
        (accessFlags & (int)(IbAccessFlags.IB_ACCESS_LOCAL_WRITE | IbAccessFlags.IB_ACCESS_REMOTE_WRITE |
                             IbAccessFlags.IB_ACCESS_REMOTE_ATOMIC | IbAccessFlags.IB_ACCESS_MW_BIND)) != 0;
}
