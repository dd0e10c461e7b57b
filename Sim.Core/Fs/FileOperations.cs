// Models struct file_operations (include/linux/fs.h): the vtable of an open file, with the kernel's
// behaviour where a member is NULL.
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.Core.Fs;

/// <summary>
/// <c>struct file_operations</c>. Each member is named after its C member; the default implementation is what
/// the VFS does when that member is NULL (<c>ioctl</c>: <c>-ENOTTY</c>; <c>mmap</c>: <c>-ENODEV</c>; <c>read</c>/
/// <c>write</c>: <c>-EINVAL</c>; <c>llseek</c>: <c>-ESPIPE</c> for no_llseek-like files; <c>poll</c>: always ready).
/// </summary>
[Kernel("struct file_operations", "include/linux/fs.h")]
public interface IFileOperations
{
    /// <summary>Owner module name (<c>.owner</c>), for module reference counts; null = built in.</summary>
    string? Owner => null;

    /// <summary><c>.open</c>: called by open(2) after the file is set up; a negative errno fails the open.</summary>
    int Open(Inode inode, KernelFile file) => 0;

    /// <summary><c>.release</c>: the last reference to the file is gone.</summary>
    void Release(Inode inode, KernelFile file) { }

    /// <summary><c>.unlocked_ioctl</c>.</summary>
    long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg) => -(long)Errno.ENOTTY;

    /// <summary>
    /// <c>.unlocked_ioctl</c> made by <paramref name="current"/> (the kernel's <c>current</c>: ioctls that install
    /// or look up fds, such as <c>dma_buf_fd</c> or <c>sync_file_get_fence</c>, use its descriptor table).
    /// The syscall calls this one; by default it forwards to the overload without the process.
    /// </summary>
    long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Kernel.Process current) => UnlockedIoctl(file, cmd, arg);

    /// <summary><c>.mmap</c>: sets up <paramref name="vma"/> (its fault handler, flags) or fails.</summary>
    int Mmap(KernelFile file, Vma vma) => -(int)Errno.ENODEV;

    /// <summary><c>.llseek</c>.</summary>
    long Llseek(KernelFile file, long offset, int whence) => -(long)Errno.ESPIPE;

    /// <summary><c>.read</c>: reads into <paramref name="buffer"/> at <c>file.Pos</c>; returns bytes or -errno.</summary>
    long Read(KernelFile file, Span<byte> buffer) => -(long)Errno.EINVAL;

    /// <summary><c>.write</c>.</summary>
    long Write(KernelFile file, ReadOnlySpan<byte> buffer) => -(long)Errno.EINVAL;

    /// <summary><c>.poll</c>: the ready mask (POLLIN, POLLOUT, ...); NULL poll means DEFAULT_POLLMASK.</summary>
    uint Poll(KernelFile file) => Poll_h.DEFAULT_POLLMASK;

    /// <summary>
    /// <c>.poll</c> with <c>poll_requested_events()</c> = <paramref name="requestedEvents"/> (files that arm
    /// callbacks only for the requested events, such as dma-bufs, need it). The syscall calls this one; by default
    /// it forwards to <see cref="Poll(KernelFile)"/>.
    /// </summary>
    uint Poll(KernelFile file, uint requestedEvents) => Poll(file);

    /// <summary><c>.show_fdinfo</c>: appends lines to <c>/proc/self/fdinfo/N</c>.</summary>
    void ShowFdinfo(KernelFile file, System.Text.StringBuilder m) { }

    /// <summary><c>.flush</c>: called at every close(2) of a descriptor.</summary>
    int Flush(KernelFile file) => 0;
}

/// <summary>Constants of include/uapi/asm-generic/poll.h and eventpoll.</summary>
public static class Poll_h
{
    /// <summary>POLLIN.</summary>
    public const uint POLLIN = 0x0001;
    /// <summary>POLLPRI.</summary>
    public const uint POLLPRI = 0x0002;
    /// <summary>POLLOUT.</summary>
    public const uint POLLOUT = 0x0004;
    /// <summary>POLLERR.</summary>
    public const uint POLLERR = 0x0008;
    /// <summary>POLLHUP.</summary>
    public const uint POLLHUP = 0x0010;
    /// <summary>POLLNVAL.</summary>
    public const uint POLLNVAL = 0x0020;
    /// <summary>POLLRDNORM.</summary>
    public const uint POLLRDNORM = 0x0040;
    /// <summary>POLLWRNORM.</summary>
    public const uint POLLWRNORM = 0x0100;
    /// <summary>DEFAULT_POLLMASK (EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM).</summary>
    public const uint DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
}

/// <summary>
/// The <c>arg</c> of an ioctl: its numeric value and, when it points at user memory the program owns, that
/// memory (the struct). <c>copy_from_user</c>/<c>copy_to_user</c> on a pointer the program does not own give
/// <c>-EFAULT</c>, as in the kernel.
/// </summary>
public sealed class UserArg
{
    /// <summary>An argument that is a plain value or a pointer to nothing mapped.</summary>
    public UserArg(ulong value)
    {
        Value = value;
    }

    /// <summary>An argument that points at <paramref name="buffer"/> (the user's struct).</summary>
    public UserArg(ulong value, byte[] buffer)
    {
        Value = value;
        Buffer = buffer;
    }

    /// <summary>The raw <c>unsigned long arg</c>.</summary>
    public ulong Value { get; }

    /// <summary>The user memory it points at, or null for an unmapped pointer.</summary>
    public byte[]? Buffer { get; }

    /// <summary><c>copy_from_user(dst, arg, n)</c>: 0 or <c>-EFAULT</c>.</summary>
    [Kernel("copy_from_user")]
    public int CopyFromUser(Span<byte> destination)
    {
        if (Buffer is null || Buffer.Length < destination.Length)
        {
            return -(int)Errno.EFAULT;
        }
        Buffer.AsSpan(0, destination.Length).CopyTo(destination);
        return 0;
    }

    /// <summary>
    /// Other user memory the program owns, by address (the buffers a struct's pointer fields point at, e.g.
    /// <c>drm_version.name</c>); null = none.
    /// </summary>
    public IReadOnlyDictionary<ulong, byte[]>? Pointees { get; init; }

    /// <summary>
    /// The whole user address space of the calling program when it is a real process (<c>dmabufsim run</c>): pointers
    /// inside the struct are read and written there (null: only <see cref="Pointees"/>).
    /// </summary>
    public IUserMemory? Memory { get; init; }

    /// <summary><c>copy_from_user(dst, addr, n)</c> for a pointer found inside the struct: 0 or <c>-EFAULT</c>.</summary>
    public int CopyFromUserAt(ulong address, Span<byte> destination)
    {
        if (Pointees is null && Memory is { } mem)
        {
            return mem.Read(address, destination);
        }
        if (Pointees is null || !Pointees.TryGetValue(address, out var buf) || buf.Length < destination.Length)
        {
            return -(int)Errno.EFAULT;
        }
        buf.AsSpan(0, destination.Length).CopyTo(destination);
        return 0;
    }

    /// <summary><c>copy_to_user(addr, src, n)</c> for a pointer found inside the struct: 0 or <c>-EFAULT</c>.</summary>
    public int CopyToUserAt(ulong address, ReadOnlySpan<byte> source)
    {
        if (Pointees is null && Memory is { } mem)
        {
            return mem.Write(address, source);
        }
        if (Pointees is null || !Pointees.TryGetValue(address, out var buf) || buf.Length < source.Length)
        {
            return -(int)Errno.EFAULT;
        }
        source.CopyTo(buf);
        return 0;
    }

    /// <summary><c>copy_to_user(arg, src, n)</c>: 0 or <c>-EFAULT</c>.</summary>
    [Kernel("copy_to_user")]
    public int CopyToUser(ReadOnlySpan<byte> source)
    {
        if (Buffer is null || Buffer.Length < source.Length)
        {
            return -(int)Errno.EFAULT;
        }
        source.CopyTo(Buffer);
        return 0;
    }
}

/// <summary>A real program's memory, as <c>copy_from_user</c>/<c>copy_to_user</c> reach it: 0 or <c>-EFAULT</c>.</summary>
public interface IUserMemory
{
    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="address"/>.</summary>
    int Read(ulong address, Span<byte> destination);

    /// <summary>Writes <paramref name="source"/> at <paramref name="address"/>.</summary>
    int Write(ulong address, ReadOnlySpan<byte> source);
}
