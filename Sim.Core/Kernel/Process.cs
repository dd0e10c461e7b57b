// Models a user process as the uAPI models see it: struct task_struct with its files_struct (fs/file.c) and
// mm_struct (mm/mmap.c). The syscalls themselves are Syscalls' members (Kernel/Syscalls/); the methods here are the
// libc-like wrappers a program calls (p.Ioctl(fd, cmd, arg) is syscalls.Ioctl(p, fd, cmd, arg)).
using Sim.Core.Fs;
using Sim.Core.Mm;

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

    /// <summary>Creates a process (use <see cref="ProcessTable.Spawn"/>).</summary>
    internal Process(int pid, string comm, Syscalls kernel, IPageDataAccess pages, bool is32Bit)
    {
        Pid = pid;
        Comm = comm;
        Kernel = kernel;
        Files = new FdTable();
        Mm = new MmStruct(pages, is32Bit);
    }

    /// <summary>The pid.</summary>
    public int Pid { get; }

    /// <summary>The machine's syscall layer that this process's wrappers call.</summary>
    public Syscalls Kernel { get; }

    /// <summary><c>comm</c>.</summary>
    public string Comm { get; }

    /// <summary>
    /// <c>fatal_signal_pending(current)</c>: a SIGKILL is queued (set by a test or a simulated <c>kill -9</c>);
    /// long kernel loops such as the DMA-BUF heaps' page allocation check it and give up with <c>-EINTR</c>.
    /// </summary>
    [Kernel("fatal_signal_pending", "include/linux/sched/signal.h")]
    public bool FatalSignalPending { get; set; }

    /// <summary>The descriptor table.</summary>
    public FdTable Files { get; }

    /// <summary>The address space.</summary>
    public MmStruct Mm { get; }

    /// <summary>The effective uid (0: root, which has CAP_SYS_ADMIN); a program started as a user sets it.</summary>
    public int Euid { get; set; }

    /// <summary>
    /// True from the start of <c>do_exit</c> on (<c>PF_EXITING</c>, set by <c>exit_signals</c> before <c>exit_mm</c> and
    /// <c>exit_files</c>): what those release happens with this process <c>current</c> and exiting.
    /// </summary>
    [Kernel("PF_EXITING", "include/linux/sched.h")]
    public bool Exited { get; internal set; }

    /// <summary>
    /// The user call site of the syscall in progress (the kernel's <c>task_pt_regs(current)-&gt;ip</c>): an opaque
    /// number that whoever drives the syscall sets (<c>dmabufsim run --check</c>: its id of the program's backtrace
    /// of the call), 0 when unknown. <see cref="Debug.LeakCheck"/> stamps it on the objects the call creates.
    /// </summary>
    public long CallSite { get; set; }

    /// <summary><c>openat(AT_FDCWD, path, flags)</c> (libc's wrapper): <see cref="Syscalls.Openat"/>.</summary>
    public int Openat(string path, uint flags) => Kernel.Openat(this, path, flags);

    /// <summary>
    /// Installs a new file the kernel created (<c>get_unused_fd_flags</c> + <c>fd_install</c>, as <c>dma_buf_fd</c>
    /// does); takes over the caller's reference. Returns the fd or <c>-EMFILE</c> (the caller keeps its reference then).
    /// </summary>
    public int InstallFile(KernelFile file, bool cloexec) => Files.Install(file, cloexec);

    /// <summary>Puts a file at a given fd (the fds a traced program already had). Returns fd or -EBADF.</summary>
    public int InstallAt(int fd, KernelFile file, bool cloexec) => Files.InstallAt(fd, file, cloexec);

    /// <summary><c>close(fd)</c>: <see cref="Syscalls.Close"/>.</summary>
    public int Close(int fd) => Kernel.Close(this, fd);

    /// <summary><c>dup(fd)</c>: <see cref="Syscalls.Dup"/>.</summary>
    public int Dup(int fd) => Kernel.Dup(this, fd);

    /// <summary>The file at <paramref name="fd"/> (no reference taken), or null.</summary>
    public KernelFile? Fget(int fd) => Files.Lookup(fd);

    /// <summary><c>ioctl(fd, cmd, arg)</c>: <see cref="Syscalls.Ioctl"/>.</summary>
    public long Ioctl(int fd, uint cmd, UserArg arg) => Kernel.Ioctl(this, fd, cmd, arg);

    /// <summary><c>mmap(NULL, length, prot, flags, fd, offset)</c>: <see cref="Syscalls.Mmap"/>.</summary>
    public long Mmap(ulong length, uint prot, uint flags, int fd, ulong offset) => Kernel.Mmap(this, length, prot, flags, fd, offset);

    /// <summary><c>munmap(addr, length)</c>: <see cref="Syscalls.Munmap"/>.</summary>
    public int Munmap(ulong addr, ulong length) => Kernel.Munmap(this, addr, length);

    /// <summary><c>lseek(fd, offset, whence)</c>: <see cref="Syscalls.Lseek"/>.</summary>
    public long Lseek(int fd, long offset, int whence) => Kernel.Lseek(this, fd, offset, whence);

    /// <summary><c>read(fd, buf, count)</c>: <see cref="Syscalls.Read"/>.</summary>
    public long Read(int fd, Span<byte> buffer) => Kernel.Read(this, fd, buffer);

    /// <summary><c>write(fd, buf, count)</c>: <see cref="Syscalls.Write"/>.</summary>
    public long Write(int fd, ReadOnlySpan<byte> buffer) => Kernel.Write(this, fd, buffer);

    /// <summary><c>poll</c> on one descriptor: <see cref="Syscalls.Poll"/>.</summary>
    public (int Ret, uint Revents) Poll(int fd, uint events, long timeoutMs) => Kernel.Poll(this, fd, events, timeoutMs);

    /// <summary><c>fcntl(fd, cmd, arg)</c>: <see cref="Syscalls.Fcntl"/>.</summary>
    public long Fcntl(int fd, int cmd, long arg = 0) => Kernel.Fcntl(this, fd, cmd, arg);

    /// <summary><c>fstat(fd)</c>: <see cref="Syscalls.Fstat"/>.</summary>
    public (int Ret, StatResult Stat) Fstat(int fd) => Kernel.Fstat(this, fd);

    /// <summary><c>kcmp(pid, pid, KCMP_FILE, fd1, fd2)</c>: <see cref="Syscalls.KcmpFile"/>.</summary>
    public int KcmpFile(int fd1, int fd2) => Kernel.KcmpFile(this, fd1, fd2);

    /// <summary>The text of <c>/proc/self/fdinfo/fd</c>: <see cref="Syscalls.Fdinfo"/>.</summary>
    public string? Fdinfo(int fd, int mntId = 11) => Kernel.Fdinfo(this, fd, mntId);

    /// <summary>A CPU load through the process's mappings: <see cref="Syscalls.Load"/>.</summary>
    public int Load(ulong addr, Span<byte> destination) => Kernel.Load(this, addr, destination);

    /// <summary>
    /// The task's fault injection (<c>current-&gt;fail_nth</c>, <c>/proc/self/task/T/fail-nth</c>): when set, the
    /// allocation sites reached in this process's system calls ask it, whichever host thread makes them; other
    /// processes of the machine are not affected.
    /// </summary>
    public Sim.Core.Debug.FaultInject? Faults { get; set; }

    /// <summary>A CPU store through the process's mappings: <see cref="Syscalls.Store"/>.</summary>
    public int Store(ulong addr, ReadOnlySpan<byte> source) => Kernel.Store(this, addr, source);

    /// <summary><c>exit</c>: <see cref="Syscalls.Exit"/>.</summary>
    public void Exit() => Kernel.Exit(this);
}

/// <summary>The machine's processes and pid numbering (<c>alloc_pid</c>).</summary>
/// <remarks>
/// With the machine's <see cref="CurrentTask"/> (the DI container passes it), every syscall of a process runs with
/// that process as <c>current</c>, so kernel code that installs fds (<c>dma_buf_fd</c>, <c>sync_file</c>) or prints
/// <c>comm</c> sees the caller.
/// </remarks>
public sealed class ProcessTable(Syscalls syscalls, IPageDataAccess pages, Boot.MachineOptions options)
{
    private readonly List<Process> _processes = [];
    private readonly Lock _lock = new();
    private int _nextPid = 100;

    /// <summary>Processes spawned so far.</summary>
    public IReadOnlyList<Process> Processes => _processes;

    /// <summary>The process with pid <paramref name="pid"/>, or null.</summary>
    public Process? Find(int pid) => _processes.Find(p => p.Pid == pid);

    /// <summary>Creates a process with an empty fd table and address space.</summary>
    public Process Spawn(string comm)
    {
        lock (_lock)
        {
            var p = new Process(_nextPid++, comm, syscalls, pages, options.Is32Bit);
            _processes.Add(p);
            return p;
        }
    }
}
