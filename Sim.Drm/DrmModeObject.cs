// Models drivers/gpu/drm/drm_mode_object.c (Linux 6.1): OBJ_GETPROPERTIES / OBJ_SETPROPERTY up to the lookup.
using Sim.Core;

namespace Sim.Drm;

/// <summary>The mode-object property ioctls.</summary>
[Kernel("drm_mode_object", "drivers/gpu/drm/drm_mode_object.c")]
public static class DrmModeObject
{
    /// <summary><c>drm_mode_obj_get_properties_ioctl</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_obj_get_properties_ioctl", "drivers/gpu/drm/drm_mode_object.c")]
    public static int ObjGetPropertiesIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_OBJ_GETPROPERTIES");

    /// <summary><c>drm_mode_obj_set_property_ioctl</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_obj_set_property_ioctl", "drivers/gpu/drm/drm_mode_object.c")]
    public static int ObjSetPropertyIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_OBJ_SETPROPERTY");
}
