// Models fs/open.c (Linux 6.1): openat (do_sys_openat2), close (close_fd), close_range, ftruncate (do_sys_ftruncate).
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>CLOSE_RANGE_UNSHARE (include/uapi/linux/close_range.h).</summary>
    public const uint CLOSE_RANGE_UNSHARE = 1u << 1;
    /// <summary>CLOSE_RANGE_CLOEXEC.</summary>
    public const uint CLOSE_RANGE_CLOEXEC = 1u << 2;

    /// <summary>
    /// <c>openat(AT_FDCWD, path, flags)</c>: the lowest free fd, or <c>-ENOENT</c>/<c>-ENXIO</c>/<c>-EMFILE</c>/the
    /// driver's error. On 64-bit kernels the file's flags get O_LARGEFILE (<c>force_o_largefile</c>).
    /// </summary>
    [Kernel("do_sys_openat2", "fs/open.c")]
    public int Openat(Process caller, string path, uint flags)
    {
        using var syscall = Enter(caller);
        int fd = caller.Files.NextFree();
        if (fd < 0)
        {
            return fd;
        }
        var (file, err) = _vfs.Open(path, _is32 ? flags : flags | OpenFlags.O_LARGEFILE);
        if (file is null)
        {
            return err;
        }
        return caller.Files.Install(file, (flags & OpenFlags.O_CLOEXEC) != 0);
    }

    /// <summary><c>close(fd)</c>: 0, or <c>-EBADF</c>. Calls <c>f_op-&gt;flush</c>, then drops the fd's reference.</summary>
    [Kernel("close_fd", "fs/open.c")]
    public int Close(Process caller, int fd)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Remove(fd);
        if (f is null)
        {
            return -(int)Errno.EBADF;
        }
        return FilpClose(f);
    }

    // filp_close: f_op->flush, then fput.
    [Kernel("filp_close", "fs/open.c")]
    private static int FilpClose(KernelFile f)
    {
        int r = f.Ops.Flush(f);
        f.Put();
        return r;
    }

    /// <summary>
    /// <c>close_range(fd, max_fd, flags)</c>: unknown flags or <c>fd &gt; max_fd</c> give <c>-EINVAL</c>; with
    /// CLOSE_RANGE_CLOEXEC the open fds of the range get close-on-exec, otherwise they are closed in ascending order.
    /// The fd table is never shared here, so CLOSE_RANGE_UNSHARE changes nothing.
    /// </summary>
    [Kernel("__close_range", "fs/file.c")]
    public int CloseRange(Process caller, uint fd, uint maxFd, uint flags)
    {
        if ((flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)) != 0 || fd > maxFd)
        {
            return -(int)Errno.EINVAL;
        }
        using var syscall = Enter(caller);
        foreach (int open in caller.Files.OpenFds().Where(o => (uint)o >= fd && (uint)o <= maxFd).ToArray())
        {
            if ((flags & CLOSE_RANGE_CLOEXEC) != 0)
            {
                caller.Files.SetCloexec(open, true);
            }
            else if (caller.Files.Remove(open) is { } f)
            {
                FilpClose(f);
            }
        }
        return 0;
    }

    /// <summary>
    /// <c>ftruncate(fd, length)</c>: <c>-EINVAL</c> for a negative length, <c>-EBADF</c> for a bad fd, <c>-EINVAL</c>
    /// for a file not open for writing or not a regular file (every char device and anon-inode file: a dma-buf, a
    /// sync_file); a memfd goes through shmem_setattr or hugetlbfs_setattr (<see cref="Sim.Core.Mm.Memfd.Ftruncate"/>: its seals,
    /// its page cache); another regular file takes the new size.
    /// </summary>
    [Kernel("do_sys_ftruncate", "fs/open.c")]
    public int Ftruncate(Process caller, int fd, long length)
    {
        if (length < 0)
        {
            return -(int)Errno.EINVAL;
        }
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return -(int)Errno.EBADF;
        }
        if ((f.Inode.Mode & Inode.S_IFMT) != Inode.S_IFREG || (f.Mode & KernelFile.FMODE_WRITE) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        // do_truncate -> notify_change -> the inode's setattr: a memfd's is shmem_setattr (seals, the page cache)
        if (Sim.Core.Mm.Memfd.FileOf(f) is not null)
        {
            return Sim.Core.Mm.Memfd.Ftruncate(f, length);
        }
        f.Inode.Size = length;
        return 0;
    }
}
