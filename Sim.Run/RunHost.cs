// dmabufsim run: boots a machine, starts a real program with the preload library, and serves its calls on the
// simulated kernel until the program and every process it forked are gone.
using Stopwatch = System.Diagnostics.Stopwatch;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Machine;

namespace Sim.Run;

/// <summary>What <c>dmabufsim run</c> was asked to do.</summary>
public sealed class RunOptions
{
    /// <summary>Machine options added to the default (x86_64, 1 GiB, dma-direct, vgem, sw_sync).</summary>
    public string? Machine { get; init; }

    /// <summary>Wall-clock bound of the whole run; null = none.</summary>
    public double? TimeoutSeconds { get; init; }

    /// <summary>The program (a path, or a name looked up in PATH).</summary>
    public required string Program { get; init; }

    /// <summary>Its arguments.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>A prebuilt preload library; null = build it into the cache on first use.</summary>
    public string? PreloadLibrary { get; init; }

    /// <summary>
    /// <c>--check</c>: report leaks, WARNs, misuses and failed calls at every process exit and a summary at the end;
    /// the exit status is 99 when anything but notes was found.
    /// </summary>
    public bool Check { get; init; }

    /// <summary>
    /// <c>--trace FILE.jsonl</c>: what the program and every process it forks or execs did, in the trace format
    /// (version 2), written by the real-kernel tracer (tools/dmabufsim-trace) stacked in front of the preload
    /// library, so a run and a <c>capture</c> of the same program are written by the same decoder; null = no trace.
    /// </summary>
    public string? Trace { get; init; }

    /// <summary>A prebuilt tracer library for <see cref="Trace"/>; null = build it into the cache on first use.</summary>
    public string? TracerLibrary { get; init; }

    /// <summary>Where the program's stdout goes; null = the host's own stdout, untouched (inherited).</summary>
    public TextWriter? ProgramStdout { get; init; }

    /// <summary>Where the program's stderr goes; null = the host's own stderr, untouched (inherited).</summary>
    public TextWriter? ProgramStderr { get; init; }
}

/// <summary>A run that could not start (no compiler, bad machine options, no such program).</summary>
public sealed class RunException(string message) : Exception(message);

/// <summary>
/// The host: one simulated machine, its processes keyed by the real pids of the program tree, and one serving
/// thread per connection of the preload library. Calls are served one at a time under one lock, so the models
/// see a single, ordered stream of syscalls (as on a uniprocessor kernel without preemption).
/// </summary>
public sealed class RunHost : IDisposable
{
    /// <summary>The default machine of <c>run</c>, before the user's options.</summary>
    public const string DefaultMachine = "vgem sw_sync";

    private readonly object _gate = new();
    private readonly ServiceProvider _machine;
    private readonly MemfdPageStore _phys;
    private readonly Syscalls _sys;
    private readonly ProcessTable _table;
    private readonly Vfs _vfs;
    private readonly TextWriter _stderr;
    private readonly Dictionary<int, HostProcess> _byPid = [];
    private readonly Dictionary<long, Process> _forks = [];
    private readonly Dictionary<ulong, KernelFile> _byIno = [];
    private readonly Dictionary<KernelFile, int> _inFlight = [];
    private readonly Sim.Core.Debug.UnmodelledCalls _unmodelled;
    private readonly string _dir;
    private readonly Socket _listener;
    private int _connections;
    private bool _disposed;

    private readonly CheckReport? _check;

    private RunHost(MachineOptions options, TextWriter stderr, bool check)
    {
        _stderr = stderr;
        _phys = new MemfdPageStore((options.RamBase + options.RamBytes) >> 12);
        _machine = Composition.BuildMachine(options, s => s.Replace(ServiceDescriptor.Singleton<IPhysicalPageStore>(_phys)));
        Composition.Boot(_machine);
        _machine.GetRequiredService<BootState>().Apply();
        // The initcalls of the devices a program opens by path: sw_sync's debugfs file, the udmabuf misc device
        // (each exists only when its machine option is set).
        _ = _machine.GetRequiredService<Sim.DmaBufs.SwSync>();
        _ = _machine.GetRequiredService<Sim.DmaBufs.Udmabuf>();
        _sys = _machine.GetRequiredService<Syscalls>();
        _table = _machine.GetRequiredService<ProcessTable>();
        _vfs = _machine.GetRequiredService<Vfs>();
        _unmodelled = _machine.GetRequiredService<Sim.Core.Debug.UnmodelledCalls>();
        if (check)
        {
            _check = new CheckReport(_machine.GetRequiredService<Sim.Core.Debug.LeakCheck>(), _machine.GetRequiredService<Sim.Core.Debug.Warnings>(),
                _machine.GetRequiredService<Bug>(), stderr);
        }
        _dir = Directory.CreateTempSubdirectory("dmabufsim-run-").FullName;
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        SocketPath = Path.Combine(_dir, "sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _listener.Listen(64);
        new Thread(AcceptLoop) { IsBackground = true, Name = "run-accept" }.Start();
    }

    /// <summary>The machine (tests look at it after the run).</summary>
    public IServiceProvider Machine => _machine;

    /// <summary>The socket the preload library connects to (in a 0700 directory).</summary>
    public string SocketPath { get; }

    /// <summary>The machine options of a run: the default machine plus <paramref name="user"/>.</summary>
    public static MachineOptions MachineFor(string? user)
    {
        // The default's devices are not added twice when the user names them too.
        var extra = string.Join(' ', (user ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(t => t is not ("vgem" or "sw_sync")));
        try
        {
            return Composition.ParseMachine(DefaultMachine + " " + extra);
        }
        catch (ArgumentException e)
        {
            throw new RunException("--machine: " + e.Message);
        }
    }

    /// <summary>Runs the program to its end; returns its exit status (128+signal when killed, 124 on timeout).</summary>
    public static int Run(RunOptions options, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stderr);
        var preload = options.PreloadLibrary ?? PreloadBuilder.Ensure(stderr);
        using var host = new RunHost(MachineFor(options.Machine), stderr, options.Check);
        return host.Execute(options, preload);
    }

    // The file execvp would run: a path with a slash as is, else the first match on PATH.
    private static string? Executable(string program)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(program) ? program : null;
        }
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, program);
            if (File.Exists(p))
            {
                return p;
            }
        }
        return null;
    }

    /// <summary>Runs a program on this host (tests reuse a host to look at the machine afterwards); <paramref name="check"/>: <c>--check</c>.</summary>
    public static RunHost Create(string? machine, TextWriter stderr, bool check = false) => new(MachineFor(machine), stderr, check);

    /// <summary>Starts the program with <paramref name="preload"/> and serves it to the end.</summary>
    public int Execute(RunOptions options, string preload)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Executable(options.Program) is { } exe && ElfInterp.IsStatic(exe))
        {
            throw new RunException($"dmabufsim run: {options.Program} is statically linked (an ELF without PT_INTERP): run supports " +
                "dynamically linked programs only, since its preload library enters through the dynamic loader (LD_PRELOAD); " +
                "there is no seccomp or ptrace path. Link the program dynamically.");
        }
        var psi = new ProcessStartInfo(options.Program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = options.ProgramStdout is not null,
            RedirectStandardError = options.ProgramStderr is not null,
        };
        foreach (var a in options.Arguments)
        {
            psi.ArgumentList.Add(a);
        }
        var existing = Environment.GetEnvironmentVariable("LD_PRELOAD");
        string libs = preload;
        if (options.Trace is { } trace)
        {
            // The tracer first: it sees the program's calls and passes them on (RTLD_NEXT) to the preload library, whose
            // constructor runs before the tracer's (so the tracer's header probes the simulated DRM devices).
            libs = (options.TracerLibrary ?? PreloadBuilder.EnsureTracer(_stderr)) + ":" + preload;
            psi.Environment["DMABUFSIM_TRACE_OUT"] = Path.GetFullPath(trace);
            psi.Environment["DMABUFSIM_TRACE_MACHINE"] = TraceMachine();
            psi.Environment.Remove("DMABUFSIM_TRACE_FDS");
        }
        psi.Environment["LD_PRELOAD"] = string.IsNullOrEmpty(existing) ? libs : libs + ":" + existing;
        psi.Environment["DMABUFSIM_RUN_SOCK"] = SocketPath;
        psi.Environment["DMABUFSIM_RUN_PHYSFD"] = _phys.Fd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_check is not null)
        {
            psi.Environment["DMABUFSIM_RUN_CHECK"] = "1";
        }
        System.Diagnostics.Process child;
        try
        {
            child = System.Diagnostics.Process.Start(psi) ?? throw new RunException($"{options.Program}: could not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new RunException($"{options.Program}: {e.Message}");
        }
        var copies = new List<Task>();
        if (options.ProgramStdout is { } o)
        {
            copies.Add(child.StandardOutput.BaseStream.CopyToAsync(new WriterStream(o)));
        }
        if (options.ProgramStderr is { } e2)
        {
            copies.Add(child.StandardError.BaseStream.CopyToAsync(new WriterStream(e2)));
        }
        var deadline = options.TimeoutSeconds is { } t ? Stopwatch.GetTimestamp() + (long)(t * Stopwatch.Frequency) : long.MaxValue;
        int status;
        using (child)
        {
            if (!child.WaitForExit(Remaining(deadline)))
            {
                _stderr.WriteLine($"dmabufsim run: timeout after {options.TimeoutSeconds} s: killing {options.Program}");
                child.Kill(entireProcessTree: true);
                child.WaitForExit();
                status = 124;
            }
            else
            {
                status = child.ExitCode;
            }
        }
        int left = Remaining(deadline);
        Task.WaitAll([.. copies], left == Timeout.Infinite ? -1 : Math.Max(left, 1000));
        // The processes the program forked keep the machine until they are gone (or the timeout).
        lock (_gate)
        {
            while (_connections > 0)
            {
                int ms = Remaining(deadline);
                if (ms == 0 || !Monitor.Wait(_gate, ms))
                {
                    _stderr.WriteLine("dmabufsim run: timeout: processes of the program are still running; their simulated processes exit now");
                    break;
                }
            }
            foreach (var hp in _byPid.Values.ToArray())
            {
                ExitProcess(hp);
            }
            foreach (var (f, n) in _inFlight)
            {
                for (int k = 0; k < n; k++)
                {
                    f.Put();
                }
            }
            _inFlight.Clear();
        }
        // The models' own records (KMS ioctls of drivers without modesetting, ...) and the host's (-ENOTTY ioctls,
        // unmodelled syscalls and debugfs paths).
        if (_unmodelled.Total > 0)
        {
            _stderr.WriteLine("dmabufsim run: unmodelled: " + _unmodelled.Summary());
        }
        // --check: the summary, and valgrind's --error-exitcode when anything but notes was found.
        if (_check is not null && _check.Finish() > 0)
        {
            return 99;
        }
        return status;
    }

    // The header's machine_config members the tracer cannot see from inside the program (its uname and sysinfo are the
    // host's): the simulated machine's architecture, memory and kernel profile, and whether the program is root in it.
    private string TraceMachine()
    {
        var o = _machine.GetRequiredService<MachineOptions>();
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        return string.Create(ci, $"\"arch\":\"{o.Arch}\",\"ram_mib\":{o.RamBytes >> 20},\"kernel_release\":\"{o.Kernel.Profile}.0-dmabufsim\"," +
            $"\"kernel_version\":\"dmabufsim run (the simulated kernel)\",\"root\":true");
    }

    private static int Remaining(long deadline)
    {
        if (deadline == long.MaxValue)
        {
            return Timeout.Infinite;
        }
        long left = deadline - Stopwatch.GetTimestamp();
        return left <= 0 ? 0 : (int)Math.Min(int.MaxValue, left * 1000 / Stopwatch.Frequency);
    }

    private void AcceptLoop()
    {
        while (true)
        {
            Socket s;
            try
            {
                s = _listener.Accept();
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            lock (_gate)
            {
                _connections++;
            }
            new Thread(() => Serve(s)) { IsBackground = true, Name = "run-conn" }.Start();
        }
    }

    private void Serve(Socket s)
    {
        var conn = new RunConnection(this, s);
        try
        {
            conn.Loop();
        }
        finally
        {
            s.Dispose();
            lock (_gate)
            {
                _connections--;
                if (conn.Owner is { } hp && --hp.Connections == 0 && !hp.ExecPending)
                {
                    ExitProcess(hp);
                }
                Monitor.PulseAll(_gate);
            }
        }
    }

    // do_exit of the simulated process of a real process that is gone (or calls exit()); once.
    private void ExitProcess(HostProcess hp)
    {
        if (hp.Exited)
        {
            return;
        }
        hp.Exited = true;
        _byPid.Remove(hp.RealPid);
        _sys.Exit(hp.Process);
        _check?.AfterExit(hp);
    }

    // --check's collector, or null.
    internal CheckReport? Check => _check;

    // RUN_EXIT: the process calls exit(); its simulated exit happens now (the caller holds the gate).
    internal void ExitNow(HostProcess hp) => ExitProcess(hp);

    internal object Gate => _gate;

    // Connections whose thread sleeps inside the simulator (a poll that found nothing ready).
    internal int Asleep { get; set; }

    // True when the caller is the only connection not asleep inside the simulator.
    internal bool EveryoneAsleepButOne() => Asleep + 1 >= _connections;

    internal Syscalls Sys => _sys;

    internal Vfs Vfs => _vfs;

    internal TextWriter Stderr => _stderr;

    internal ulong EndPfn => _phys.EndPfn;

    internal void Unmodelled(string what) => _unmodelled.Record(what);

    // HELLO: binds a connection to the simulated process of its real process.
    /// <summary>The simulated process of the program tree whose real pid is <paramref name="pid"/>, or null.</summary>
    internal Process? ProcessOfPid(int pid) => _byPid.TryGetValue(pid, out var hp) ? hp.Process : null;

    internal HostProcess? Bind(int pid, long kind, long arg, string comm, out string error)
    {
        error = "";
        if (kind == 2)
        {
            if (_byPid.TryGetValue(pid, out var t))
            {
                t.Connections++;
                return t;
            }
            error = "a thread of an unknown process";
            return null;
        }
        if (kind == 1)
        {
            if (!_forks.Remove(arg, out var child))
            {
                error = $"unknown fork token {arg}";
                return null;
            }
            return Add(pid, child);
        }
        if (kind != 0)
        {
            error = $"unknown hello kind {kind}";
            return null;
        }
        if (_byPid.TryGetValue(pid, out var known))
        {
            // A new image in a known process: execve succeeded.
            _sys.BeginNewExec(known.Process);
            _check?.Exec(pid);
            known.ExecPending = false;
            known.Connections++;
            return known;
        }
        if (_byPid.TryGetValue((int)arg, out var parent))
        {
            // A child made without fork() (posix_spawn's clone) that has just exec'd.
            long childPid = _sys.Fork(parent.Process);
            var child = _table.Find((int)childPid)!;
            _sys.BeginNewExec(child);
            return Add(pid, child);
        }
        return Add(pid, _table.Spawn(comm.Length == 0 ? "program" : comm));
    }

    private HostProcess Add(int pid, Process p)
    {
        var hp = new HostProcess(pid, p) { Connections = 1 };
        _byPid[pid] = hp;
        return hp;
    }

    internal long Fork(HostProcess parent)
    {
        long pid = _sys.Fork(parent.Process);
        if (pid > 0)
        {
            _forks[pid] = _table.Find((int)pid)!;
        }
        return pid;
    }

    internal void ForkAbort(long token)
    {
        if (_forks.Remove(token, out var child))
        {
            _sys.Exit(child);
        }
    }

    internal void Remember(ulong ino, KernelFile file) => _byIno[ino] = file;

    internal void Send(KernelFile file)
    {
        file.Get();
        _inFlight[file] = _inFlight.GetValueOrDefault(file) + 1;
    }

    // recvmsg: the placeholder with inode ino arrived at fd; its simulated file is installed there.
    internal int Adopt(HostProcess hp, int fd, ulong ino)
    {
        if (!_byIno.TryGetValue(ino, out var f) || f.Released || f.Count == 0)
        {
            return -1;
        }
        if (_inFlight.TryGetValue(f, out int n) && n > 0)
        {
            _inFlight[f] = n - 1;
        }
        else
        {
            f.Get();
        }
        hp.Process.InstallAt(fd, f, false);
        return 0;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _listener.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        _machine.Dispose();
        _phys.Dispose();
    }
}

/// <summary>A real process of the program tree and its simulated process.</summary>
internal sealed class HostProcess(int realPid, Process process)
{
    public int RealPid { get; } = realPid;

    public Process Process { get; } = process;

    public ProgramMemory Memory { get; } = new(realPid);

    public int Connections { get; set; }

    public bool ExecPending { get; set; }

    public bool Exited { get; set; }
}

// Bytes of a program's output into a TextWriter (UTF-8).
internal sealed class WriterStream(TextWriter writer) : Stream
{
    private readonly System.Text.Decoder _decoder = System.Text.Encoding.UTF8.GetDecoder();

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Flush() => writer.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        var chars = new char[_decoder.GetCharCount(buffer, offset, count)];
        _decoder.GetChars(buffer, offset, count, chars, 0);
        lock (writer)
        {
            writer.Write(chars);
        }
    }
}
