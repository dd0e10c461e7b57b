// Models the descriptor syscalls of fs/file.c (Linux 6.1): dup (ksys_dup), dup2 (ksys_dup2), dup3 (ksys_dup3).
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary><c>dup(fd)</c>: the lowest free fd naming the same file, or <c>-EBADF</c>/<c>-EMFILE</c>.</summary>
    [Kernel("ksys_dup", "fs/file.c")]
    public int Dup(Process caller, int fd)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return -(int)Errno.EBADF;
        }
        int nfd = caller.Files.Install(f.Get(), false);
        if (nfd < 0)
        {
            f.Put();
        }
        return nfd;
    }

    /// <summary><c>dup2(oldfd, newfd)</c>: as dup3 without flags, except that equal fds return the fd when it is open.</summary>
    [Kernel("ksys_dup2", "fs/file.c")]
    public int Dup2(Process caller, int oldfd, int newfd)
    {
        if (oldfd == newfd)
        {
            return caller.Files.Lookup(oldfd) is null ? -(int)Errno.EBADF : newfd;
        }
        return Dup3(caller, oldfd, newfd, 0);
    }

    /// <summary>
    /// <c>dup3(oldfd, newfd, flags)</c>: flags other than O_CLOEXEC or equal fds give <c>-EINVAL</c>; a newfd beyond
    /// RLIMIT_NOFILE or a bad oldfd <c>-EBADF</c>; otherwise newfd names oldfd's file and what it named before is
    /// closed (<c>do_dup2</c>: flush, then fput).
    /// </summary>
    [Kernel("ksys_dup3", "fs/file.c")]
    public int Dup3(Process caller, int oldfd, int newfd, uint flags)
    {
        if ((flags & ~OpenFlags.O_CLOEXEC) != 0 || oldfd == newfd)
        {
            return -(int)Errno.EINVAL;
        }
        if (newfd < 0 || newfd >= caller.Files.Limit)
        {
            return -(int)Errno.EBADF;
        }
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(oldfd);
        if (f is null)
        {
            return -(int)Errno.EBADF;
        }
        var old = caller.Files.Remove(newfd);
        caller.Files.InstallAt(newfd, f.Get(), (flags & OpenFlags.O_CLOEXEC) != 0);
        if (old is not null)
        {
            FilpClose(old);
        }
        return newfd;
    }
}
