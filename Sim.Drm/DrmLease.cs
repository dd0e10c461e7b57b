// Models drivers/gpu/drm/drm_lease.c (Linux 6.1): the lease ioctls' first checks (LIST_LESSEES and GET_LEASE
// check their pad before the feature).
using System.Buffers.Binary;
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>The lease ioctls.</summary>
[Kernel("drm_lease", "drivers/gpu/drm/drm_lease.c")]
public static class DrmLease
{
    /// <summary><c>drm_mode_create_lease_ioctl</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_create_lease_ioctl", "drivers/gpu/drm/drm_lease.c")]
    public static int CreateLeaseIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_CREATE_LEASE");

    /// <summary><c>drm_mode_list_lessees_ioctl</c>: a non-zero pad (offset 4) is <c>-EINVAL</c>, then <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_list_lessees_ioctl", "drivers/gpu/drm/drm_lease.c")]
    public static int ListLesseesIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) != 0 ? -(int)Errno.EINVAL
            : DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_LIST_LESSEES");

    /// <summary><c>drm_mode_get_lease_ioctl</c>: a non-zero pad (offset 4) is <c>-EINVAL</c>, then <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_get_lease_ioctl", "drivers/gpu/drm/drm_lease.c")]
    public static int GetLeaseIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        BinaryPrimitives.ReadUInt32LittleEndian(data[4..]) != 0 ? -(int)Errno.EINVAL
            : DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GET_LEASE");

    /// <summary><c>drm_mode_revoke_lease_ioctl</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_revoke_lease_ioctl", "drivers/gpu/drm/drm_lease.c")]
    public static int RevokeLeaseIoctl(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_REVOKE_LEASE");
}
