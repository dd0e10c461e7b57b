// Random use of the user-visible API (DRM ioctls, PRIME, dma-buf file ops, vgem fences, mmap/munmap/close/dup,
// process exit) on one simulated machine, with invariants checked after every step against a small model.
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Reliability.Use;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// Drives a machine and two processes through random user calls. Even seeds: an x86_64 machine with two vgem
/// devices, a virtio-gpu device, the page-array exporter and the kvmfr module (a 4 MiB static device); odd seeds:
/// the ARM vexpress board with its PL111 (GEM DMA helpers over CMA), a vgem device and the page-array exporter.
/// Calls: open/close/dup of device nodes, MODE_CREATE_DUMB with random sizes, MAP_DUMB + mmap, DESTROY_DUMB,
/// GEM_CLOSE, GEM_FLINK, GEM_OPEN, PRIME_HANDLE_TO_FD/FD_TO_HANDLE, dma-buf SYNC/lseek/fstat/mmap, vgem
/// FENCE_ATTACH/SIGNAL, kvmfr GETSIZE/CREATE, DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/system (and the CMA heap on the
/// board), random ioctl numbers with random bytes, munmap, process exit. After
/// every step: no exception, no WARN, descriptors and GEM handles are the lowest free numbers (checked against a
/// model of what is open), every GEM object's handle count equals the handles that name it and its refcount covers
/// them, every file's count covers its descriptors, the CMA bitmap holds exactly the live DMA buffers' pages. At
/// every epoch end all processes exit and nothing may remain: no live object beyond the boot state, every shmem
/// page and buddy page back, CMA as at boot. Every operation is a <see cref="UseCommand"/>; the FsCheck properties
/// run generated sequences of the same commands through <see cref="Apply"/>.
/// </summary>
public sealed partial class RandomUse : IDisposable
{
    private const int EpochOps = 400;

    private readonly ServiceProvider _machine;
    private readonly Random _rng;
    private readonly int _seed;
    private readonly UseConfig _config;
    private readonly ProcessTable _processes;
    private readonly LiveObjects _live;
    private readonly Warnings _warnings;
    private readonly Shmem _shmem;
    private readonly PageAlloc _pageAlloc;
    private readonly Cma? _cma;
    private readonly int _bootLive;
    private readonly ulong _bootFree;
    private readonly ulong _bootCmaUsed;
    private readonly UseState _state;
    private readonly CurrentTask _current;
    private readonly Sim.Core.Dma.ArmDmaMapping? _armDma;
    private int _warnSeen;
    private long _step;
    private string _op = "";

    /// <summary>Builds the machine of <paramref name="seed"/> (<see cref="UseConfig.ForSeed"/>) and its processes.</summary>
    public RandomUse(int seed)
        : this(UseConfig.ForSeed(seed), seed)
    {
    }

    /// <summary>Builds the machine of <paramref name="config"/> and its processes; <paramref name="seed"/> drives <see cref="Step"/>.</summary>
    public RandomUse(UseConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        _seed = seed;
        _config = config;
        _rng = new Random(seed);
        var o = new MachineOptions();
        Arm = config.Arm;
        if (Arm)
        {
            o.ApplyArmBoard();
        }
        foreach (string d in config.Devices)
        {
            o.AddDrmDevice(d);
        }
        // The DMA-BUF heaps: the system heap, and the CMA heap ("reserved") on the board with its CMA area.
        o.DmaHeapSystem = config.Heaps;
        o.DmaHeapCma = config.Heaps && Arm;
        _machine = Composition.BuildMachine(o);
        _current = _machine.GetRequiredService<CurrentTask>();
        _processes = _machine.GetRequiredService<ProcessTable>();
        _live = _machine.GetRequiredService<LiveObjects>();
        _warnings = _machine.GetRequiredService<Warnings>();
        _shmem = _machine.GetRequiredService<Shmem>();
        _pageAlloc = _machine.GetRequiredService<PageAlloc>();
        _cma = _machine.GetService<Cma>();
        Composition.Boot(_machine);
        _armDma = _machine.GetService<Sim.Core.Dma.ArmDmaMapping>();
        if (config.Kvmfr)
        {
            var (status, output) = _machine.GetRequiredService<Sim.Core.Userspace.Busybox>().Exec("insmod /mods/kvmfr.ko static_size_mb=4");
            if (status != 0)
            {
                throw new InvalidOperationException("stress machine: insmod kvmfr: " + output);
            }
        }
        _bootLive = _live.Count();
        _bootFree = _pageAlloc.Meminfo().MemFree;
        _bootCmaUsed = _cma?.UsedPages ?? 0;
        _warnSeen = _warnings.Count;
        _state = new UseState(2, o.DrmDevices.Count, Arm, config.Kvmfr, config.Heaps, _processes.Spawn, Violation, _rng);
    }

    /// <summary>True for the ARM board (odd seeds), false for the x86_64 machine.</summary>
    public bool Arm { get; }

    /// <summary>The violations found so far.</summary>
    public List<InvariantViolation> Violations { get; } = [];

    /// <summary>Per operation: how often it ran and how often it succeeded (0 or a new fd/handle/address).</summary>
    public SortedDictionary<string, (long Calls, long Ok)> Stats { get; } = new(StringComparer.Ordinal);

    /// <summary>Steps run so far.</summary>
    public long Steps => _step;

    /// <summary>The model and processes the commands run against.</summary>
    public UseState State => _state;

    /// <summary>Runs <paramref name="ops"/> random steps (plus the epoch checks), stopping early after 100 violations.</summary>
    public void Run(long ops) => Run(ops, CancellationToken.None);

    /// <summary>
    /// Runs up to <paramref name="ops"/> random steps; <paramref name="cancel"/> stops between steps (Ctrl-C), and
    /// <paramref name="progress"/> is told the steps run so far every 1,024 steps.
    /// </summary>
    public void Run(long ops, CancellationToken cancel, Action<long>? progress = null)
    {
        for (long k = 0; k < ops && Violations.Count < 100 && !cancel.IsCancellationRequested; k++)
        {
            if ((k & 1023) == 0)
            {
                progress?.Invoke(k);
            }
            Step();
            if (_step % EpochOps == 0)
            {
                EndEpoch();
            }
        }
        EndEpoch();
    }

    private void Violation(string message) => Violations.Add(new InvariantViolation(_seed, _step, _op, message));

    /// <summary>One random operation (the process, then the command, then its arguments drawn from the seed) and the per-step invariants.</summary>
    public void Step()
    {
        int i = _rng.Next(_state.Procs.Length);
        RunStep(i, () => UseCommands.ForNumber(_rng.Next(100), i, _config.Kvmfr, _rng));
    }

    /// <summary>
    /// Runs <paramref name="command"/> as the next step (its arguments drawn from <paramref name="rng"/>, e.g. one
    /// seeded per generated command so that a shrunk sequence draws the same ones), then the per-step invariants.
    /// </summary>
    public void Apply(UseCommand command, Random rng)
    {
        ArgumentNullException.ThrowIfNull(command);
        _state.Rng = rng;
        try
        {
            RunStep(command.Proc, () => command);
        }
        finally
        {
            _state.Rng = _rng;
        }
    }

    private void RunStep(int proc, Func<UseCommand> make)
    {
        _step++;
        var pr = _state.Procs[proc];
        StepStarting?.Invoke(pr.P.Pid, pr.P.Comm);
        bool ok = false;
        try
        {
            using var task = _current.Enter(pr.P);
            var command = make();
            _op = command.Name;
            LastCommand = command;
            ok = command.Execute(_state);
            var (calls, okCount) = Stats.GetValueOrDefault(_op);
            Stats[_op] = (calls + 1, okCount + (ok ? 1 : 0));
            CheckStep();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Violation("exception " + e.GetType().Name + ": " + e.Message + " at " + SweepCase.Frames(e.StackTrace, 5));
        }
        finally
        {
            StepFinished?.Invoke(_op, ok);
        }
    }

    /// <summary>The command of the last step (printable with the arguments it drew).</summary>
    public UseCommand? LastCommand { get; private set; }

    /// <summary>Called before every step with the process (pid, comm) that makes it (a timeline's call begins).</summary>
    public Action<int, string>? StepStarting { get; set; }

    /// <summary>Called after every step with its operation and whether it succeeded.</summary>
    public Action<string, bool>? StepFinished { get; set; }

    /// <summary>The machine the steps run on (for observers such as a timeline recorder).</summary>
    public IServiceProvider Machine => _machine;

    /// <inheritdoc/>
    public void Dispose() => _machine.Dispose();
}
