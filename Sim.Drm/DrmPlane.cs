// Models drivers/gpu/drm/drm_plane.c (Linux 6.1): the plane, cursor and page-flip ioctls up to their first object
// lookup. Planes and CRTCs are not modelled: on a KMS device the call is counted as unmodelled.
using System.Buffers.Binary;
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>The plane ioctls.</summary>
[Kernel("drm_plane", "drivers/gpu/drm/drm_plane.c")]
public static class DrmPlane
{
    /// <summary>DRM_MODE_CURSOR_FLAGS (BO | MOVE).</summary>
    public const uint DRM_MODE_CURSOR_FLAGS = 0x03;
    /// <summary>DRM_MODE_PAGE_FLIP_ASYNC.</summary>
    public const uint DRM_MODE_PAGE_FLIP_ASYNC = 0x02;
    /// <summary>DRM_MODE_PAGE_FLIP_TARGET (ABSOLUTE | RELATIVE).</summary>
    public const uint DRM_MODE_PAGE_FLIP_TARGET = 0x0c;
    /// <summary>DRM_MODE_PAGE_FLIP_FLAGS (EVENT | ASYNC | TARGET).</summary>
    public const uint DRM_MODE_PAGE_FLIP_FLAGS = 0x0f;

    /// <summary><c>drm_mode_getplane_res</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getplane_res", "drivers/gpu/drm/drm_plane.c")]
    public static int GetPlaneRes(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETPLANERESOURCES");

    /// <summary><c>drm_mode_getplane</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_getplane", "drivers/gpu/drm/drm_plane.c")]
    public static int GetPlane(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_GETPLANE");

    /// <summary><c>drm_mode_setplane</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET.</summary>
    [Kernel("drm_mode_setplane", "drivers/gpu/drm/drm_plane.c")]
    public static int SetPlane(DrmDevice dev, Span<byte> data, DrmFile file) =>
        DrmModeConfig.NoModeset(dev) ?? dev.Unmodelled("DRM_IOCTL_MODE_SETPLANE");

    /// <summary>
    /// <c>drm_mode_cursor_common</c>: <c>-EOPNOTSUPP</c> without DRIVER_MODESET; no flags or an unknown flag is
    /// <c>-EINVAL</c> (flags are the struct's first u32).
    /// </summary>
    [Kernel("drm_mode_cursor_common", "drivers/gpu/drm/drm_plane.c")]
    public static int CursorCommon(DrmDevice dev, Span<byte> data, DrmFile file, string name)
    {
        if (DrmModeConfig.NoModeset(dev) is int e)
        {
            return e;
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (flags == 0 || (~DRM_MODE_CURSOR_FLAGS & flags) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        return dev.Unmodelled(name);
    }

    /// <summary><c>drm_mode_cursor_ioctl</c>.</summary>
    [Kernel("drm_mode_cursor_ioctl", "drivers/gpu/drm/drm_plane.c")]
    public static int CursorIoctl(DrmDevice dev, Span<byte> data, DrmFile file) => CursorCommon(dev, data, file, "DRM_IOCTL_MODE_CURSOR");

    /// <summary><c>drm_mode_cursor2_ioctl</c>.</summary>
    [Kernel("drm_mode_cursor2_ioctl", "drivers/gpu/drm/drm_plane.c")]
    public static int Cursor2Ioctl(DrmDevice dev, Span<byte> data, DrmFile file) => CursorCommon(dev, data, file, "DRM_IOCTL_MODE_CURSOR2");

    /// <summary>
    /// <c>drm_mode_page_flip_ioctl</c> (DRM_MASTER): <c>-EOPNOTSUPP</c> without DRIVER_MODESET; then
    /// <c>-EINVAL</c> for unknown flags, a sequence without a TARGET flag, both TARGET flags, or ASYNC on a device
    /// without <c>async_page_flip</c> (struct drm_mode_crtc_page_flip_target: flags at 8, sequence at 12).
    /// </summary>
    [Kernel("drm_mode_page_flip_ioctl", "drivers/gpu/drm/drm_plane.c")]
    public static int PageFlipIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        if (DrmModeConfig.NoModeset(dev) is int e)
        {
            return e;
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]), sequence = BinaryPrimitives.ReadUInt32LittleEndian(data[12..]);
        if ((flags & ~DRM_MODE_PAGE_FLIP_FLAGS) != 0
            || (sequence != 0 && (flags & DRM_MODE_PAGE_FLIP_TARGET) == 0)
            || (flags & DRM_MODE_PAGE_FLIP_TARGET) == DRM_MODE_PAGE_FLIP_TARGET
            || ((flags & DRM_MODE_PAGE_FLIP_ASYNC) != 0 && !dev.ModeConfig.AsyncPageFlip))
        {
            return -(int)Errno.EINVAL;
        }
        return dev.Unmodelled("DRM_IOCTL_MODE_PAGE_FLIP");
    }
}
