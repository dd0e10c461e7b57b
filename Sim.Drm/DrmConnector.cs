// Models drivers/gpu/drm/drm_connector.c (Linux 6.1): GETCONNECTOR and the legacy SETPROPERTY up to the
// connector lookup.
using Sim.Core;

namespace Sim.Drm;

/// <summary>The connector ioctls.</summary>
[Kernel("drm_connector", "drivers/gpu/drm/drm_connector.c")]
public static class DrmConnector
{
    /// <summary><c>drm_mode_getconnector</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getconnector", "drivers/gpu/drm/drm_connector.c")]
    public static int GetConnector(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETCONNECTOR");

    /// <summary>
    /// <c>drm_connector_property_set_ioctl</c> (DRM_MASTER): forwards to <c>drm_mode_obj_set_property_ioctl</c>,
    /// so <c>-EOPNOTSUPP</c> without DRIVER_MODESET.
    /// </summary>
    [Kernel("drm_connector_property_set_ioctl", "drivers/gpu/drm/drm_connector.c")]
    public static int PropertySetIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_SETPROPERTY");
}
