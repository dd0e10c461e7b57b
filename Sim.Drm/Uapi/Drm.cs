// Models include/uapi/drm/drm.h and include/uapi/asm-generic/ioctl.h (Linux 6.1): the core DRM uAPI structs and
// ioctl numbers, in C spelling.
using System.Runtime.InteropServices;

namespace Sim.Drm.Uapi;

/// <summary>The _IOC encoding of include/uapi/asm-generic/ioctl.h (x86 and ARM agree).</summary>
public static class Ioctl
{
    /// <summary>_IOC_WRITE (user to kernel: IOC_IN).</summary>
    public const uint IOC_IN = 1u << 30;
    /// <summary>_IOC_READ (kernel to user: IOC_OUT).</summary>
    public const uint IOC_OUT = 2u << 30;
    /// <summary>_IOC(dir, type, nr, size).</summary>
    public static uint _IOC(uint dir, uint type, uint nr, uint size) => (dir << 30) | (size << 16) | (type << 8) | nr;
    /// <summary>_IO(type, nr).</summary>
    public static uint _IO(uint type, uint nr) => _IOC(0, type, nr, 0);
    /// <summary>_IOW(type, nr, size).</summary>
    public static uint _IOW(uint type, uint nr, int size) => _IOC(1, type, nr, (uint)size);
    /// <summary>_IOR(type, nr, size).</summary>
    public static uint _IOR(uint type, uint nr, int size) => _IOC(2, type, nr, (uint)size);
    /// <summary>_IOWR(type, nr, size).</summary>
    public static uint _IOWR(uint type, uint nr, int size) => _IOC(3, type, nr, (uint)size);
    /// <summary>_IOC_NR.</summary>
    public static uint _IOC_NR(uint cmd) => cmd & 0xff;
    /// <summary>_IOC_TYPE.</summary>
    public static uint _IOC_TYPE(uint cmd) => (cmd >> 8) & 0xff;
    /// <summary>_IOC_SIZE.</summary>
    public static uint _IOC_SIZE(uint cmd) => (cmd >> 16) & 0x3fff;
    /// <summary>_IOC_DIR.</summary>
    public static uint _IOC_DIR(uint cmd) => cmd >> 30;
}

/// <summary><c>struct drm_version</c> on a 64-bit kernel (size_t and pointers of 8 bytes; 64 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_version
{
    /// <summary>Major version.</summary>
    public int version_major;
    /// <summary>Minor version.</summary>
    public int version_minor;
    /// <summary>Patch level.</summary>
    public int version_patchlevel;
    private readonly int _pad;
    /// <summary>Length of name buffer.</summary>
    public ulong name_len;
    /// <summary>Name of driver (user pointer).</summary>
    public ulong name;
    /// <summary>Length of date buffer.</summary>
    public ulong date_len;
    /// <summary>User-space buffer to hold date.</summary>
    public ulong date;
    /// <summary>Length of desc buffer.</summary>
    public ulong desc_len;
    /// <summary>User-space buffer to hold desc.</summary>
    public ulong desc;
}

/// <summary><c>struct drm_version</c> on a 32-bit kernel (36 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_version32
{
    /// <summary>Major version.</summary>
    public int version_major;
    /// <summary>Minor version.</summary>
    public int version_minor;
    /// <summary>Patch level.</summary>
    public int version_patchlevel;
    /// <summary>Length of name buffer.</summary>
    public uint name_len;
    /// <summary>Name of driver (user pointer).</summary>
    public uint name;
    /// <summary>Length of date buffer.</summary>
    public uint date_len;
    /// <summary>User-space buffer to hold date.</summary>
    public uint date;
    /// <summary>Length of desc buffer.</summary>
    public uint desc_len;
    /// <summary>User-space buffer to hold desc.</summary>
    public uint desc;
}

/// <summary><c>struct drm_gem_close</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_gem_close
{
    /// <summary>Handle of the object to be closed.</summary>
    public uint handle;
    /// <summary>Padding (ignored).</summary>
    public uint pad;
}

/// <summary><c>struct drm_gem_flink</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_gem_flink
{
    /// <summary>Handle for the object being named.</summary>
    public uint handle;
    /// <summary>Returned global name.</summary>
    public uint name;
}

/// <summary><c>struct drm_gem_open</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_gem_open
{
    /// <summary>Name of object being opened.</summary>
    public uint name;
    /// <summary>Returned handle for the object.</summary>
    public uint handle;
    /// <summary>Returned size of the object.</summary>
    public ulong size;
}

/// <summary><c>struct drm_prime_handle</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_prime_handle
{
    /// <summary>GEM handle.</summary>
    public uint handle;
    /// <summary>Flags: DRM_CLOEXEC, DRM_RDWR (handle-to-fd only).</summary>
    public uint flags;
    /// <summary>Returned dma-buf file descriptor.</summary>
    public int fd;
}

/// <summary><c>struct drm_unique</c> on a 64-bit kernel (16 bytes): <c>__kernel_size_t unique_len; char __user *unique</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_unique
{
    /// <summary>Length of unique.</summary>
    public ulong unique_len;
    /// <summary>Unique name for driver instantiation (user pointer).</summary>
    public ulong unique;
}

/// <summary><c>struct drm_unique</c> on a 32-bit kernel (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_unique32
{
    /// <summary>Length of unique.</summary>
    public uint unique_len;
    /// <summary>Unique name for driver instantiation (user pointer).</summary>
    public uint unique;
}

/// <summary><c>struct drm_auth</c> (4 bytes): GET_MAGIC / AUTH_MAGIC.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_auth
{
    /// <summary><c>drm_magic_t magic</c>.</summary>
    public uint magic;
}

/// <summary><c>struct drm_client</c> on a 64-bit kernel (40 bytes; the four counters are <c>unsigned long</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_client
{
    /// <summary>Which client desired.</summary>
    public int idx;
    /// <summary>Is client authenticated.</summary>
    public int auth;
    /// <summary>Process ID.</summary>
    public ulong pid;
    /// <summary>User ID.</summary>
    public ulong uid;
    /// <summary>Magic.</summary>
    public ulong magic;
    /// <summary>Ioctl count.</summary>
    public ulong iocs;
}

/// <summary><c>struct drm_client</c> on a 32-bit kernel (24 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_client32
{
    /// <summary>Which client desired.</summary>
    public int idx;
    /// <summary>Is client authenticated.</summary>
    public int auth;
    /// <summary>Process ID.</summary>
    public uint pid;
    /// <summary>User ID.</summary>
    public uint uid;
    /// <summary>Magic.</summary>
    public uint magic;
    /// <summary>Ioctl count.</summary>
    public uint iocs;
}

/// <summary><c>struct drm_set_version</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_set_version
{
    /// <summary>DRM interface major (-1: no request).</summary>
    public int drm_di_major;
    /// <summary>DRM interface minor.</summary>
    public int drm_di_minor;
    /// <summary>Driver major (-1: no request).</summary>
    public int drm_dd_major;
    /// <summary>Driver minor.</summary>
    public int drm_dd_minor;
}

/// <summary><c>struct drm_get_cap</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_get_cap
{
    /// <summary>DRM_CAP_*.</summary>
    public ulong capability;
    /// <summary>Returned value.</summary>
    public ulong value;
}

/// <summary><c>struct drm_set_client_cap</c> (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct drm_set_client_cap
{
    /// <summary>DRM_CLIENT_CAP_*.</summary>
    public ulong capability;
    /// <summary>Requested value.</summary>
    public ulong value;
}

/// <summary>Constants and ioctl numbers of drm.h.</summary>
public static class DrmH
{
    /// <summary>DRM_IOCTL_BASE ('d').</summary>
    public const uint DRM_IOCTL_BASE = 0x64;
    /// <summary>DRM_COMMAND_BASE.</summary>
    public const uint DRM_COMMAND_BASE = 0x40;
    /// <summary>DRM_COMMAND_END.</summary>
    public const uint DRM_COMMAND_END = 0xA0;
    /// <summary>DRM_CLOEXEC (= O_CLOEXEC).</summary>
    public const uint DRM_CLOEXEC = 0x80000;
    /// <summary>DRM_RDWR (= O_RDWR).</summary>
    public const uint DRM_RDWR = 2;
    /// <summary>DRM_MAJOR (char major of /dev/dri/*).</summary>
    public const int DRM_MAJOR = 226;

    /// <summary>DRM_CAP_DUMB_BUFFER.</summary>
    public const ulong DRM_CAP_DUMB_BUFFER = 0x1;
    /// <summary>DRM_CAP_VBLANK_HIGH_CRTC.</summary>
    public const ulong DRM_CAP_VBLANK_HIGH_CRTC = 0x2;
    /// <summary>DRM_CAP_DUMB_PREFERRED_DEPTH.</summary>
    public const ulong DRM_CAP_DUMB_PREFERRED_DEPTH = 0x3;
    /// <summary>DRM_CAP_DUMB_PREFER_SHADOW.</summary>
    public const ulong DRM_CAP_DUMB_PREFER_SHADOW = 0x4;
    /// <summary>DRM_CAP_PRIME.</summary>
    public const ulong DRM_CAP_PRIME = 0x5;
    /// <summary>DRM_PRIME_CAP_IMPORT.</summary>
    public const ulong DRM_PRIME_CAP_IMPORT = 0x1;
    /// <summary>DRM_PRIME_CAP_EXPORT.</summary>
    public const ulong DRM_PRIME_CAP_EXPORT = 0x2;
    /// <summary>DRM_CAP_TIMESTAMP_MONOTONIC.</summary>
    public const ulong DRM_CAP_TIMESTAMP_MONOTONIC = 0x6;
    /// <summary>DRM_CAP_ASYNC_PAGE_FLIP.</summary>
    public const ulong DRM_CAP_ASYNC_PAGE_FLIP = 0x7;
    /// <summary>DRM_CAP_CURSOR_WIDTH.</summary>
    public const ulong DRM_CAP_CURSOR_WIDTH = 0x8;
    /// <summary>DRM_CAP_CURSOR_HEIGHT.</summary>
    public const ulong DRM_CAP_CURSOR_HEIGHT = 0x9;
    /// <summary>DRM_CAP_ADDFB2_MODIFIERS.</summary>
    public const ulong DRM_CAP_ADDFB2_MODIFIERS = 0x10;
    /// <summary>DRM_CAP_PAGE_FLIP_TARGET.</summary>
    public const ulong DRM_CAP_PAGE_FLIP_TARGET = 0x11;
    /// <summary>DRM_CAP_CRTC_IN_VBLANK_EVENT.</summary>
    public const ulong DRM_CAP_CRTC_IN_VBLANK_EVENT = 0x12;
    /// <summary>DRM_CAP_SYNCOBJ.</summary>
    public const ulong DRM_CAP_SYNCOBJ = 0x13;
    /// <summary>DRM_CAP_SYNCOBJ_TIMELINE.</summary>
    public const ulong DRM_CAP_SYNCOBJ_TIMELINE = 0x14;

    /// <summary>DRM_CLIENT_CAP_STEREO_3D.</summary>
    public const ulong DRM_CLIENT_CAP_STEREO_3D = 1;
    /// <summary>DRM_CLIENT_CAP_UNIVERSAL_PLANES.</summary>
    public const ulong DRM_CLIENT_CAP_UNIVERSAL_PLANES = 2;
    /// <summary>DRM_CLIENT_CAP_ATOMIC.</summary>
    public const ulong DRM_CLIENT_CAP_ATOMIC = 3;
    /// <summary>DRM_CLIENT_CAP_ASPECT_RATIO.</summary>
    public const ulong DRM_CLIENT_CAP_ASPECT_RATIO = 4;
    /// <summary>DRM_CLIENT_CAP_WRITEBACK_CONNECTORS.</summary>
    public const ulong DRM_CLIENT_CAP_WRITEBACK_CONNECTORS = 5;

    /// <summary>DRM_IOCTL_GET_UNIQUE (struct drm_unique: 16 bytes, 8 on a 32-bit kernel).</summary>
    public static uint DRM_IOCTL_GET_UNIQUE(bool is32) => Ioctl._IOWR(DRM_IOCTL_BASE, 0x01, is32 ? 8 : 16);
    /// <summary>DRM_IOCTL_GET_MAGIC.</summary>
    public static readonly uint DRM_IOCTL_GET_MAGIC = Ioctl._IOR(DRM_IOCTL_BASE, 0x02, 4);
    /// <summary>DRM_IOCTL_GET_CLIENT (struct drm_client: 40 bytes, 24 on a 32-bit kernel).</summary>
    public static uint DRM_IOCTL_GET_CLIENT(bool is32) => Ioctl._IOWR(DRM_IOCTL_BASE, 0x05, is32 ? 24 : 40);
    /// <summary>DRM_IOCTL_GET_STATS (struct drm_stats: 248 bytes, 124 on a 32-bit kernel).</summary>
    public static uint DRM_IOCTL_GET_STATS(bool is32) => Ioctl._IOR(DRM_IOCTL_BASE, 0x06, is32 ? 124 : 248);
    /// <summary>DRM_IOCTL_SET_VERSION.</summary>
    public static readonly uint DRM_IOCTL_SET_VERSION = Ioctl._IOWR(DRM_IOCTL_BASE, 0x07, 16);
    /// <summary>DRM_IOCTL_GET_CAP.</summary>
    public static readonly uint DRM_IOCTL_GET_CAP = Ioctl._IOWR(DRM_IOCTL_BASE, 0x0c, 16);
    /// <summary>DRM_IOCTL_SET_CLIENT_CAP.</summary>
    public static readonly uint DRM_IOCTL_SET_CLIENT_CAP = Ioctl._IOW(DRM_IOCTL_BASE, 0x0d, 16);
    /// <summary>DRM_IOCTL_AUTH_MAGIC.</summary>
    public static readonly uint DRM_IOCTL_AUTH_MAGIC = Ioctl._IOW(DRM_IOCTL_BASE, 0x11, 4);
    /// <summary>DRM_IOCTL_SET_MASTER.</summary>
    public static readonly uint DRM_IOCTL_SET_MASTER = Ioctl._IO(DRM_IOCTL_BASE, 0x1e);
    /// <summary>DRM_IOCTL_DROP_MASTER.</summary>
    public static readonly uint DRM_IOCTL_DROP_MASTER = Ioctl._IO(DRM_IOCTL_BASE, 0x1f);

    /// <summary>DRM_IOCTL_VERSION.</summary>
    public static uint DRM_IOCTL_VERSION(bool is32) => Ioctl._IOWR(DRM_IOCTL_BASE, 0x00, is32 ? 36 : 64);
    /// <summary>DRM_IOCTL_GEM_CLOSE.</summary>
    public static readonly uint DRM_IOCTL_GEM_CLOSE = Ioctl._IOW(DRM_IOCTL_BASE, 0x09, 8);
    /// <summary>DRM_IOCTL_GEM_FLINK.</summary>
    public static readonly uint DRM_IOCTL_GEM_FLINK = Ioctl._IOWR(DRM_IOCTL_BASE, 0x0a, 8);
    /// <summary>DRM_IOCTL_GEM_OPEN.</summary>
    public static readonly uint DRM_IOCTL_GEM_OPEN = Ioctl._IOWR(DRM_IOCTL_BASE, 0x0b, 16);
    /// <summary>DRM_IOCTL_PRIME_HANDLE_TO_FD.</summary>
    public static readonly uint DRM_IOCTL_PRIME_HANDLE_TO_FD = Ioctl._IOWR(DRM_IOCTL_BASE, 0x2d, 12);
    /// <summary>DRM_IOCTL_PRIME_FD_TO_HANDLE.</summary>
    public static readonly uint DRM_IOCTL_PRIME_FD_TO_HANDLE = Ioctl._IOWR(DRM_IOCTL_BASE, 0x2e, 12);
    /// <summary>DRM_IOCTL_MODE_CREATE_DUMB.</summary>
    public static readonly uint DRM_IOCTL_MODE_CREATE_DUMB = Ioctl._IOWR(DRM_IOCTL_BASE, 0xB2, 32);
    /// <summary>DRM_IOCTL_MODE_MAP_DUMB.</summary>
    public static readonly uint DRM_IOCTL_MODE_MAP_DUMB = Ioctl._IOWR(DRM_IOCTL_BASE, 0xB3, 16);
    /// <summary>DRM_IOCTL_MODE_DESTROY_DUMB.</summary>
    public static readonly uint DRM_IOCTL_MODE_DESTROY_DUMB = Ioctl._IOWR(DRM_IOCTL_BASE, 0xB4, 4);
}
