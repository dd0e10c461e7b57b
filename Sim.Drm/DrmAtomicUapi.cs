// Models drivers/gpu/drm/drm_atomic_uapi.c (Linux 6.1): drm_mode_atomic_ioctl's checks before the commit.
using System.Buffers.Binary;
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>The atomic ioctl.</summary>
[Kernel("drm_atomic_uapi", "drivers/gpu/drm/drm_atomic_uapi.c")]
public static class DrmAtomicUapi
{
    /// <summary>DRM_MODE_ATOMIC_FLAGS (PAGE_FLIP_EVENT | PAGE_FLIP_ASYNC | TEST_ONLY | NONBLOCK | ALLOW_MODESET).</summary>
    public const uint DRM_MODE_ATOMIC_FLAGS = 0x0703;

    /// <summary>
    /// <c>drm_mode_atomic_ioctl</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_ATOMIC; <c>-EINVAL</c> unless the
    /// file set DRM_CLIENT_CAP_ATOMIC, for unknown flags, or a non-zero <c>reserved</c> (offset 40).
    /// </summary>
    [Kernel("drm_mode_atomic_ioctl", "drivers/gpu/drm/drm_atomic_uapi.c")]
    public static int AtomicIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        if (!dev.Driver.HasFeature(DrmDriverFeature.DRIVER_ATOMIC))
        {
            return -(int)Errno.EOPNOTSUPP;
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (file.Atomic == 0 || (flags & ~DRM_MODE_ATOMIC_FLAGS) != 0 || BinaryPrimitives.ReadUInt64LittleEndian(data[40..]) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        return dev.Unmodelled("DRM_IOCTL_MODE_ATOMIC");
    }
}
