// Models drivers/gpu/drm/drm_property.c (Linux 6.1): the property and blob ioctls up to their lookups.
using Sim.Core;

namespace Sim.Drm;

/// <summary>The property and blob ioctls.</summary>
[Kernel("drm_property", "drivers/gpu/drm/drm_property.c")]
public static class DrmProperty
{
    /// <summary><c>drm_mode_getproperty_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getproperty_ioctl", "drivers/gpu/drm/drm_property.c")]
    public static int GetPropertyIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETPROPERTY");

    /// <summary><c>drm_mode_getblob_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getblob_ioctl", "drivers/gpu/drm/drm_property.c")]
    public static int GetBlobIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETPROPBLOB");

    /// <summary><c>drm_mode_createblob_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_createblob_ioctl", "drivers/gpu/drm/drm_property.c")]
    public static int CreateBlobIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_CREATEPROPBLOB");

    /// <summary><c>drm_mode_destroyblob_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_destroyblob_ioctl", "drivers/gpu/drm/drm_property.c")]
    public static int DestroyBlobIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_DESTROYPROPBLOB");
}
