// Models include/uapi/drm/drm_mode.h (Linux 6.1): the dumb-buffer structs, in C spelling.
using System.Runtime.InteropServices;

namespace Sim.Drm.Uapi;

/// <summary><c>struct drm_mode_create_dumb</c> (32 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_mode_create_dumb
{
    /// <summary>Height in pixels.</summary>
    public uint height;
    /// <summary>Width in pixels.</summary>
    public uint width;
    /// <summary>Bits per pixel.</summary>
    public uint bpp;
    /// <summary>Flags (never checked).</summary>
    public uint flags;
    /// <summary>Returned handle.</summary>
    public uint handle;
    /// <summary>Returned pitch.</summary>
    public uint pitch;
    /// <summary>Returned size.</summary>
    public ulong size;
}

/// <summary><c>struct drm_mode_map_dumb</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_mode_map_dumb
{
    /// <summary>Handle for the object being mapped.</summary>
    public uint handle;
    /// <summary>Padding (ignored).</summary>
    public uint pad;
    /// <summary>Returned fake mmap offset.</summary>
    public ulong offset;
}

/// <summary><c>struct drm_mode_destroy_dumb</c> (4 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_mode_destroy_dumb
{
    /// <summary>Dumb buffer handle.</summary>
    public uint handle;
}
