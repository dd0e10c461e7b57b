// Models drivers/gpu/drm/drm_encoder.c (Linux 6.1): GETENCODER up to the encoder lookup.
using Sim.Core;

namespace Sim.Drm;

/// <summary>The encoder ioctl.</summary>
[Kernel("drm_encoder", "drivers/gpu/drm/drm_encoder.c")]
public static class DrmEncoder
{
    /// <summary><c>drm_mode_getencoder</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getencoder", "drivers/gpu/drm/drm_encoder.c")]
    public static int GetEncoder(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETENCODER");
}
