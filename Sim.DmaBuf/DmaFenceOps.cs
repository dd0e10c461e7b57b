// Models struct dma_fence_ops (include/linux/dma-fence.h, Linux 6.1).
using Sim.Core;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_fence_ops</c>: an immutable table of delegates named after the C members; null means the op is
/// absent, with the kernel's meaning of absence (no <c>wait</c>: <c>dma_fence_default_wait</c>; no
/// <c>release</c>: <c>dma_fence_free</c>). The table's identity is the fence's type tag
/// (<c>dma_fence_is_array</c> compares it with <see cref="DmaFenceArray.DmaFenceArrayOps"/>).
/// </summary>
[Kernel("dma_fence_ops", "include/linux/dma-fence.h")]
public sealed class DmaFenceOps
{
    /// <summary><c>use_64bit_seqno</c>: compare seqnos as u64 instead of wrapping u32.</summary>
    public bool UseSeqno64 { get; init; }

    /// <summary><c>get_driver_name</c> (mandatory).</summary>
    public required Func<DmaFence, string> GetDriverName { get; init; }

    /// <summary><c>get_timeline_name</c> (mandatory).</summary>
    public required Func<DmaFence, string> GetTimelineName { get; init; }

    /// <summary><c>enable_signaling</c>: false means the fence is already signalled.</summary>
    public Func<DmaFence, bool>? EnableSignaling { get; init; }

    /// <summary><c>signaled</c>: peeks whether the fence has signalled.</summary>
    public Func<DmaFence, bool>? Signaled { get; init; }

    /// <summary><c>wait(fence, intr, timeout)</c>: custom wait.</summary>
    public Func<DmaFence, bool, long, long>? Wait { get; init; }

    /// <summary><c>release</c>: frees the containing object.</summary>
    public Action<DmaFence>? Release { get; init; }

    /// <summary><c>set_deadline(fence, deadline)</c> (Linux 6.4+): a deadline hint in ktime ns.</summary>
    public Action<DmaFence, long>? SetDeadline { get; init; }
}
