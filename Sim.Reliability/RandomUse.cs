// Random use of the user-visible API (DRM ioctls, PRIME, dma-buf file ops, vgem fences, mmap/munmap/close/dup,
// process exit) on one simulated machine, with invariants checked after every step against a small model.
using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBuf.Uapi;
using Sim.Drm;
using Sim.Drm.Uapi;
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
/// page and buddy page back, CMA as at boot.
/// </summary>
public sealed partial class RandomUse : IDisposable
{
    private const int EpochOps = 400;
    private const int MaxFds = 24;
    private const int MaxHandles = 12;

    private readonly ServiceProvider _machine;
    private readonly Random _rng;
    private readonly int _seed;
    private readonly ProcessTable _processes;
    private readonly LiveObjects _live;
    private readonly Warnings _warnings;
    private readonly Shmem _shmem;
    private readonly PageAlloc _pageAlloc;
    private readonly Cma? _cma;
    private readonly int _bootLive;
    private readonly ulong _bootFree;
    private readonly ulong _bootCmaUsed;
    private readonly Proc[] _procs = new Proc[2];
    private readonly int _cards;
    private readonly CurrentTask _current;
    private readonly Sim.Core.Dma.ArmDmaMapping? _armDma;
    private readonly Dictionary<uint, bool> _names = [];
    private int _warnSeen;
    private long _step;
    private string _op = "";

    private sealed class Proc
    {
        public required Process P;
        public readonly SortedDictionary<int, KernelFile> Fds = [];
        public readonly List<(ulong Addr, ulong Len)> Maps = [];
    }

    private sealed class DrmModel
    {
        public readonly SortedSet<uint> Handles = [];
    }

    private readonly Dictionary<KernelFile, DrmModel> _drm = [];

    /// <summary>Builds the machine and the processes for <paramref name="seed"/>.</summary>
    public RandomUse(int seed)
    {
        _seed = seed;
        _rng = new Random(seed);
        var o = new MachineOptions();
        Arm = (seed & 1) != 0;
        if (Arm)
        {
            o.ApplyArmBoard();
            o.AddDrmDevice("vgem");
            o.AddDrmDevice(Sim.Drm.Drivers.Amdgpu.AmdgpuDmaBuf.DRIVER_NAME);
        }
        else
        {
            o.AddDrmDevice("vgem");
            o.AddDrmDevice("vgem");
            o.AddDrmDevice("virtio_gpu");
            o.AddDrmDevice(Sim.Drm.Drivers.Amdgpu.AmdgpuDmaBuf.DRIVER_NAME);
        }
        // The DMA-BUF heaps: the system heap on both, the CMA heap ("reserved") on the board with its CMA area.
        o.DmaHeapSystem = true;
        o.DmaHeapCma = Arm;
        _cards = o.DrmDevices.Count;
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
        if (!Arm)
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
        Spawn(0);
        Spawn(1);
    }

    /// <summary>True for the ARM board (odd seeds), false for the x86_64 machine.</summary>
    public bool Arm { get; }

    /// <summary>The violations found so far.</summary>
    public List<InvariantViolation> Violations { get; } = [];

    /// <summary>Per operation: how often it ran and how often it returned success (0 or a new fd/handle/address).</summary>
    public SortedDictionary<string, (long Calls, long Ok)> Stats { get; } = new(StringComparer.Ordinal);

    /// <summary>Steps run so far.</summary>
    public long Steps => _step;

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

    private void Spawn(int i) => _procs[i] = new Proc { P = _processes.Spawn("stress" + i) };

    private void Violation(string message) => Violations.Add(new InvariantViolation(_seed, _step, _op, message));

    /// <summary>One random operation followed by the per-step invariants.</summary>
    public void Step()
    {
        _step++;
        var pr = _procs[_rng.Next(2)];
        StepStarting?.Invoke(pr.P.Pid, pr.P.Comm);
        try
        {
            _lastOk = false;
            using var task = _current.Enter(pr.P);
            Operate(pr);
            var (calls, okCount) = Stats.GetValueOrDefault(_op);
            Stats[_op] = (calls + 1, okCount + (_lastOk ? 1 : 0));
            CheckStep();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Violation("exception " + e.GetType().Name + ": " + e.Message + " at " + SweepCase.Frames(e.StackTrace, 5));
        }
        finally
        {
            StepFinished?.Invoke(_op, _lastOk);
        }
    }

    /// <summary>Called before every step with the process (pid, comm) that makes it (a timeline's call begins).</summary>
    public Action<int, string>? StepStarting { get; set; }

    /// <summary>Called after every step with its operation and whether it succeeded.</summary>
    public Action<string, bool>? StepFinished { get; set; }

    /// <summary>The machine the steps run on (for observers such as a timeline recorder).</summary>
    public IServiceProvider Machine => _machine;

    private int RandomFd(Proc pr)
    {
        if (pr.Fds.Count == 0 || _rng.Next(16) == 0)
        {
            return _rng.Next(-2, MaxFds + 4);
        }
        int i = _rng.Next(pr.Fds.Count);
        foreach (int fd in pr.Fds.Keys)
        {
            if (i-- == 0)
            {
                return fd;
            }
        }
        return -1;
    }

    private int RandomFdOf(Proc pr, bool drm)
    {
        Span<int> c = stackalloc int[MaxFds + 8];
        int n = 0;
        foreach (var (fd, f) in pr.Fds)
        {
            if (_drm.ContainsKey(f) == drm && n < c.Length)
            {
                c[n++] = fd;
            }
        }
        return n == 0 || _rng.Next(20) == 0 ? RandomFd(pr) : c[_rng.Next(n)];
    }

    private uint RandomHandle(Proc pr, int fd)
    {
        if (pr.Fds.TryGetValue(fd, out var f) && _drm.TryGetValue(f, out var m) && m.Handles.Count > 0 && _rng.Next(8) != 0)
        {
            int i = _rng.Next(m.Handles.Count);
            foreach (uint h in m.Handles)
            {
                if (i-- == 0)
                {
                    return h;
                }
            }
        }
        return (uint)_rng.Next(0, MaxHandles + 2);
    }

    private int LowestFreeFd(Proc pr)
    {
        int fd = 0;
        while (pr.Fds.ContainsKey(fd))
        {
            fd++;
        }
        return fd;
    }

    private static uint LowestFreeHandle(DrmModel m)
    {
        uint h = 1;
        while (m.Handles.Contains(h))
        {
            h++;
        }
        return h;
    }

    // virtio_gpu_mode_dumb_create takes only bpp 32 (-EINVAL otherwise); vgem's drm_gem_shmem_dumb_create any.
    private static bool IsVgem(Proc pr, int fd) => pr.Fds.TryGetValue(fd, out var f) && f.PrivateData is DrmFile df && df.Dev.Driver.Name == "vgem";

    private DrmModel? ModelOf(Proc pr, int fd) => pr.Fds.TryGetValue(fd, out var f) && _drm.TryGetValue(f, out var m) ? m : null;

    private void NewFd(Proc pr, long ret, string what)
    {
        if (ret < 0)
        {
            return;
        }
        _lastOk = true;
        int want = LowestFreeFd(pr);
        if (ret != want)
        {
            Violation($"{what} returned fd {ret}, the lowest free fd is {want}");
        }
        var f = pr.P.Fget((int)ret);
        if (f is null)
        {
            Violation($"{what} returned fd {ret} that is not open");
            return;
        }
        pr.Fds[(int)ret] = f;
        if (f.PrivateData is DrmFile && !_drm.ContainsKey(f))
        {
            _drm[f] = new DrmModel();
        }
    }

    private void NewHandle(DrmModel m, uint h, string what, bool mayExist)
    {
        if (mayExist && m.Handles.Contains(h))
        {
            return;
        }
        uint want = LowestFreeHandle(m);
        if (h != want)
        {
            Violation($"{what} returned handle {h}, the lowest free handle is {want}");
        }
        m.Handles.Add(h);
    }

    private void ForgetFd(Proc pr, int fd)
    {
        if (!pr.Fds.Remove(fd, out var f))
        {
            return;
        }
        foreach (var other in _procs)
        {
            if (other.Fds.ContainsValue(f))
            {
                return;
            }
        }
        _drm.Remove(f); // no descriptor names the drm_file any more: its handles are out of the model's reach
    }

    private bool _lastOk;

    private long Ioctl(Proc pr, int fd, uint cmd, byte[] b)
    {
        long r = pr.P.Ioctl(fd, cmd, new UserArg(0x10000, b));
        _lastOk |= r >= 0;
        return r;
    }

    private static readonly uint[] s_modelled =
    [
        0x09, 0x0a, 0x0b, 0x2d, 0x2e, 0xb2, 0xb3, 0xb4, DrmH.DRM_COMMAND_BASE + 1,
    ];

    private uint RandomCmd()
    {
        while (true)
        {
            uint cmd = _rng.Next(3) switch
            {
                0 => (uint)_rng.NextInt64(0, 1L << 32),
                1 => Sim.Drm.Uapi.Ioctl._IOC((uint)_rng.Next(4), DrmH.DRM_IOCTL_BASE, (uint)_rng.Next(256), (uint)_rng.Next(0, 128)),
                _ => Sim.Drm.Uapi.Ioctl._IOC((uint)_rng.Next(4), DmaBufUapi.DMA_BUF_BASE, (uint)_rng.Next(8), (uint)_rng.Next(0, 16)),
            };
            uint type = Sim.Drm.Uapi.Ioctl._IOC_TYPE(cmd);
            uint nr = Sim.Drm.Uapi.Ioctl._IOC_NR(cmd);
            // Ioctls that create descriptors or handles are driven by the model's own operations.
            if (type == DrmH.DRM_IOCTL_BASE && Array.IndexOf(s_modelled, nr) >= 0)
            {
                continue;
            }
            if (type == DmaBufUapi.DMA_BUF_BASE && nr == 2)
            {
                continue; // EXPORT_SYNC_FILE makes a descriptor
            }
            return cmd;
        }
    }

    private void MapInto(Proc pr, int fd, ulong len, ulong off)
    {
        long addr = pr.P.Mmap(len, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, off);
        if (addr >= 0 || addr < -4095)
        {
            _lastOk = true;
            pr.Maps.Add(((ulong)addr, len));
            Span<byte> one = stackalloc byte[1];
            _ = pr.P.Store((ulong)addr, one);
        }
    }

    private void ExitProcess(int i)
    {
        var pr = _procs[i];
        pr.P.Exit();
        foreach (int fd in pr.Fds.Keys.ToArray())
        {
            ForgetFd(pr, fd);
        }
        Spawn(i);
    }

    /// <inheritdoc/>
    public void Dispose() => _machine.Dispose();
}
