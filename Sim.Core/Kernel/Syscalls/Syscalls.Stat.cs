// Models fs/stat.c (Linux 6.1): fstat (vfs_fstat) and stat of a path (vfs_statx).
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

    /// <summary><c>stat(path)</c>: (0, the inode's attributes) or (<c>-ENOENT</c>, default).</summary>
    [Kernel("vfs_statx", "fs/stat.c")]
    public (int Ret, StatResult Stat) Stat(Process caller, string path)
    {
        using var syscall = Enter(caller);
        var i = _vfs.Lookup(path);
        return i is null ? (-(int)Errno.ENOENT, default) : (0, new StatResult(i.Ino, i.Mode, i.Major, i.Minor, i.Size, 4096));
    }
}
