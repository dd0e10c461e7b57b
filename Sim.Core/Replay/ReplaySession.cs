using System.Globalization;
using System.Text.Json;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;

namespace Sim.Core.Replay;

/// <summary>
/// The replay of one file: its machine (a fresh DI container built from the header and the <c>--machine</c>
/// overrides), the header, and the explicit state every handler shares: the machine's syscall layer
/// (<see cref="Syscalls"/>), the traced program's process (<see cref="Process"/>, with the header's open fds at
/// their numbers), its mappings and inode pattern (<see cref="Traced"/>), the devices events name
/// (<see cref="Devices"/>) and the unlogged-action vocabulary (<see cref="Unlogged"/>). Family-specific state
/// (tables by case, fences by name) lives in <see cref="State{T}"/>.
/// </summary>
public sealed class ReplaySession
{
    private readonly Dictionary<Type, object> _state = [];
    private readonly List<(string Name, Action<ReplayCheck> Action)> _atExit = [];
    private Syscalls? _syscalls;
    private readonly Dictionary<int, Process> _byTracedPid = [];
    private readonly List<Process> _processes = [];
    private Process? _process;
    private bool _processExitCounted;

    internal ReplaySession(string file, DataFileKind kind, JsonElement header, MachineOptions options, IServiceProvider machine, int version = 1)
    {
        File = file;
        Kind = kind;
        Version = version;
        Header = header;
        Options = options;
        Machine = machine;
        Family = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))) ?? "";
        Devices = new ReplayDevices(() => Get<Dma.DmaMapping>());
        Unlogged = new UnloggedActions(this);
    }

    /// <summary>The file being replayed.</summary>
    public string File { get; }

    /// <summary>The folder name (trace family), e.g. <c>linux-6.1-vgem</c>.</summary>
    public string Family { get; }

    /// <summary>Trace or vector file.</summary>
    public DataFileKind Kind { get; }

    /// <summary>
    /// The trace format version: 1 (one traced process) or 2 (every event names its process: <see cref="Process"/> is the
    /// process of the event being replayed, and fork, execve and exit events make and end processes).
    /// </summary>
    public int Version { get; }

    /// <summary>The header (undefined for vector files).</summary>
    public JsonElement Header { get; }

    /// <summary>The machine's configuration.</summary>
    public MachineOptions Options { get; }

    /// <summary>The machine (its services are the models).</summary>
    public IServiceProvider Machine { get; }

    /// <summary>The machine's syscall layer: how user-level events reach the models.</summary>
    public Syscalls Syscalls => _syscalls ??= Get<Syscalls>();

    /// <summary>The traced program's mappings by mmap event and its inode-number pattern.</summary>
    public TracedProcess Traced { get; } = new();

    /// <summary>The devices events name (<c>dev_name</c>), made on first use.</summary>
    public ReplayDevices Devices { get; }

    /// <summary>The actions of <c>result.unlogged_before</c>/<c>unlogged_after</c> entries, registered by the families at file start.</summary>
    public UnloggedActions Unlogged { get; }

    /// <summary>
    /// The traced process (trace files: made at file start with the header's <c>open_fds</c>), or null (vector files).
    /// In a version 2 trace it is the process of the event being replayed (its <c>pid</c>).
    /// Reading it does not count its exit: see <see cref="RunsProcess"/>.
    /// </summary>
    public Process? TracedProcessOrNull => _process;

    /// <summary>The traced process (see <see cref="TracedProcessOrNull"/>); throws for a vector file.</summary>
    public Process Process => _process ?? throw new InvalidOperationException("no traced process (a vector file has none)");

    /// <summary>
    /// The traced process, for a user-level event that runs in it. The first such event adds two end-of-file steps,
    /// each counted as one <c>exit</c> event: the process's exit and the leak check after it (nothing the trace made
    /// may be alive). Files whose events never run in the process (the kernel-call families) count neither.
    /// </summary>
    public Process RunsProcess()
    {
        var p = _process ?? throw new InvalidOperationException("no traced process (a vector file has none)");
        if (!_processExitCounted)
        {
            _processExitCounted = true;
            AtExit("process exit", _ => ExitRemaining());
            AtExit("leak check", LeakCheck);
        }
        return p;
    }

    // The end of the file: every process of the trace that has not exited does (the newest first: children before
    // the program that forked them).
    private void ExitRemaining()
    {
        for (int k = _processes.Count - 1; k >= 0; k--)
        {
            Syscalls.Exit(_processes[k]);
        }
    }

    /// <summary>The model process of the traced pid <paramref name="tracedPid"/> (version 2), or null.</summary>
    public Process? ProcessOfTracedPid(int tracedPid) => _byTracedPid.GetValueOrDefault(tracedPid);

    /// <summary>
    /// Binds the traced pid <paramref name="tracedPid"/> to <paramref name="process"/>, a process a <c>fork</c> event made
    /// (version 2): the events of that pid run in it from now on. A pid used again after its process exited is rebound.
    /// </summary>
    public void BindTracedPid(int tracedPid, Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        _byTracedPid[tracedPid] = process;
        _processes.Add(process);
    }

    /// <summary>
    /// Version 2: makes the process of <paramref name="ev"/>'s <c>pid</c> the current one. The first event's pid is the
    /// traced program (the process made at file start); any other pid must be the result of an earlier <c>fork</c>
    /// event, or an <c>execve</c> whose <c>args.ppid</c> is a known process (a child made without fork(), such as
    /// posix_spawn's, that has just run its new program). A pid whose process exited is an error.
    /// </summary>
    internal void EnterEvent(TraceEvent ev)
    {
        if (Version < 2 || Kind != DataFileKind.Trace || _processes.Count == 0 || ev.Pid is not int pid)
        {
            return;
        }
        if (_byTracedPid.Count == 0)
        {
            _byTracedPid[pid] = _processes[0];
        }
        if (!_byTracedPid.TryGetValue(pid, out var p))
        {
            if (ev.Op == "execve" && ev.HasArg("ppid") && _byTracedPid.TryGetValue((int)ev.ArgI64("ppid"), out var parent) && !parent.Exited)
            {
                long child = Syscalls.Fork(parent);
                p = Get<ProcessTable>().Find((int)child)
                    ?? throw new TraceFormatException(ev.File, ev.Line, $"pid {pid}: the model could not make the process ({child})", "pid");
                BindTracedPid(pid, p);
            }
            else
            {
                throw new TraceFormatException(ev.File, ev.Line,
                    $"pid {pid} is not the traced program's (the first event's) and no earlier fork event returned it", "pid");
            }
        }
        if (p.Exited)
        {
            throw new TraceFormatException(ev.File, ev.Line, $"pid {pid} has exited (its exit event came earlier)", "pid");
        }
        _process = p;
    }

    /// <summary>The machine's processes (version 2: the ones fork events make).</summary>
    public ProcessTable ProcessTable => Get<ProcessTable>();

    /// <summary>The machine's file namespace and inode numbers.</summary>
    public Vfs Vfs => Get<Vfs>();

    /// <summary>The page allocator (the sg family allocates the pages its tables map).</summary>
    public PageAlloc PageAlloc => Get<PageAlloc>();

    /// <summary>The page frames (<c>mem_map</c>), for the cma family.</summary>
    public IPageFrames PageFrames => Get<IPageFrames>();

    /// <summary>The page contents.</summary>
    public IPageDataAccess PageData => Get<IPageDataAccess>();

    /// <summary>The DMA mapping layer (<c>dma_map_sg</c>, swiotlb, IOMMU).</summary>
    public Dma.DmaMapping DmaMapping => Get<Dma.DmaMapping>();

    /// <summary>The WARNs recorded.</summary>
    public Warnings Warnings => Get<Warnings>();

    /// <summary>The live kernel objects.</summary>
    public LiveObjects Live => Get<LiveObjects>();

    /// <summary>The simulated clock.</summary>
    public Time.Ktime Clock => Get<Time.Ktime>();

    /// <summary>The kernel log.</summary>
    public Printk Printk => Get<Printk>();

    /// <summary>The boot state (applied at file start by the module families).</summary>
    public BootState BootState => Get<BootState>();

    /// <summary>The shell the module families run their commands in (insmod, rmmod).</summary>
    public Userspace.Busybox Busybox => Get<Userspace.Busybox>();

    /// <summary>
    /// A model service of the machine. Handlers use the typed members above (and the families' own, e.g.
    /// Sim.DmaBuf's <c>Fences</c>); this is what those are made of.
    /// </summary>
    public T Get<T>() where T : notnull =>
        (T)(Machine.GetService(typeof(T)) ?? throw new InvalidOperationException($"the machine has no {typeof(T).Name}"));

    /// <summary>Per-file state of type <typeparamref name="T"/>, created on first use.</summary>
    public T State<T>() where T : class, new()
    {
        if (!_state.TryGetValue(typeof(T), out var s))
        {
            s = new T();
            _state.Add(typeof(T), s);
        }
        return (T)s;
    }

    /// <summary>
    /// Registers an end-of-file step (e.g. a family's own leak check). Each registered step is counted as one event
    /// of op <c>exit</c>: its check passes when it records no difference. A name registered already is ignored.
    /// </summary>
    public void AtExit(string name, Action<ReplayCheck> action)
    {
        if (!_atExit.Exists(e => e.Name == name))
        {
            _atExit.Add((name, action));
        }
    }

    internal IReadOnlyList<(string Name, Action<ReplayCheck> Action)> ExitSteps => _atExit;

    /// <summary>
    /// Makes the traced process of a trace file: the header's <c>open_fds</c> (default: 0-2 on /dev/console) opened
    /// at their numbers, files the machine lacks made as plain files, and <c>/proc/self/stat</c>.
    /// </summary>
    internal void StartTracedProcess()
    {
        if (Kind != DataFileKind.Trace)
        {
            return;
        }
        var vfs = Get<Vfs>();
        var p = Get<ProcessTable>().Spawn("traced");
        var fds = new List<(int Fd, string Path, uint Flags)>();
        if (Header.TryGetProperty("open_fds", out var open) && open.ValueKind == JsonValueKind.Object)
        {
            foreach (var prop in open.EnumerateObject())
            {
                string path = prop.Value.TryGetProperty("path", out var pe) ? pe.GetString() ?? "" : "";
                string flags = prop.Value.TryGetProperty("flags", out var fe) && fe.ValueKind == JsonValueKind.String ? fe.GetString()! : "O_RDWR";
                fds.Add((int.Parse(prop.Name, CultureInfo.InvariantCulture), path, OpenFlags.Parse(flags)));
            }
        }
        else
        {
            fds.Add((0, "/dev/console", OpenFlags.O_RDWR));
            fds.Add((1, "/dev/console", OpenFlags.O_RDWR));
            fds.Add((2, "/dev/console", OpenFlags.O_RDWR));
        }
        foreach (var (fd, path, flags) in fds)
        {
            if (vfs.Lookup(path) is null)
            {
                vfs.AddFile(path, NullFileOperations.Instance);
            }
            var (file, _) = vfs.Open(path, flags);
            if (file is not null)
            {
                p.InstallAt(fd, file, (flags & OpenFlags.O_CLOEXEC) != 0);
            }
        }
        // /proc/self/stat: a plain readable file that is not a dma-buf.
        if (vfs.Lookup("/proc/self/stat") is null)
        {
            vfs.AddFile("/proc/self/stat", NullFileOperations.Instance, Inode.S_IFREG | 0x124);
        }
        _process = p;
        _processes.Add(p);
    }

    // After the exit nothing the trace made may be alive (a loaded module's data stays with the module), and no
    // shmem page may be held.
    private void LeakCheck(ReplayCheck check)
    {
        var modules = Get<ModuleList>();
        foreach (var o in Get<LiveObjects>().Alive())
        {
            if (o.Module is not null && modules.Find(o.Module) is not null)
            {
                continue;
            }
            check.Fail("leak", "nothing alive after exit", $"{o.Type} {o.Description} ({o.Holder?.Invoke()})");
        }
        long shmemPages = (Machine.GetService(typeof(Shmem)) as Shmem)?.PagesInUse ?? 0;
        if (shmemPages != 0)
        {
            check.Fail("leak", "0 shmem pages", shmemPages.ToString(CultureInfo.InvariantCulture));
        }
    }
}
