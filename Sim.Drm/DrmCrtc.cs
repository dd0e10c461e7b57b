// Models drivers/gpu/drm/drm_crtc.c (Linux 6.1): GETCRTC and SETCRTC up to the CRTC lookup. CRTCs themselves are
// not modelled: on a KMS device the call is counted as unmodelled.
using System.Buffers.Binary;
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>The CRTC ioctls.</summary>
[Kernel("drm_crtc", "drivers/gpu/drm/drm_crtc.c")]
public static class DrmCrtc
{
    /// <summary><c>drm_mode_getcrtc</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getcrtc", "drivers/gpu/drm/drm_crtc.c")]
    public static int GetCrtc(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETCRTC");

    /// <summary>
    /// <c>drm_mode_setcrtc</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET; x or y beyond 16 bits is
    /// <c>-ERANGE</c> (struct drm_mode_crtc: x at offset 20, y at 24).
    /// </summary>
    [Kernel("drm_mode_setcrtc", "drivers/gpu/drm/drm_crtc.c")]
    public static int SetCrtc(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        if (DrmModeConfig.NoModeset(dev) is int e)
        {
            return e;
        }
        uint x = BinaryPrimitives.ReadUInt32LittleEndian(data[20..]), y = BinaryPrimitives.ReadUInt32LittleEndian(data[24..]);
        if (((x | y) & 0xffff0000) != 0)
        {
            return -(int)Errno.ERANGE;
        }
        return dev.Unmodelled("DRM_IOCTL_MODE_SETCRTC");
    }
}
