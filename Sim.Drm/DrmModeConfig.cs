// Models struct drm_mode_config (include/drm/drm_mode_config.h, Linux 6.1) as far as the core ioctls read it
// (drm_getcap, drm_mode_page_flip_ioctl, drm_wait_vblank_ioctl), and drivers/gpu/drm/drm_mode_config.c's
// drm_mode_getresources on a device without modesetting.
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>
/// <c>struct drm_mode_config</c> of a KMS device: what <c>drm_getcap</c> reports and how many CRTCs the device has.
/// A device without DRIVER_MODESET (vgem) keeps the zeroed defaults, as the kernel's zeroed struct does.
/// </summary>
[Kernel("struct drm_mode_config", "include/drm/drm_mode_config.h")]
public sealed class DrmModeConfig
{
    /// <summary><c>preferred_depth</c> (0: none; DRM_CAP_DUMB_PREFERRED_DEPTH).</summary>
    public uint PreferredDepth { get; init; }
    /// <summary><c>prefer_shadow</c>.</summary>
    public bool PreferShadow { get; init; }
    /// <summary><c>async_page_flip</c>.</summary>
    public bool AsyncPageFlip { get; init; }
    /// <summary><c>cursor_width</c> (0: DRM_CAP_CURSOR_WIDTH reports 64).</summary>
    public uint CursorWidth { get; init; }
    /// <summary><c>cursor_height</c> (0: DRM_CAP_CURSOR_HEIGHT reports 64).</summary>
    public uint CursorHeight { get; init; }
    /// <summary><c>fb_modifiers_not_supported</c>.</summary>
    public bool FbModifiersNotSupported { get; init; }
    /// <summary><c>num_crtc</c>.</summary>
    public int NumCrtc { get; init; }
    /// <summary>True when every CRTC's <c>funcs-&gt;page_flip_target</c> is set (DRM_CAP_PAGE_FLIP_TARGET).</summary>
    public bool CrtcsHavePageFlipTarget { get; init; }
    /// <summary><c>drm_dev_has_vblank</c>: the driver called <c>drm_vblank_init</c> (<c>dev-&gt;num_crtcs</c> != 0).</summary>
    public bool HasVblank { get; init; }

    /// <summary>
    /// The answer of a KMS ioctl on a device without DRIVER_MODESET (the handlers' first check,
    /// <c>if (!drm_core_check_feature(dev, DRIVER_MODESET)) return -EOPNOTSUPP;</c>), or null when the device has
    /// modesetting and the handler goes on.
    /// </summary>
    [Kernel("drm_core_check_feature", "include/drm/drm_drv.h")]
    public static int? NoModeset(DrmDevice dev) =>
        dev.Driver.HasFeature(DrmDriverFeature.DRIVER_MODESET) ? null : -(int)Errno.EOPNOTSUPP;

    /// <summary><c>drm_mode_getresources</c>: <c>-EOPNOTSUPP</c> without modesetting; the KMS objects are not modelled.</summary>
    [Kernel("drm_mode_getresources", "drivers/gpu/drm/drm_mode_config.c")]
    public static int GetResources(DrmDevice dev, Span<byte> data, DrmFile file) =>
        NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETRESOURCES");
}
