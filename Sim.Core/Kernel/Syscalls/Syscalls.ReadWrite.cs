// Models fs/read_write.c (Linux 6.1): lseek (ksys_lseek), read (ksys_read), write (ksys_write).
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary><c>lseek(fd, offset, whence)</c>: the new position or a negative errno.</summary>
    [Kernel("ksys_lseek", "fs/read_write.c")]
    public long Lseek(Process caller, int fd, long offset, int whence)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return -(long)Errno.EBADF;
        }
        if (whence < 0 || whence > 4)
        {
            return -(long)Errno.EINVAL;
        }
        return f.Ops.Llseek(f, offset, whence);
    }

    /// <summary><c>read(fd, buf, count)</c>: bytes read into <paramref name="buffer"/>, or a negative errno.</summary>
    [Kernel("ksys_read", "fs/read_write.c")]
    public long Read(Process caller, int fd, Span<byte> buffer)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null || (f.Mode & KernelFile.FMODE_READ) == 0)
        {
            return -(long)Errno.EBADF;
        }
        return f.Ops.Read(f, buffer);
    }

    /// <summary><c>write(fd, buf, count)</c>: bytes written, or a negative errno.</summary>
    [Kernel("ksys_write", "fs/read_write.c")]
    public long Write(Process caller, int fd, ReadOnlySpan<byte> buffer)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null || (f.Mode & KernelFile.FMODE_WRITE) == 0)
        {
            return -(long)Errno.EBADF;
        }
        return f.Ops.Write(f, buffer);
    }
}
