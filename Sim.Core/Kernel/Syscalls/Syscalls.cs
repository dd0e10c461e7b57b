// Models the syscall entry of the simulated kernel (include/linux/syscalls.h, arch/x86/entry/syscall_64.c): every
// user-visible entry is one member of Syscalls, taking the calling process and the user's bytes and returning what
// the syscall returns (a value or -errno). One partial file per kernel source file that defines the SYSCALLs
// (Syscalls.Open.cs = fs/open.c, Syscalls.Ioctl.cs = fs/ioctl.c, Syscalls.Mmap.cs = mm/mmap.c + mm/mremap.c, ...).
// The members are thin: they look up the caller's fds and mappings, make the caller `current`, and call the
// models' file_operations / mm / module code.
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Time;

namespace Sim.Core.Kernel;

/// <summary>
/// The machine's syscall layer: replay, <c>difftest</c>'s simulator side, <c>stress</c> and the tour drive the models
/// through it (a <see cref="Process"/>'s own methods are libc-like wrappers that call it with the process).
/// Entries the models do not have return <c>-ENOSYS</c>, as <c>sys_ni_syscall</c> does for a syscall a kernel is
/// built without.
/// </summary>
[Kernel("sys_call_table", "arch/x86/entry/syscall_64.c")]
public sealed partial class Syscalls
{
    private readonly Vfs _vfs;
    private readonly Ktime _clock;
    private readonly CurrentTask? _current;
    private readonly bool _is32;
    private readonly Func<ModuleLoader>? _modules;
    private readonly Func<IMemfd?>? _memfd;
    private IMemfd? _memfdModel;
    private readonly Func<ProcessTable>? _processes;
    private readonly Debug.LeakCheck? _check;
    private readonly Dictionary<string, SeqFile> _seqFiles = new(StringComparer.Ordinal);

    /// <summary>Creates the syscall layer of one machine.</summary>
    /// <remarks>
    /// <paramref name="modules"/> and <paramref name="memfd"/> are resolved on first use, so building the syscall
    /// layer does not build (or boot) the models behind them.
    /// </remarks>
    public Syscalls(Vfs vfs, Ktime clock, MachineOptions options, CurrentTask? current = null, Func<ModuleLoader>? modules = null,
        IEnumerable<SeqFile>? seqFiles = null, Func<IMemfd?>? memfd = null, Func<ProcessTable>? processes = null,
        Debug.LeakCheck? check = null)
    {
        _check = check;
        _processes = processes;
        ArgumentNullException.ThrowIfNull(options);
        _memfd = memfd;
        _vfs = vfs;
        _clock = clock;
        _current = current;
        _is32 = options.Is32Bit;
        _modules = modules;
        foreach (var s in seqFiles ?? [])
        {
            _seqFiles.Add(s.Path, s);
        }
    }

    // One syscall of the machine runs at a time (the models are not reentrant across threads): host threads that
    // drive one machine interleave at syscall granularity, as under a big kernel lock.
    private readonly object _bkl = new();

    // Syscall entry: the machine's lock taken, the caller `current` (and its fail_nth the injector asked) on this
    // thread until the returned scope is disposed.
    private SyscallScope Enter(Process caller)
    {
        Monitor.Enter(_bkl);
        return new SyscallScope(_bkl, _current is null ? default : _current.Enter(caller), Debug.FaultInject.EnterTask(caller.Faults));
    }

    private readonly struct SyscallScope(object bkl, CurrentTask.Scope task, Debug.FaultInject.TaskScope faults) : IDisposable
    {
        public void Dispose()
        {
            faults.Dispose();
            task.Dispose();
            Monitor.Exit(bkl);
        }
    }

    private static long Enosys => -(long)Uapi.Errno.ENOSYS;
}
