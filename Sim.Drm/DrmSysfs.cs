// Models drivers/gpu/drm/drm_sysfs.c (Linux 6.1) and the sysfs part of drm_dev_register (drm_drv.c): the "drm"
// class with its "version" attribute, one class device per minor under the parent device's "drm" directory
// (DEVNAME dri/cardN, DEVTYPE drm_minor), and the "controlD<64+N>" compatibility link of KMS drivers.
using Sim.Core;
using Sim.Core.Base;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>The DRM class in sysfs.</summary>
[Kernel("drm_sysfs_init", "drivers/gpu/drm/drm_sysfs.c")]
public static class DrmSysfs
{
    /// <summary><c>drm_sysfs_init</c>: <c>class_create("drm")</c> and <c>CLASS_ATTR_STRING(version, "drm 1.1.0 20060810")</c>.</summary>
    [Kernel("drm_sysfs_init", "drivers/gpu/drm/drm_sysfs.c")]
    public static void Init(DeviceCore devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        devices.ClassRegister("drm");
        devices.Sysfs.CreateFile(devices.Sysfs.RootPath("class/drm/version"), () => "drm 1.1.0 20060810\n");
    }

    /// <summary>
    /// <c>drm_sysfs_minor_alloc</c> + <c>device_add</c> for each minor of <paramref name="dev"/> (parent: the
    /// driver's device, or a platform device named after <c>dev-&gt;unique</c> when the driver made none), then
    /// <c>create_compat_control_link</c> for DRIVER_MODESET.
    /// </summary>
    [Kernel("drm_sysfs_minor_alloc", "drivers/gpu/drm/drm_sysfs.c")]
    public static void Register(DrmDevice dev, DeviceCore devices)
    {
        ArgumentNullException.ThrowIfNull(dev);
        ArgumentNullException.ThrowIfNull(devices);
        var parent = dev.SysParent ??= devices.PlatformDeviceAdd(dev.Unique);
        foreach (var minor in new[] { dev.Primary, dev.Render })
        {
            if (minor is null)
            {
                continue;
            }
            string name = minor.Path["/dev/dri/".Length..];
            devices.DeviceAdd(new SysDevice
            {
                Name = name,
                Parent = parent,
                Class = "drm",
                Devt = ((uint)DrmH.DRM_MAJOR, (uint)minor.Index),
                DevNode = "dri/" + name,
                DevType = "drm_minor",
            });
        }
        if (dev.Driver.HasFeature(DrmDriverFeature.DRIVER_MODESET))
        {
            // create_compat_control_link: sysfs_create_link(kdev->kobj.parent, &kdev->kobj, "controlD%d", index + 64).
            string drmDir = parent.Path + "/drm";
            devices.Sysfs.Symlink($"{drmDir}/controlD{dev.Primary.Index + 64}", $"{drmDir}/card{dev.Primary.Index}");
        }
    }
}
