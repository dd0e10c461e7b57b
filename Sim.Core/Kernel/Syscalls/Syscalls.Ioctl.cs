// Models fs/ioctl.c (Linux 6.1): SYSCALL_DEFINE3(ioctl) -> do_vfs_ioctl -> vfs_ioctl.
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>FIOCLEX.</summary>
    public const uint FIOCLEX = 0x5451;
    /// <summary>FIONCLEX.</summary>
    public const uint FIONCLEX = 0x5450;

    /// <summary>
    /// <c>ioctl(fd, cmd, arg)</c>: <c>-EBADF</c> for a bad fd, then the VFS's own commands (FIOCLEX, FIONCLEX),
    /// then <c>f_op-&gt;unlocked_ioctl</c> with the user's bytes in <paramref name="arg"/> (<c>-ENOTTY</c> when the
    /// file has none). What the driver copied back is in <paramref name="arg"/>'s buffer.
    /// </summary>
    [Kernel("ksys_ioctl", "fs/ioctl.c")]
    public long Ioctl(Process caller, int fd, uint cmd, UserArg arg)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return -(long)Errno.EBADF;
        }
        switch (cmd)
        {
            case FIOCLEX:
                caller.Files.SetCloexec(fd, true);
                return 0;
            case FIONCLEX:
                caller.Files.SetCloexec(fd, false);
                return 0;
        }
        return f.Ops.UnlockedIoctl(f, cmd, arg, caller);
    }
}
