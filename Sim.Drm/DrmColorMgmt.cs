// Models drivers/gpu/drm/drm_color_mgmt.c (Linux 6.1): the legacy gamma ioctls up to the CRTC lookup.
using Sim.Core;

namespace Sim.Drm;

/// <summary>The gamma ioctls.</summary>
[Kernel("drm_color_mgmt", "drivers/gpu/drm/drm_color_mgmt.c")]
public static class DrmColorMgmt
{
    /// <summary><c>drm_mode_gamma_get_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_gamma_get_ioctl", "drivers/gpu/drm/drm_color_mgmt.c")]
    public static int GammaGetIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETGAMMA");

    /// <summary><c>drm_mode_gamma_set_ioctl</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_gamma_set_ioctl", "drivers/gpu/drm/drm_color_mgmt.c")]
    public static int GammaSetIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_SETGAMMA");
}
