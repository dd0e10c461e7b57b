// Models the descriptor side of SCM_RIGHTS (Linux 6.1, fs/file.c): a sendmsg takes a reference of every file it
// passes (net/core/scm.c's scm_fp_copy calls fget_raw per fd; a bad fd fails the whole send with -EBADF), the files
// stay in flight with those references, and the receiver's recvmsg installs each with receive_fd_user ->
// __receive_fd (the lowest free fd by get_unused_fd_flags, close-on-exec for MSG_CMSG_CLOEXEC, fd_install of a new
// reference); the in-flight references are dropped afterwards (__scm_destroy's fput). The socket itself is not
// modelled: whoever holds the in-flight files (the replay of a version 2 trace) pairs sends and receives.
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// The files of <paramref name="fds"/> with one reference each, for a send with SCM_RIGHTS, or <c>-EBADF</c> (no
    /// reference kept) when one of them is not open: <c>fget_raw</c> per fd, as <c>scm_fp_copy</c> does.
    /// </summary>
    [Kernel("fget_raw", "fs/file.c")]
    public (int Err, KernelFile[] Files) FgetRaw(Process caller, IReadOnlyList<int> fds)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(fds);
        using var syscall = Enter(caller);
        var files = new KernelFile[fds.Count];
        for (int k = 0; k < fds.Count; k++)
        {
            if (caller.Files.Lookup(fds[k]) is not { } f)
            {
                for (int j = 0; j < k; j++)
                {
                    files[j].Put();
                }
                return (-(int)Errno.EBADF, []);
            }
            files[k] = f.Get();
        }
        return (0, files);
    }

    /// <summary>
    /// <c>__receive_fd(file, NULL, o_flags)</c>: installs a new reference of <paramref name="file"/> at the lowest
    /// free fd of <paramref name="caller"/> (close-on-exec when <paramref name="cloexec"/>, MSG_CMSG_CLOEXEC) and
    /// returns it, or <c>-EMFILE</c>. The caller's own (in-flight) reference is untouched.
    /// </summary>
    [Kernel("__receive_fd", "fs/file.c")]
    public int ReceiveFd(Process caller, KernelFile file, bool cloexec)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(file);
        using var syscall = Enter(caller);
        int fd = caller.Files.Install(file.Get(), cloexec);
        if (fd < 0)
        {
            file.Put();
        }
        return fd;
    }
}
