// Models a user process as the uAPI models see it: struct task_struct with its files_struct (fs/file.c) and
// mm_struct (mm/mmap.c), and the syscalls the traces make (fs/open.c, fs/ioctl.c, fs/read_write.c,
// fs/fcntl.c, fs/stat.c, fs/select.c, kernel/kcmp.c, mm/mmap.c), each returning what the syscall returns
// (a value or a negative errno).
using System.Globalization;
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

/// <summary>What fstat(2) reports.</summary>
public readonly record struct StatResult(ulong Ino, uint Mode, uint RdevMajor, uint RdevMinor, long Size, int Blksize);

/// <summary>
/// <c>struct task_struct</c>: one simulated process with its descriptor table and address space. Syscalls return
/// what Linux returns: the result, or <c>-errno</c>.
/// </summary>
[Kernel("struct task_struct", "include/linux/sched.h")]
public sealed class Process
{
    /// <summary>F_DUPFD.</summary>
    public const int F_DUPFD = 0;
    /// <summary>F_GETFD.</summary>
    public const int F_GETFD = 1;
    /// <summary>F_SETFD.</summary>
    public const int F_SETFD = 2;
    /// <summary>F_GETFL.</summary>
    public const int F_GETFL = 3;
    /// <summary>F_SETFL.</summary>
    public const int F_SETFL = 4;
    /// <summary>F_DUPFD_CLOEXEC.</summary>
    public const int F_DUPFD_CLOEXEC = 1030;
    /// <summary>FD_CLOEXEC.</summary>
    public const int FD_CLOEXEC = 1;
    /// <summary>KCMP_FILE.</summary>
    public const int KCMP_FILE = 0;

    private readonly Vfs _vfs;
    private readonly Ktime _clock;
    private readonly bool _is32;
    private readonly CurrentTask? _current;

    /// <summary>Creates a process (use <see cref="ProcessTable.Spawn"/>).</summary>
    internal Process(int pid, string comm, Vfs vfs, IPageDataAccess pages, Ktime clock, bool is32Bit, CurrentTask? current = null)
    {
        _current = current;
        Pid = pid;
        Comm = comm;
        _vfs = vfs;
        _clock = clock;
        _is32 = is32Bit;
        Files = new FdTable();
        Mm = new MmStruct(pages, is32Bit);
    }

    /// <summary>The pid.</summary>
    public int Pid { get; }

    // Syscall entry: this process is `current` until the returned scope is disposed (the machine's CurrentTask;
    // a process made without one has no current to set).
    private CurrentTask.Scope EnterSyscall() => _current is null ? default : _current.Enter(this);

    /// <summary><c>comm</c>.</summary>
    public string Comm { get; }

    /// <summary>The descriptor table.</summary>
    public FdTable Files { get; }

    /// <summary>The address space.</summary>
    public MmStruct Mm { get; }

    /// <summary>True once the process exited.</summary>
    public bool Exited { get; private set; }

    /// <summary>
    /// <c>openat(AT_FDCWD, path, flags)</c>: the lowest free fd, or <c>-ENOENT</c>/<c>-ENXIO</c>/<c>-EMFILE</c>/the
    /// driver's error. On 64-bit kernels the file's flags get O_LARGEFILE (<c>force_o_largefile</c>).
    /// </summary>
    [Kernel("do_sys_openat2", "fs/open.c")]
    public int Openat(string path, uint flags)
    {
        using var syscall = EnterSyscall();
        int fd = Files.NextFree();
        if (fd < 0)
        {
            return fd;
        }
        var (file, err) = _vfs.Open(path, _is32 ? flags : flags | OpenFlags.O_LARGEFILE);
        if (file is null)
        {
            return err;
        }
        return Files.Install(file, (flags & OpenFlags.O_CLOEXEC) != 0);
    }

    /// <summary>
    /// Installs a new file the kernel created (<c>get_unused_fd_flags</c> + <c>fd_install</c>, as <c>dma_buf_fd</c>
    /// does); takes over the caller's reference. Returns the fd or <c>-EMFILE</c> (the caller keeps its reference then).
    /// </summary>
    public int InstallFile(KernelFile file, bool cloexec) => Files.Install(file, cloexec);

    /// <summary>Puts a file at a given fd (the fds a traced program already had). Returns fd or -EBADF.</summary>
    public int InstallAt(int fd, KernelFile file, bool cloexec) => Files.InstallAt(fd, file, cloexec);

    /// <summary><c>close(fd)</c>: 0, or <c>-EBADF</c>. Calls <c>f_op-&gt;flush</c>, then drops the fd's reference.</summary>
    [Kernel("close_fd", "fs/open.c")]
    public int Close(int fd)
    {
        using var syscall = EnterSyscall();
        var f = Files.Remove(fd);
        if (f is null)
        {
            return -(int)Errno.EBADF;
        }
        int r = f.Ops.Flush(f);
        f.Put();
        return r;
    }

    /// <summary><c>dup(fd)</c>.</summary>
    public int Dup(int fd)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
        if (f is null)
        {
            return -(int)Errno.EBADF;
        }
        int nfd = Files.Install(f.Get(), false);
        if (nfd < 0)
        {
            f.Put();
        }
        return nfd;
    }

    /// <summary>The file at <paramref name="fd"/> (no reference taken), or null.</summary>
    public KernelFile? Fget(int fd) => Files.Lookup(fd);

    /// <summary>
    /// <c>ioctl(fd, cmd, arg)</c>: <c>-EBADF</c> for a bad fd, then the VFS's own commands (FIOCLEX, FIONCLEX),
    /// then <c>f_op-&gt;unlocked_ioctl</c> (<c>-ENOTTY</c> when the file has none).
    /// </summary>
    [Kernel("do_vfs_ioctl", "fs/ioctl.c")]
    public long Ioctl(int fd, uint cmd, UserArg arg)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
        if (f is null)
        {
            return -(long)Errno.EBADF;
        }
        switch (cmd)
        {
            case 0x5451: // FIOCLEX
                Files.SetCloexec(fd, true);
                return 0;
            case 0x5450: // FIONCLEX
                Files.SetCloexec(fd, false);
                return 0;
        }
        return f.Ops.UnlockedIoctl(f, cmd, arg, this);
    }

    /// <summary><c>mmap(NULL, length, prot, flags, fd, offset)</c>: the address, or a negative errno.</summary>
    [Kernel("ksys_mmap_pgoff", "mm/mmap.c")]
    public long Mmap(ulong length, uint prot, uint flags, int fd, ulong offset)
    {
        // The syscall entry (x86_64 sys_mmap; glibc's mmap64 -> mmap2 on 32-bit) rejects an offset it cannot
        // pass as a page offset before the fd is looked up.
        int err = Mm.MmapOffsetToPgoff(offset, out ulong pgoff);
        if (err != 0)
        {
            return err;
        }
        using var syscall = EnterSyscall();
        KernelFile? f = null;
        if ((flags & Mman.MAP_ANONYMOUS) == 0)
        {
            f = Files.Lookup(fd);
            if (f is null)
            {
                return -(long)Errno.EBADF;
            }
            // ksys_mmap_pgoff: MAP_HUGETLB on a file that is not hugetlbfs.
            if ((flags & Mman.MAP_HUGETLB) != 0)
            {
                return -(long)Errno.EINVAL;
            }
        }
        return Mm.DoMmap(f, length, prot, flags, pgoff);
    }

    /// <summary><c>munmap(addr, length)</c>.</summary>
    public int Munmap(ulong addr, ulong length)
    {
        using var syscall = EnterSyscall();
        return Mm.Munmap(addr, length);
    }

    /// <summary><c>lseek(fd, offset, whence)</c>: the new position or a negative errno.</summary>
    [Kernel("ksys_lseek", "fs/read_write.c")]
    public long Lseek(int fd, long offset, int whence)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
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

    /// <summary><c>read(fd, buf, count)</c>.</summary>
    [Kernel("ksys_read", "fs/read_write.c")]
    public long Read(int fd, Span<byte> buffer)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
        if (f is null || (f.Mode & KernelFile.FMODE_READ) == 0)
        {
            return -(long)Errno.EBADF;
        }
        return f.Ops.Read(f, buffer);
    }

    /// <summary><c>write(fd, buf, count)</c>.</summary>
    [Kernel("ksys_write", "fs/read_write.c")]
    public long Write(int fd, ReadOnlySpan<byte> buffer)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
        if (f is null || (f.Mode & KernelFile.FMODE_WRITE) == 0)
        {
            return -(long)Errno.EBADF;
        }
        return f.Ops.Write(f, buffer);
    }

    /// <summary>
    /// <c>poll</c> on one descriptor: blocks on the simulated clock until a requested event is ready or
    /// <paramref name="timeoutMs"/> passes (negative = forever). Returns (ret, revents): ret 1 when ready,
    /// 0 on timeout; a bad fd reports POLLNVAL.
    /// </summary>
    [Kernel("do_sys_poll", "fs/select.c")]
    public (int Ret, uint Revents) Poll(int fd, uint events, long timeoutMs)
    {
        using var syscall = EnterSyscall();
        if (fd < 0)
        {
            // do_pollfd: a negative fd is ignored (revents 0, not counted); the call still sleeps its timeout.
            if (timeoutMs > 0)
            {
                _clock.WaitUntil(() => false, timeoutMs * 1_000_000L);
            }
            return (0, 0);
        }
        var f = Files.Lookup(fd);
        if (f is null)
        {
            return (1, Poll_h.POLLNVAL);
        }
        uint want = events | Poll_h.POLLERR | Poll_h.POLLHUP;
        uint Ready() => f.Ops.Poll(f, want) & want;
        uint mask = Ready();
        if (mask != 0 || timeoutMs == 0)
        {
            return (mask != 0 ? 1 : 0, mask);
        }
        long timeoutNs = timeoutMs < 0 ? long.MaxValue : timeoutMs * 1_000_000L;
        _clock.WaitUntil(() => Ready() != 0, timeoutNs);
        mask = Ready();
        return (mask != 0 ? 1 : 0, mask);
    }

    /// <summary><c>fcntl(fd, cmd, arg)</c> for F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC.</summary>
    [Kernel("do_fcntl", "fs/fcntl.c")]
    public long Fcntl(int fd, int cmd, long arg = 0)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
        if (f is null)
        {
            return -(long)Errno.EBADF;
        }
        switch (cmd)
        {
            case F_DUPFD:
            case F_DUPFD_CLOEXEC:
                {
                    int nfd = Files.Install(f.Get(), cmd == F_DUPFD_CLOEXEC, (int)Math.Max(0, arg));
                    if (nfd < 0)
                    {
                        f.Put();
                    }
                    return nfd;
                }
            case F_GETFD:
                return Files.GetCloexec(fd) ? FD_CLOEXEC : 0;
            case F_SETFD:
                Files.SetCloexec(fd, (arg & FD_CLOEXEC) != 0);
                return 0;
            case F_GETFL:
                return f.Flags;
            case F_SETFL:
                {
                    const uint settable = OpenFlags.O_APPEND | OpenFlags.O_NONBLOCK | 0x2000 /* O_ASYNC */ | 0x4000 /* O_DIRECT */ | 0x40000 /* O_NOATIME */;
                    f.Flags = (uint)((f.Flags & ~settable) | ((uint)arg & settable));
                    return 0;
                }
            default:
                return -(long)Errno.EINVAL;
        }
    }

    /// <summary><c>fstat(fd)</c>.</summary>
    [Kernel("vfs_fstat", "fs/stat.c")]
    public (int Ret, StatResult Stat) Fstat(int fd)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
        if (f is null)
        {
            return (-(int)Errno.EBADF, default);
        }
        var i = f.Inode;
        return (0, new StatResult(i.Ino, i.Mode, i.Major, i.Minor, i.Size, 4096));
    }

    /// <summary>
    /// <c>kcmp(pid, pid, KCMP_FILE, fd1, fd2)</c>: 0 when both fds name the same <c>struct file</c>, else 1 or 2
    /// by the order of the two files (the kernel orders by pointer); <c>-EBADF</c> for a bad fd.
    /// </summary>
    [Kernel("kcmp", "kernel/kcmp.c")]
    public int KcmpFile(int fd1, int fd2)
    {
        using var syscall = EnterSyscall();
        var a = Files.Lookup(fd1);
        var b = Files.Lookup(fd2);
        if (a is null || b is null)
        {
            return -(int)Errno.EBADF;
        }
        return ReferenceEquals(a, b) ? 0 : a.Order < b.Order ? 2 : 1;
    }

    /// <summary>
    /// The text of <c>/proc/self/fdinfo/fd</c> (fs/proc/fd.c <c>seq_show</c>): pos, flags (octal, with O_CLOEXEC
    /// from the fd table), mnt_id, ino, then the file's <c>show_fdinfo</c>. Null for a bad fd (-ENOENT).
    /// </summary>
    [Kernel("seq_show", "fs/proc/fd.c")]
    public string? Fdinfo(int fd, int mntId = 11)
    {
        using var syscall = EnterSyscall();
        var f = Files.Lookup(fd);
        if (f is null)
        {
            return null;
        }
        uint flags = f.Flags | (Files.GetCloexec(fd) ? OpenFlags.O_CLOEXEC : 0);
        var m = new StringBuilder();
        m.Append(CultureInfo.InvariantCulture, $"pos:\t{f.Pos}\nflags:\t0{Convert.ToString(flags, 8)}\nmnt_id:\t{mntId}\nino:\t{f.Inode.Ino}\n");
        f.Ops.ShowFdinfo(f, m);
        return m.ToString();
    }

    /// <summary>A CPU load through the process's mappings: 0 or <c>-EFAULT</c>/SIGBUS errno.</summary>
    public int Load(ulong addr, Span<byte> destination)
    {
        using var syscall = EnterSyscall();
        return Mm.Load(addr, destination);
    }

    /// <summary>A CPU store through the process's mappings.</summary>
    public int Store(ulong addr, ReadOnlySpan<byte> source)
    {
        using var syscall = EnterSyscall();
        return Mm.Store(addr, source);
    }

    /// <summary>
    /// <c>do_exit</c>: first every mapping goes (<c>exit_mm</c>), then every fd is closed in ascending order
    /// (<c>exit_files</c>).
    /// </summary>
    [Kernel("do_exit", "kernel/exit.c")]
    public void Exit()
    {
        using var syscall = EnterSyscall();
        if (Exited)
        {
            return;
        }
        Exited = true;
        Mm.ExitMmap();
        foreach (int fd in Files.OpenFds().ToArray())
        {
            Close(fd);
        }
    }
}

/// <summary>The machine's processes and pid numbering (<c>alloc_pid</c>).</summary>
/// <remarks>
/// With the machine's <see cref="CurrentTask"/> (the DI container passes it), every syscall of a process runs with
/// that process as <c>current</c>, so kernel code that installs fds (<c>dma_buf_fd</c>, <c>sync_file</c>) or prints
/// <c>comm</c> sees the caller.
/// </remarks>
public sealed class ProcessTable(Vfs vfs, IPageDataAccess pages, Ktime clock, Boot.MachineOptions options, CurrentTask? current = null)
{
    private readonly List<Process> _processes = [];
    private int _nextPid = 100;

    /// <summary>Processes spawned so far.</summary>
    public IReadOnlyList<Process> Processes => _processes;

    /// <summary>Creates a process with an empty fd table and address space.</summary>
    public Process Spawn(string comm)
    {
        var p = new Process(_nextPid++, comm, vfs, pages, clock, options.Is32Bit, current);
        _processes.Add(p);
        return p;
    }
}
