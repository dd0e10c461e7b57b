// Models include/uapi/drm/vgem_drm.h (Linux 6.1), in C spelling.
using System.Runtime.InteropServices;

namespace Sim.Drm.Uapi;

/// <summary><c>struct drm_vgem_fence_attach</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_vgem_fence_attach
{
    /// <summary>GEM handle.</summary>
    public uint handle;
    /// <summary>VGEM_FENCE_WRITE or 0.</summary>
    public uint flags;
    /// <summary>Returned fence id.</summary>
    public uint out_fence;
    /// <summary>Must be 0.</summary>
    public uint pad;
}

/// <summary><c>struct drm_vgem_fence_signal</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_vgem_fence_signal
{
    /// <summary>Fence id.</summary>
    public uint fence;
    /// <summary>Must be 0.</summary>
    public uint flags;
}

/// <summary>Constants of vgem_drm.h.</summary>
public static class VgemDrmH
{
    /// <summary>DRM_VGEM_FENCE_ATTACH.</summary>
    public const uint DRM_VGEM_FENCE_ATTACH = 0x1;
    /// <summary>DRM_VGEM_FENCE_SIGNAL.</summary>
    public const uint DRM_VGEM_FENCE_SIGNAL = 0x2;
    /// <summary>VGEM_FENCE_WRITE.</summary>
    public const uint VGEM_FENCE_WRITE = 0x1;
    /// <summary>DRM_IOCTL_VGEM_FENCE_ATTACH.</summary>
    public static readonly uint DRM_IOCTL_VGEM_FENCE_ATTACH = Ioctl._IOWR(DrmH.DRM_IOCTL_BASE, DrmH.DRM_COMMAND_BASE + DRM_VGEM_FENCE_ATTACH, 16);
    /// <summary>DRM_IOCTL_VGEM_FENCE_SIGNAL.</summary>
    public static readonly uint DRM_IOCTL_VGEM_FENCE_SIGNAL = Ioctl._IOW(DrmH.DRM_IOCTL_BASE, DrmH.DRM_COMMAND_BASE + DRM_VGEM_FENCE_SIGNAL, 8);
}
