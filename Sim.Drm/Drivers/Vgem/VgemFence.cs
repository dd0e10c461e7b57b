// Models drivers/gpu/drm/vgem/vgem_fence.c (Linux 6.1): DRM_IOCTL_VGEM_FENCE_ATTACH / _SIGNAL.
// The fences themselves need the dma_fence / dma_resv models (Sim.DmaBuf, in progress on another branch).
using System.Runtime.InteropServices;
using Sim.Core;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm.Drivers.Vgem;

/// <summary>The vgem fence ioctls.</summary>
[Kernel("vgem_fence", "drivers/gpu/drm/vgem/vgem_fence.c")]
public static class VgemFence
{
    /// <summary>VGEM_FENCE_TIMEOUT: 10 s.</summary>
    public const long VGEM_FENCE_TIMEOUT_NS = 10_000_000_000L;

    /// <summary>
    /// <c>vgem_fence_attach_ioctl</c>: flags other than VGEM_FENCE_WRITE or a nonzero pad <c>-EINVAL</c>, then the
    /// handle (<c>-ENOENT</c>). Attaching a fence needs the dma_fence model: until it is merged the call reports
    /// <c>-ENOSYS</c> past the argument checks.
    /// </summary>
    [Kernel("vgem_fence_attach_ioctl", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static int FenceAttachIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var arg = ref MemoryMarshal.AsRef<drm_vgem_fence_attach>(data);
        if ((arg.flags & ~VgemDrmH.VGEM_FENCE_WRITE) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (arg.pad != 0)
        {
            return -(int)Errno.EINVAL;
        }
        var obj = DrmGem.ObjectLookup(file, arg.handle);
        if (obj is null)
        {
            return -(int)Errno.ENOENT;
        }
        obj.Put();
        return -(int)Errno.ENOSYS;
    }

    /// <summary><c>vgem_fence_signal_ioctl</c>: flags != 0 <c>-EINVAL</c>; an unknown id <c>-ENOENT</c>.</summary>
    [Kernel("vgem_fence_signal_ioctl", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static int FenceSignalIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var arg = ref MemoryMarshal.AsRef<drm_vgem_fence_signal>(data);
        var vfile = (VgemFile)file.DriverPriv!;
        if (arg.flags != 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (!vfile.FenceIdr.TryGetValue((int)arg.fence, out var fence) || fence is null)
        {
            return -(int)Errno.ENOENT;
        }
        return -(int)Errno.ENOSYS;
    }

    /// <summary><c>vgem_fence_close</c>: every fence still in the table is signalled and dropped.</summary>
    [Kernel("vgem_fence_close", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static void FenceClose(VgemFile vfile) => vfile.FenceIdr.Clear();
}
