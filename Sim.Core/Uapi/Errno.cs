// Models include/uapi/asm-generic/errno-base.h and errno.h (Linux 6.1).
namespace Sim.Core.Uapi;

/// <summary>Linux error numbers, spelled as in the kernel's uapi headers.</summary>
public enum Errno
{
    /// <summary>Success (not an errno).</summary>
    OK = 0,
    /// <summary>Operation not permitted.</summary>
    EPERM = 1,
    /// <summary>No such file or directory.</summary>
    ENOENT = 2,
    /// <summary>No such process.</summary>
    ESRCH = 3,
    /// <summary>Interrupted system call.</summary>
    EINTR = 4,
    /// <summary>I/O error.</summary>
    EIO = 5,
    /// <summary>No such device or address.</summary>
    ENXIO = 6,
    /// <summary>Argument list too long.</summary>
    E2BIG = 7,
    /// <summary>Exec format error.</summary>
    ENOEXEC = 8,
    /// <summary>Bad file number.</summary>
    EBADF = 9,
    /// <summary>No child processes.</summary>
    ECHILD = 10,
    /// <summary>Try again.</summary>
    EAGAIN = 11,
    /// <summary>Out of memory.</summary>
    ENOMEM = 12,
    /// <summary>Permission denied.</summary>
    EACCES = 13,
    /// <summary>Bad address.</summary>
    EFAULT = 14,
    /// <summary>Device or resource busy.</summary>
    EBUSY = 16,
    /// <summary>File exists.</summary>
    EEXIST = 17,
    /// <summary>Cross-device link.</summary>
    EXDEV = 18,
    /// <summary>No such device.</summary>
    ENODEV = 19,
    /// <summary>Not a directory.</summary>
    ENOTDIR = 20,
    /// <summary>Is a directory.</summary>
    EISDIR = 21,
    /// <summary>Invalid argument.</summary>
    EINVAL = 22,
    /// <summary>File table overflow.</summary>
    ENFILE = 23,
    /// <summary>Too many open files.</summary>
    EMFILE = 24,
    /// <summary>Not a typewriter (inappropriate ioctl for device).</summary>
    ENOTTY = 25,
    /// <summary>File too large.</summary>
    EFBIG = 27,
    /// <summary>No space left on device.</summary>
    ENOSPC = 28,
    /// <summary>Illegal seek.</summary>
    ESPIPE = 29,
    /// <summary>Read-only file system.</summary>
    EROFS = 30,
    /// <summary>Broken pipe.</summary>
    EPIPE = 32,
    /// <summary>Timer expired (dma_fence_wait on a fence with a timeout error, sync_file).</summary>
    ETIME = 62,
    /// <summary>Math result not representable.</summary>
    ERANGE = 34,
    /// <summary>Resource deadlock would occur.</summary>
    EDEADLK = 35,
    /// <summary>File name too long.</summary>
    ENAMETOOLONG = 36,
    /// <summary>Function not implemented.</summary>
    ENOSYS = 38,
    /// <summary>Too many symbolic links encountered.</summary>
    ELOOP = 40,
    /// <summary>Value too large for defined data type.</summary>
    EOVERFLOW = 75,
    /// <summary>File descriptor in bad state.</summary>
    EBADFD = 77,
    /// <summary>Operation not supported.</summary>
    EOPNOTSUPP = 95,
    /// <summary>Connection timed out.</summary>
    ETIMEDOUT = 110,
    /// <summary>Operation already in progress.</summary>
    EALREADY = 114,
    /// <summary>Key was rejected by service (module signature).</summary>
    EKEYREJECTED = 129,
    /// <summary>Kernel-internal: restart the syscall after a signal (include/linux/errno.h).</summary>
    ERESTARTSYS = 512,
}

/// <summary>Helpers for errno values as the syscall boundary returns them (negative numbers).</summary>
public static class ErrnoNames
{
    /// <summary>The errno name of a negative return (<c>-22</c> gives <c>EINVAL</c>), or null.</summary>
    public static string? NameOf(long ret) =>
        ret < 0 && ret >= -4095 && Enum.IsDefined(typeof(Errno), (int)-ret) ? ((Errno)(int)-ret).ToString() : null;

    /// <summary>Prints a return value the way a person reads it: <c>-ETIMEDOUT</c> for -110, the number otherwise.</summary>
    public static string Format(long ret) => NameOf(ret) is { } n ? "-" + n : ret.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Parses an errno name (<c>EINVAL</c>) into its positive number.</summary>
    public static bool TryParse(string name, out int errno)
    {
        if (Enum.TryParse<Errno>(name, ignoreCase: false, out var e) && e != Errno.OK)
        {
            errno = (int)e;
            return true;
        }
        errno = 0;
        return false;
    }
}
