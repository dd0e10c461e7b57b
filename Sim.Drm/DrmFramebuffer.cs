// Models drivers/gpu/drm/drm_framebuffer.c (Linux 6.1): the framebuffer ioctls up to their lookups. Note GETFB2,
// whose feature check answers -EINVAL, not -EOPNOTSUPP.
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>The framebuffer ioctls.</summary>
[Kernel("drm_framebuffer", "drivers/gpu/drm/drm_framebuffer.c")]
public static class DrmFramebuffer
{
    /// <summary><c>drm_mode_getfb</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getfb", "drivers/gpu/drm/drm_framebuffer.c")]
    public static int GetFb(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETFB");

    /// <summary><c>drm_mode_getfb2_ioctl</c>: <c>-EINVAL</c> without DRIVER_MODESET (this handler's own choice).</summary>
    [Kernel("drm_mode_getfb2_ioctl", "drivers/gpu/drm/drm_framebuffer.c")]
    public static int GetFb2Ioctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        dev.Driver.HasFeature(DrmDriverFeature.DRIVER_MODESET) ? dev.Unmodelled("DRM_IOCTL_MODE_GETFB2") : -(int)Errno.EINVAL;

    /// <summary><c>drm_mode_addfb_ioctl</c> -> <c>drm_mode_addfb</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_addfb_ioctl", "drivers/gpu/drm/drm_framebuffer.c")]
    public static int AddFbIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_ADDFB");

    /// <summary><c>drm_mode_addfb2_ioctl</c> -> <c>drm_mode_addfb2</c> (little endian): <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_addfb2_ioctl", "drivers/gpu/drm/drm_framebuffer.c")]
    public static int AddFb2Ioctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_ADDFB2");

    /// <summary><c>drm_mode_rmfb_ioctl</c> -> <c>drm_mode_rmfb</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_rmfb_ioctl", "drivers/gpu/drm/drm_framebuffer.c")]
    public static int RmFbIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_RMFB");

    /// <summary><c>drm_mode_dirtyfb_ioctl</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_dirtyfb_ioctl", "drivers/gpu/drm/drm_framebuffer.c")]
    public static int DirtyFbIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_DIRTYFB");
}
