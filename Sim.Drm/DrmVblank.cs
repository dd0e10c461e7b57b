// Models drivers/gpu/drm/drm_vblank.c (Linux 6.1): WAIT_VBLANK, MODESET_CTL and the CRTC sequence ioctls on
// devices without vblank support (vgem, virtio-gpu: no drm_vblank_init).
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>The vblank ioctls.</summary>
[Kernel("drm_vblank", "drivers/gpu/drm/drm_vblank.c")]
public static class DrmVblank
{
    /// <summary>
    /// <c>drm_wait_vblank_ioctl</c>: <c>-EOPNOTSUPP</c> unless <c>drm_wait_vblank_supported</c> (no
    /// CONFIG_DRM_LEGACY: <c>drm_dev_has_vblank</c>).
    /// </summary>
    [Kernel("drm_wait_vblank_ioctl", "drivers/gpu/drm/drm_vblank.c")]
    public static int WaitVblankIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        dev.ModeConfig.HasVblank ? dev.Unmodelled("DRM_IOCTL_WAIT_VBLANK") : -(int)Errno.EOPNOTSUPP;

    /// <summary>
    /// <c>drm_legacy_modeset_ctl_ioctl</c>: 0 on a device without vblank, and 0 on every non-legacy driver
    /// (nothing happens either way).
    /// </summary>
    [Kernel("drm_legacy_modeset_ctl_ioctl", "drivers/gpu/drm/drm_vblank.c")]
    public static int LegacyModesetCtlIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => 0;

    /// <summary><c>drm_crtc_get_sequence_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET or without vblank.</summary>
    [Kernel("drm_crtc_get_sequence_ioctl", "drivers/gpu/drm/drm_vblank.c")]
    public static int CrtcGetSequenceIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? (dev.ModeConfig.HasVblank ? dev.Unmodelled("DRM_IOCTL_CRTC_GET_SEQUENCE") : -(int)Errno.EOPNOTSUPP);

    /// <summary><c>drm_crtc_queue_sequence_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET or without vblank.</summary>
    [Kernel("drm_crtc_queue_sequence_ioctl", "drivers/gpu/drm/drm_vblank.c")]
    public static int CrtcQueueSequenceIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? (dev.ModeConfig.HasVblank ? dev.Unmodelled("DRM_IOCTL_CRTC_QUEUE_SEQUENCE") : -(int)Errno.EOPNOTSUPP);
}
