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
