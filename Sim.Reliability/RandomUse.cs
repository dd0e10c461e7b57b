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

/// <summary>One broken invariant: the seed and step that reproduce it and what was wrong.</summary>
public sealed record InvariantViolation(int Seed, long Step, string Operation, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => $"seed {Seed} step {Step} ({Operation}): {Message}";
}

/// <summary>
/// Drives a machine and two processes through random user calls. Even seeds: an x86_64 machine with two vgem
/// devices, a virtio-gpu device, the page-array exporter and the kvmfr module (a 4 MiB static device); odd seeds:
/// the ARM vexpress board with its PL111 (GEM DMA helpers over CMA), a vgem device and the page-array exporter.
/// Calls: open/close/dup of device nodes, MODE_CREATE_DUMB with random sizes, MAP_DUMB + mmap, DESTROY_DUMB,
/// GEM_CLOSE, GEM_FLINK, GEM_OPEN, PRIME_HANDLE_TO_FD/FD_TO_HANDLE, dma-buf SYNC/lseek/fstat/mmap, vgem
/// FENCE_ATTACH/SIGNAL, kvmfr GETSIZE/CREATE, random ioctl numbers with random bytes, munmap, process exit. After
/// every step: no exception, no WARN, descriptors and GEM handles are the lowest free numbers (checked against a
/// model of what is open), every GEM object's handle count equals the handles that name it and its refcount covers
/// them, every file's count covers its descriptors, the CMA bitmap holds exactly the live DMA buffers' pages. At
/// every epoch end all processes exit and nothing may remain: no live object beyond the boot state, every shmem
/// page and buddy page back, CMA as at boot.
/// </summary>
public sealed class RandomUse : IDisposable
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
    public void Run(long ops)
    {
        for (long k = 0; k < ops && Violations.Count < 100; k++)
        {
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
    }

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

    private void Operate(Proc pr)
    {
        int op = _rng.Next(100);
        var p = pr.P;
        if (op < 8)
        {
            _op = "open";
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            int card = _rng.Next(_cards + 2);
            string path = card < _cards ? $"/dev/dri/card{card}" : card == _cards && !Arm ? "/dev/kvmfr0" : "/dev/dri/card9";
            int r = p.Openat(path, OpenFlags.O_RDWR | (_rng.Next(2) == 0 ? OpenFlags.O_CLOEXEC : 0));
            if (path == "/dev/dri/card9" && r != -(int)Errno.ENOENT)
            {
                Violation($"open {path} returned {r}, expected -ENOENT");
            }
            NewFd(pr, r, "open");
        }
        else if (op < 14)
        {
            _op = "close";
            int fd = RandomFd(pr);
            int r = p.Close(fd);
            int want = pr.Fds.ContainsKey(fd) ? 0 : -(int)Errno.EBADF;
            if (r != want)
            {
                Violation($"close({fd}) returned {r}, expected {want}");
            }
            ForgetFd(pr, fd);
        }
        else if (op < 17)
        {
            _op = "dup";
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            int fd = RandomFd(pr);
            int r = p.Dup(fd);
            if (!pr.Fds.ContainsKey(fd) && r != -(int)Errno.EBADF)
            {
                Violation($"dup({fd}) of a closed fd returned {r}");
            }
            NewFd(pr, r, "dup");
        }
        else if (op < 32)
        {
            _op = "MODE_CREATE_DUMB";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            if (m is not null && m.Handles.Count >= MaxHandles)
            {
                return;
            }
            var b = new byte[32];
            bool valid = _rng.Next(6) != 0;
            uint w = valid ? (uint)_rng.Next(1, 200) : (uint)_rng.NextInt64(0, 1L << 32);
            uint h = valid ? (uint)_rng.Next(1, 100) : (uint)_rng.NextInt64(0, 1L << 32);
            uint bpp = valid ? (uint)(8 << _rng.Next(3)) : (uint)_rng.Next(0, 70);
            uint flags = _rng.Next(10) == 0 ? (uint)_rng.Next() : 0;
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), w);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), bpp);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), flags);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, b);
            if (m is null && r >= 0)
            {
                Violation($"CREATE_DUMB on fd {fd} (not a DRM file) returned {r}");
            }
            if (r == 0 && m is not null)
            {
                NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)), "CREATE_DUMB", mayExist: false);
            }
            else if (valid && flags == 0 && m is not null && r != 0 && IsVgem(pr, fd))
            {
                Violation($"CREATE_DUMB {w}x{h}x{bpp} returned {r}");
            }
            else if (r != 0 && m is not null && r != -(long)Errno.EINVAL && r != -(long)Errno.ENOMEM)
            {
                Violation($"CREATE_DUMB {w}x{h}x{bpp} flags 0x{flags:x} returned {r}, not 0, -EINVAL or -ENOMEM");
            }
        }
        else if (op < 40)
        {
            bool destroy = _rng.Next(2) == 0;
            _op = destroy ? "MODE_DESTROY_DUMB" : "GEM_CLOSE";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            uint h = RandomHandle(pr, fd);
            var b = new byte[destroy ? 4 : 8];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            long r = Ioctl(pr, fd, destroy ? DrmH.DRM_IOCTL_MODE_DESTROY_DUMB : DrmH.DRM_IOCTL_GEM_CLOSE, b);
            if (m is not null)
            {
                long want = m.Handles.Contains(h) ? 0 : -(long)Errno.EINVAL;
                if (r != want)
                {
                    Violation($"{_op}({h}) returned {r}, expected {want}");
                }
                if (r == 0)
                {
                    m.Handles.Remove(h);
                }
            }
        }
        else if (op < 45)
        {
            _op = "GEM_FLINK";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            uint h = RandomHandle(pr, fd);
            var b = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_GEM_FLINK, b);
            if (m is not null)
            {
                long want = m.Handles.Contains(h) ? 0 : -(long)Errno.ENOENT;
                if (r != want)
                {
                    Violation($"GEM_FLINK({h}) returned {r}, expected {want}");
                }
                if (r == 0)
                {
                    _names[BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4))] = true;
                }
            }
        }
        else if (op < 50)
        {
            _op = "GEM_OPEN";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            if (m is not null && m.Handles.Count >= MaxHandles)
            {
                return;
            }
            uint name = (uint)_rng.Next(0, 12);
            var b = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(b, name);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_GEM_OPEN, b);
            if (m is not null)
            {
                if (r == 0)
                {
                    if (!_names.ContainsKey(name))
                    {
                        Violation($"GEM_OPEN of name {name}, never handed out, succeeded");
                    }
                    NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)), "GEM_OPEN", mayExist: false);
                }
                else if (r != -(long)Errno.ENOENT)
                {
                    Violation($"GEM_OPEN({name}) returned {r}");
                }
            }
        }
        else if (op < 58)
        {
            _op = "PRIME_HANDLE_TO_FD";
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            uint h = RandomHandle(pr, fd);
            uint flags = _rng.Next(8) switch { 0 => (uint)_rng.Next(), 1 => 0, 2 => DrmH.DRM_CLOEXEC, _ => DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR };
            var b = new byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), flags);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, b);
            if (m is not null && r == 0)
            {
                if (!m.Handles.Contains(h))
                {
                    Violation($"PRIME_HANDLE_TO_FD of unknown handle {h} succeeded");
                }
                NewFd(pr, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8)), "PRIME_HANDLE_TO_FD");
            }
            else if (m is not null && m.Handles.Contains(h) && (flags & ~(DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR)) == 0)
            {
                Violation($"PRIME_HANDLE_TO_FD({h}, 0x{flags:x}) returned {r}");
            }
        }
        else if (op < 64)
        {
            _op = "PRIME_FD_TO_HANDLE";
            int fd = RandomFdOf(pr, drm: true);
            var m = ModelOf(pr, fd);
            if (m is not null && m.Handles.Count >= MaxHandles)
            {
                return;
            }
            int dfd = RandomFdOf(pr, drm: false);
            var b = new byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), dfd);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, b);
            if (m is not null && r == 0)
            {
                NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(b), "PRIME_FD_TO_HANDLE", mayExist: true);
            }
            if (r == 0 && !pr.Fds.ContainsKey(dfd))
            {
                Violation($"PRIME_FD_TO_HANDLE of closed fd {dfd} succeeded");
            }
        }
        else if (op < 70)
        {
            _op = "MAP_DUMB+mmap";
            int fd = RandomFdOf(pr, drm: true);
            uint h = RandomHandle(pr, fd);
            var b = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(b, h);
            long r = Ioctl(pr, fd, DrmH.DRM_IOCTL_MODE_MAP_DUMB, b);
            if (r == 0 && pr.Maps.Count < 16)
            {
                ulong off = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8));
                ulong len = (ulong)_rng.Next(1, 5) * 4096;
                MapInto(pr, fd, len, off);
            }
        }
        else if (op < 74)
        {
            _op = "mmap dma-buf";
            int fd = RandomFdOf(pr, drm: false);
            if (pr.Maps.Count < 16)
            {
                MapInto(pr, fd, (ulong)_rng.Next(1, 5) * 4096, (ulong)_rng.Next(0, 3) * 4096);
            }
        }
        else if (op < 79)
        {
            _op = "munmap";
            if (pr.Maps.Count > 0)
            {
                int i = _rng.Next(pr.Maps.Count);
                var (addr, len) = pr.Maps[i];
                int r = p.Munmap(addr, len);
                if (r != 0)
                {
                    Violation($"munmap(0x{addr:x}, {len}) returned {r}");
                }
                pr.Maps.RemoveAt(i);
                if (_rng.Next(4) == 0)
                {
                    // Touch another mapping, as a program reads its buffer.
                    if (pr.Maps.Count > 0)
                    {
                        Span<byte> one = stackalloc byte[1];
                        _ = p.Load(pr.Maps[0].Addr, one);
                    }
                }
            }
        }
        else if (op < 85)
        {
            _op = "DMA_BUF_IOCTL_SYNC";
            int fd = RandomFdOf(pr, drm: false);
            ulong flags = _rng.Next(6) == 0 ? (ulong)_rng.NextInt64() : (ulong)_rng.Next(0, 8);
            var b = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, flags);
            long r = Ioctl(pr, fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, b);
            bool isDmaBuf = pr.Fds.TryGetValue(fd, out var f) && Sim.DmaBuf.DmaBuf.IsDmaBufFile(f);
            if (isDmaBuf)
            {
                bool ok = (flags & ~DmaBufUapi.DMA_BUF_SYNC_VALID_FLAGS_MASK) == 0 && (flags & DmaBufUapi.DMA_BUF_SYNC_RW) != 0;
                if (!ok && r != -(long)Errno.EINVAL)
                {
                    Violation($"DMA_BUF_IOCTL_SYNC(0x{flags:x}) returned {r}, expected -EINVAL");
                }
            }
        }
        else if (op < 88)
        {
            _op = "lseek/fstat";
            int fd = RandomFdOf(pr, drm: false);
            long r = p.Lseek(fd, 0, 2);
            var (rs, st) = p.Fstat(fd);
            if (pr.Fds.TryGetValue(fd, out var f) && Sim.DmaBuf.DmaBuf.IsDmaBufFile(f) && (r != st.Size || rs != 0))
            {
                Violation($"lseek(SEEK_END) of a dma-buf returned {r}, fstat size {st.Size}");
            }
        }
        else if (op < 93)
        {
            _op = "VGEM_FENCE_ATTACH/SIGNAL";
            int fd = RandomFdOf(pr, drm: true);
            if (_rng.Next(2) == 0)
            {
                var b = new byte[16];
                BinaryPrimitives.WriteUInt32LittleEndian(b, RandomHandle(pr, fd));
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), _rng.Next(6) == 0 ? (uint)_rng.Next() : (uint)_rng.Next(2));
                _ = Ioctl(pr, fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, b);
            }
            else
            {
                var b = new byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)_rng.Next(0, 6));
                _ = Ioctl(pr, fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, b);
            }
        }
        else if (op < 96 && !Arm)
        {
            _op = "KVMFR_DMABUF_CREATE/GETSIZE";
            int fd = RandomFdOf(pr, drm: false);
            bool isKvmfr = pr.Fds.TryGetValue(fd, out var kf) && kf.Name.Contains("kvmfr", StringComparison.Ordinal);
            if (_rng.Next(3) == 0)
            {
                long size = Ioctl(pr, fd, Sim.DmaBuf.Kvmfr.KvmfrUapi.KVMFR_DMABUF_GETSIZE, new byte[8]);
                if (isKvmfr && size != 4L << 20)
                {
                    Violation($"KVMFR_DMABUF_GETSIZE returned {size}, the device has 4 MiB");
                }
                return;
            }
            if (pr.Fds.Count >= MaxFds)
            {
                return;
            }
            ulong offset = _rng.Next(8) == 0 ? (ulong)_rng.NextInt64() : (ulong)_rng.Next(0, 1100) * 4096;
            // Size 0 is left out: kvmfr accepts it and the import then reads pages[0] of a ZERO_SIZE_PTR array in
            // sg_alloc_table_from_pages (an oops in Linux 6.1), which the simulator does not model.
            ulong len = _rng.Next(8) == 0 ? (ulong)_rng.Next(1, int.MaxValue) : (ulong)_rng.Next(1, 64) * 4096;
            var create = new Sim.DmaBuf.Kvmfr.kvmfr_dmabuf_create { flags = (byte)_rng.Next(2), offset = offset, size = len };
            long r = Ioctl(pr, fd, Sim.DmaBuf.Kvmfr.KvmfrUapi.KVMFR_DMABUF_CREATE, create.ToBytes());
            if (isKvmfr)
            {
                bool ok = len != 0 && offset % 4096 == 0 && len % 4096 == 0 && offset + len >= offset && offset + len <= 4UL << 20;
                if (ok && r < 0)
                {
                    Violation($"KVMFR_DMABUF_CREATE(offset 0x{offset:x}, size 0x{len:x}) returned {r}");
                }
                if (!ok && len != 0 && r >= 0)
                {
                    Violation($"KVMFR_DMABUF_CREATE(offset 0x{offset:x}, size 0x{len:x}) out of range returned fd {r}");
                }
            }
            NewFd(pr, r, "KVMFR_DMABUF_CREATE");
        }
        else if (op < 98)
        {
            _op = "random ioctl";
            int fd = RandomFd(pr);
            uint cmd = RandomCmd();
            var b = new byte[Math.Max(8, (int)Sim.Drm.Uapi.Ioctl._IOC_SIZE(cmd))];
            _rng.NextBytes(b);
            int before = pr.P.Files.OpenFds().Count();
            _ = pr.P.Ioctl(fd, cmd, new UserArg(0x10000, b));
            if (pr.P.Files.OpenFds().Count() != before)
            {
                Violation($"random ioctl 0x{cmd:x} changed the fd table");
            }
        }
        else
        {
            _op = "exit";
            ExitProcess(Array.IndexOf(_procs, pr));
        }
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

    private readonly Dictionary<DrmGemObject, int> _slotCount = [];
    private readonly Dictionary<KernelFile, int> _fdCount = [];
    private readonly HashSet<DrmFile> _seenFiles = [];

    private void CheckStep()
    {
        if (_warnings.Count != _warnSeen)
        {
            for (int k = _warnSeen; k < _warnings.Count; k++)
            {
                Violation($"WARN {_warnings.Records[k].Condition} in {_warnings.Records[k].Function}");
            }
            _warnSeen = _warnings.Count;
        }
        _slotCount.Clear();
        _fdCount.Clear();
        _seenFiles.Clear();
        foreach (var pr in _procs)
        {
            // The model's descriptors are exactly the process's.
            int n = 0;
            foreach (int fd in pr.P.Files.OpenFds())
            {
                n++;
                if (!pr.Fds.TryGetValue(fd, out var mf) || !ReferenceEquals(mf, pr.P.Fget(fd)))
                {
                    Violation($"fd {fd} is open in pid {pr.P.Pid} but not in the model");
                    pr.Fds[fd] = pr.P.Fget(fd)!;
                }
            }
            if (n != pr.Fds.Count)
            {
                Violation($"pid {pr.P.Pid} has {n} fds, the model {pr.Fds.Count}");
            }
            foreach (var f in pr.Fds.Values)
            {
                _fdCount[f] = _fdCount.GetValueOrDefault(f) + 1;
                if (f.PrivateData is DrmFile df && _seenFiles.Add(df))
                {
                    CountSlots(df);
                    if (_drm.TryGetValue(f, out var m) && m.Handles.Count != df.ObjectIdr.Count)
                    {
                        Violation($"drm_file has {df.ObjectIdr.Count} handles, the model {m.Handles.Count}");
                    }
                }
            }
            foreach (var v in pr.P.Mm.Vmas)
            {
                if (v.File?.PrivateData is DrmFile df && _seenFiles.Add(df))
                {
                    CountSlots(df);
                }
            }
        }
        foreach (var (f, count) in _fdCount)
        {
            if (f.Count < count)
            {
                Violation($"file {f} has f_count {f.Count} but {count} descriptors");
            }
        }
        if (_armDma is not null && _cma is not null)
        {
            // The CMA bitmap holds exactly the live DMA buffers' pages (beyond what boot took).
            ulong pages = 0;
            foreach (var (pfn, size) in _armDma.Buffers())
            {
                ulong n = size >> 12;
                pages += n;
                for (ulong k = 0; k < n; k += Math.Max(1, n / 4))
                {
                    if (!_cma.IsAllocated((pfn + k - _cma.BasePfn) >> _cma.OrderPerBit))
                    {
                        Violation($"CMA bitmap: pfn 0x{pfn + k:x} of a live DMA buffer is free");
                        break;
                    }
                }
            }
            if (_cma.UsedPages != _bootCmaUsed + pages)
            {
                Violation($"CMA used {_cma.UsedPages} pages, boot {_bootCmaUsed} + live DMA buffers {pages}");
            }
        }
        bool complete = true;
        foreach (var (obj, slots) in _slotCount)
        {
            // Handles held through drm_files reachable only from other places would be missed: only count when
            // every file holding handles of the object is reachable (always, unless a drm_file lives on in a vma
            // of an exited process, which cannot happen: exit unmaps first).
            if (complete && obj.HandleCount != slots)
            {
                Violation($"gem object of {obj.Size} bytes: handle_count {obj.HandleCount}, {slots} handles name it");
            }
            // drm_gem_object_handle_get: the handles together hold one reference; an exported object's dma-buf
            // holds another (drm_gem_prime_export); an imported object's dma_buf is the exporter's.
            int need = (obj.HandleCount > 0 ? 1 : 0) + (obj.DmaBuf is not null && obj.ImportAttach is null ? 1 : 0);
            if (obj.Refcount < need || obj.Freed)
            {
                Violation($"gem object of {obj.Size} bytes: refcount {obj.Refcount} below handles+export {need} (freed {obj.Freed})");
            }
        }
    }

    private void CountSlots(DrmFile df)
    {
        foreach (var (_, slot) in df.ObjectIdr.Entries())
        {
            if (slot.Obj is { } obj)
            {
                _slotCount[obj] = _slotCount.GetValueOrDefault(obj) + 1;
            }
        }
    }

    /// <summary>Every process exits; nothing may be left alive and every page must be back.</summary>
    public void EndEpoch()
    {
        _op = "epoch end (all processes exit)";
        try
        {
            ExitProcess(0);
            ExitProcess(1);
            _names.Clear();
            CheckStep();
            if (_live.Count() != _bootLive)
            {
                foreach (var o in _live.Alive().Skip(_bootLive).Take(5))
                {
                    Violation("leak: " + LeakReport.Describe(o, _processes));
                }
            }
            if (_shmem.PagesInUse != 0)
            {
                Violation($"leak: {_shmem.PagesInUse} shmem pages in use");
            }
            if (_pageAlloc.Meminfo().MemFree != _bootFree)
            {
                Violation($"leak: MemFree {_pageAlloc.Meminfo().MemFree} pages, {_bootFree} at boot");
            }
            if ((_cma?.UsedPages ?? 0) != _bootCmaUsed)
            {
                Violation($"leak: CMA used {_cma!.UsedPages}, {_bootCmaUsed} at boot");
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Violation("exception " + e.GetType().Name + ": " + e.Message);
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _machine.Dispose();
}
