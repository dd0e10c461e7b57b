// Models fs/fcntl.c (Linux 6.1): do_fcntl for F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC and the
// seal commands that it hands to mm/memfd.c (memfd_fcntl).
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>F_ADD_SEALS (F_LINUX_SPECIFIC_BASE + 9).</summary>
    public const int F_ADD_SEALS = 1033;
    /// <summary>F_GET_SEALS (F_LINUX_SPECIFIC_BASE + 10).</summary>
    public const int F_GET_SEALS = 1034;

    /// <summary>
    /// <c>fcntl(fd, cmd, arg)</c>. The seal commands go to the machine's memfd model (<see cref="IMemfd"/>); without
    /// one, or for a file that is not a memfd, they give <c>-EINVAL</c> as <c>memfd_fcntl</c> does for a file that is
    /// not shmem. Other commands give <c>-EINVAL</c>.
    /// </summary>
    [Kernel("do_fcntl", "fs/fcntl.c")]
    public long Fcntl(Process caller, int fd, int cmd, long arg = 0)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return -(long)Errno.EBADF;
        }
        switch (cmd)
        {
            case Process.F_DUPFD:
            case Process.F_DUPFD_CLOEXEC:
                {
                    int nfd = caller.Files.Install(f.Get(), cmd == Process.F_DUPFD_CLOEXEC, (int)Math.Max(0, arg));
                    if (nfd < 0)
                    {
                        f.Put();
                    }
                    return nfd;
                }
            case Process.F_GETFD:
                return caller.Files.GetCloexec(fd) ? Process.FD_CLOEXEC : 0;
            case Process.F_SETFD:
                caller.Files.SetCloexec(fd, (arg & Process.FD_CLOEXEC) != 0);
                return 0;
            case Process.F_GETFL:
                return f.Flags;
            case Process.F_SETFL:
                {
                    const uint settable = OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | 0x2000 /* O_ASYNC */ | 0x4000 /* O_DIRECT */ | 0x40000 /* O_NOATIME */;
                    f.Flags = (uint)((f.Flags & ~settable) | ((uint)arg & settable));
                    return 0;
                }
            case F_ADD_SEALS:
            case F_GET_SEALS:
                return MemfdModel?.Fcntl(f, cmd, arg) ?? -(long)Errno.EINVAL;
            default:
                return -(long)Errno.EINVAL;
        }
    }
}
