// Models drivers/gpu/drm/drm_syncobj.c (Linux 6.1) on the modelled drivers, none of which sets DRIVER_SYNCOBJ or
// DRIVER_SYNCOBJ_TIMELINE: every syncobj ioctl answers -EOPNOTSUPP from its feature check, before looking at its
// arguments. A driver with the feature would reach the (unmodelled) syncobj core.
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>The syncobj ioctls.</summary>
[Kernel("drm_syncobj", "drivers/gpu/drm/drm_syncobj.c")]
public static class DrmSyncobj
{
    private static int Check(DrmDevice dev, DrmDriverFeature feature, string name) =>
        dev.Driver.HasFeature(feature) ? dev.Unmodelled(name) : -(int)Errno.EOPNOTSUPP;

    /// <summary><c>drm_syncobj_create_ioctl</c>: needs DRIVER_SYNCOBJ.</summary>
    [Kernel("drm_syncobj_create_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int CreateIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ, "DRM_IOCTL_SYNCOBJ_CREATE");

    /// <summary><c>drm_syncobj_destroy_ioctl</c>: needs DRIVER_SYNCOBJ.</summary>
    [Kernel("drm_syncobj_destroy_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int DestroyIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ, "DRM_IOCTL_SYNCOBJ_DESTROY");

    /// <summary><c>drm_syncobj_handle_to_fd_ioctl</c>: needs DRIVER_SYNCOBJ.</summary>
    [Kernel("drm_syncobj_handle_to_fd_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int HandleToFdIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ, "DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD");

    /// <summary><c>drm_syncobj_fd_to_handle_ioctl</c>: needs DRIVER_SYNCOBJ.</summary>
    [Kernel("drm_syncobj_fd_to_handle_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int FdToHandleIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ, "DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE");

    /// <summary><c>drm_syncobj_transfer_ioctl</c>: needs DRIVER_SYNCOBJ_TIMELINE.</summary>
    [Kernel("drm_syncobj_transfer_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int TransferIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ_TIMELINE, "DRM_IOCTL_SYNCOBJ_TRANSFER");

    /// <summary><c>drm_syncobj_wait_ioctl</c>: needs DRIVER_SYNCOBJ.</summary>
    [Kernel("drm_syncobj_wait_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int WaitIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ, "DRM_IOCTL_SYNCOBJ_WAIT");

    /// <summary><c>drm_syncobj_timeline_wait_ioctl</c>: needs DRIVER_SYNCOBJ_TIMELINE.</summary>
    [Kernel("drm_syncobj_timeline_wait_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int TimelineWaitIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ_TIMELINE, "DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT");

    /// <summary><c>drm_syncobj_reset_ioctl</c>: needs DRIVER_SYNCOBJ.</summary>
    [Kernel("drm_syncobj_reset_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int ResetIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ, "DRM_IOCTL_SYNCOBJ_RESET");

    /// <summary><c>drm_syncobj_signal_ioctl</c>: needs DRIVER_SYNCOBJ.</summary>
    [Kernel("drm_syncobj_signal_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int SignalIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ, "DRM_IOCTL_SYNCOBJ_SIGNAL");

    /// <summary><c>drm_syncobj_timeline_signal_ioctl</c>: needs DRIVER_SYNCOBJ_TIMELINE.</summary>
    [Kernel("drm_syncobj_timeline_signal_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int TimelineSignalIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ_TIMELINE, "DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL");

    /// <summary><c>drm_syncobj_query_ioctl</c>: needs DRIVER_SYNCOBJ_TIMELINE.</summary>
    [Kernel("drm_syncobj_query_ioctl", "drivers/gpu/drm/drm_syncobj.c")]
    public static int QueryIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => Check(dev, DrmDriverFeature.DRIVER_SYNCOBJ_TIMELINE, "DRM_IOCTL_SYNCOBJ_QUERY");
}
