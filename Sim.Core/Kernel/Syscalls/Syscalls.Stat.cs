// Models fs/stat.c (Linux 6.1): fstat (vfs_fstat), stat and lstat of a path (vfs_statx), readlink
// (do_readlinkat), and fs/readdir.c's getdents64 over the node tree and sysfs.
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary><c>fstat(fd)</c>: (0, the inode's attributes) or (<c>-EBADF</c>, default).</summary>
    [Kernel("vfs_fstat", "fs/stat.c")]
    public (int Ret, StatResult Stat) Fstat(Process caller, int fd)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return (-(int)Errno.EBADF, default);
        }
        var i = f.Inode;
        return (0, new StatResult(i.Ino, i.Mode, i.Major, i.Minor, i.Size, 4096));
    }

    /// <summary>
    /// <c>stat(path)</c>: (0, the inode's attributes) or (<c>-ENOENT</c>, default). Device nodes, the directories
    /// of the node tree (/dev, /dev/dri) and sysfs entries (symlinks followed) are found.
    /// </summary>
    [Kernel("vfs_statx", "fs/stat.c")]
    public (int Ret, StatResult Stat) Stat(Process caller, string path) => StatAt(caller, path, follow: true);

    /// <summary><c>lstat(path)</c>: as <see cref="Stat"/>, but a final symlink is reported itself (S_IFLNK | 0777).</summary>
    [Kernel("vfs_statx", "fs/stat.c")]
    public (int Ret, StatResult Stat) Lstat(Process caller, string path) => StatAt(caller, path, follow: false);

    private (int Ret, StatResult Stat) StatAt(Process caller, string path, bool follow)
    {
        using var syscall = Enter(caller);
        var (ret, i) = _vfs.StatPath(path, follow);
        return i is null ? (ret, default) : (0, new StatResult(i.Ino, i.Mode, i.Major, i.Minor, i.Size, 4096));
    }

    /// <summary>
    /// <c>readlink(path)</c>: (0, the target) for a symlink, <c>-EINVAL</c> for anything else, <c>-ENOENT</c> for
    /// no such path. Only sysfs has symlinks here.
    /// </summary>
    [Kernel("do_readlinkat", "fs/stat.c")]
    public (int Ret, string? Target) Readlink(Process caller, string path)
    {
        using var syscall = Enter(caller);
        if (_vfs.Sysfs is { } sysfs && Sysfs.Covers(path))
        {
            return sysfs.Readlink(path);
        }
        return _vfs.StatPath(path).Ret == 0 ? (-(int)Errno.EINVAL, null) : (-(int)Errno.ENOENT, null);
    }

    /// <summary>
    /// libc's <c>realpath(path)</c> over readlink: the canonical path (sysfs links resolved) or a negative errno.
    /// </summary>
    public (int Ret, string? Path) Realpath(Process caller, string path)
    {
        using var syscall = Enter(caller);
        if (_vfs.Sysfs is { } sysfs && Sysfs.Covers(path))
        {
            return sysfs.Realpath(path);
        }
        return _vfs.StatPath(path).Ret is var r and < 0 ? (r, null) : (0, path);
    }

    /// <summary>
    /// <c>getdents64</c> of the directory at <paramref name="path"/> (opendir + readdir): its entries sorted by
    /// name, without "." and "..", or a negative errno (<c>-ENOENT</c>, <c>-ENOTDIR</c>).
    /// </summary>
    [Kernel("getdents64", "fs/readdir.c")]
    public (int Ret, IReadOnlyList<Fs.DirEntry>? Entries) ReadDir(Process caller, string path)
    {
        using var syscall = Enter(caller);
        return _vfs.ReadDir(path);
    }

    /// <summary>The content of a sysfs attribute (<c>cat /sys/...</c>): (0, bytes) or a negative errno.</summary>
    [Kernel("sysfs_kf_read", "fs/sysfs/file.c")]
    public (int Ret, byte[]? Data) ReadSysfs(Process caller, string path)
    {
        using var syscall = Enter(caller);
        return _vfs.Sysfs is { } sysfs ? sysfs.Read(path) : (-(int)Errno.ENOENT, null);
    }

    /// <summary>The device nodes of the machine (path, major, minor, mode), sorted by path: what /dev holds.</summary>
    public IReadOnlyList<Fs.Vfs.DevNode> DeviceNodes => _vfs.DeviceNodes();
}
