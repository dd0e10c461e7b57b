// Models kernel/kcmp.c (Linux 6.1): kcmp(pid, pid, KCMP_FILE, fd1, fd2) within the caller.
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// <c>kcmp(pid, pid, KCMP_FILE, fd1, fd2)</c>: 0 when both fds name the same <c>struct file</c>, else 1 or 2
    /// by the order of the two files (the kernel orders by obfuscated pointer); <c>-EBADF</c> for a bad fd.
    /// </summary>
    [Kernel("kcmp", "kernel/kcmp.c")]
    public int KcmpFile(Process caller, int fd1, int fd2)
    {
        using var syscall = Enter(caller);
        var a = caller.Files.Lookup(fd1);
        var b = caller.Files.Lookup(fd2);
        if (a is null || b is null)
        {
            return -(int)Errno.EBADF;
        }
        return ReferenceEquals(a, b) ? 0 : a.Order < b.Order ? 2 : 1;
    }
}
