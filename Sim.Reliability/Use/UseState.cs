using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Drm;

namespace Sim.Reliability.Use;

/// <summary>
/// What the commands of random use (<see cref="UseCommand"/>) run against: the machine's processes (reached only
/// through their system calls) and the model of what they hold (descriptors, mappings, GEM handles and the objects
/// they name, flink names per device, exported dma-bufs). The commands' arguments are drawn from <see cref="Rng"/>.
/// </summary>
public sealed class UseState
{
    /// <summary>Most descriptors a process opens (creating commands do nothing beyond).</summary>
    public const int MaxFds = 24;

    /// <summary>Most handles a drm_file gets (creating commands do nothing beyond).</summary>
    public const int MaxHandles = 12;

    private readonly Func<string, Process> _spawn;
    private readonly Action<string> _violation;

    /// <summary>A state over <paramref name="procs"/> processes made by <paramref name="spawn"/>.</summary>
    public UseState(int procs, int cards, bool arm, bool kvmfr, bool heaps, Func<string, Process> spawn, Action<string> violation, Random rng)
    {
        Heaps = heaps;
        _spawn = spawn;
        _violation = violation;
        Cards = cards;
        Arm = arm;
        Kvmfr = kvmfr;
        Rng = rng;
        Procs = new UseProc[procs];
        for (int i = 0; i < procs; i++)
        {
            Spawn(i);
        }
    }

    /// <summary>The random source of the commands' arguments (the stress run's, or one per generated command).</summary>
    public Random Rng { get; set; }

    /// <summary>The processes.</summary>
    public UseProc[] Procs { get; }

    /// <summary>Number of DRM devices (/dev/dri/card0 ...).</summary>
    public int Cards { get; }

    /// <summary>The ARM board (no virtio-gpu, no kvmfr).</summary>
    public bool Arm { get; }

    /// <summary>The kvmfr module is loaded with a 4 MiB static device (/dev/kvmfr0).</summary>
    public bool Kvmfr { get; }

    /// <summary>The DMA-BUF heaps are there (/dev/dma_heap/system; /dev/dma_heap/reserved too on the board).</summary>
    public bool Heaps { get; }

    /// <summary>Model of every drm_file a descriptor or a mapping reaches.</summary>
    public Dictionary<KernelFile, DrmFileModel> Drm { get; } = [];

    /// <summary>Flink names per device: name → object (a name dies when its object's last handle closes).</summary>
    public Dictionary<DrmDevice, Dictionary<uint, GemModel>> Names { get; } = [];

    /// <summary>dma-buf files made by PRIME_HANDLE_TO_FD, with the device and object they export.</summary>
    public Dictionary<KernelFile, (DrmDevice Dev, GemModel Obj)> Exports { get; } = [];

    /// <summary>Records a broken postcondition.</summary>
    public void Violation(string message) => _violation(message);

    /// <summary>Replaces process <paramref name="i"/> by a fresh one.</summary>
    public void Spawn(int i) => Procs[i] = new UseProc { P = _spawn("stress" + i) };

    /// <summary>An open descriptor of <paramref name="pr"/>, or (one time in 16, or when none is open) any number.</summary>
    public int RandomFd(UseProc pr)
    {
        if (pr.Fds.Count == 0 || Rng.Next(16) == 0)
        {
            return Rng.Next(-2, MaxFds + 4);
        }
        int i = Rng.Next(pr.Fds.Count);
        foreach (int fd in pr.Fds.Keys)
        {
            if (i-- == 0)
            {
                return fd;
            }
        }
        return -1;
    }

    /// <summary>An open descriptor of a drm_file (or of anything else), now and then any descriptor.</summary>
    public int RandomFdOf(UseProc pr, bool drm)
    {
        Span<int> c = stackalloc int[MaxFds + 8];
        int n = 0;
        foreach (var (fd, f) in pr.Fds)
        {
            if (Drm.ContainsKey(f) == drm && n < c.Length)
            {
                c[n++] = fd;
            }
        }
        return n == 0 || Rng.Next(20) == 0 ? RandomFd(pr) : c[Rng.Next(n)];
    }

    /// <summary>A handle open in the drm_file of <paramref name="fd"/>, now and then any small number.</summary>
    public uint RandomHandle(UseProc pr, int fd)
    {
        if (ModelOf(pr, fd) is { } m && m.Handles.Count > 0 && Rng.Next(8) != 0)
        {
            int i = Rng.Next(m.Handles.Count);
            foreach (uint h in m.Handles.Keys)
            {
                if (i-- == 0)
                {
                    return h;
                }
            }
        }
        return (uint)Rng.Next(0, MaxHandles + 2);
    }

    /// <summary>The model of the drm_file <paramref name="fd"/> names, null when it names none.</summary>
    public DrmFileModel? ModelOf(UseProc pr, int fd) => pr.Fds.TryGetValue(fd, out var f) && Drm.TryGetValue(f, out var m) ? m : null;

    /// <summary>The file <paramref name="fd"/> names in the model.</summary>
    public static KernelFile? FileOf(UseProc pr, int fd) => pr.Fds.GetValueOrDefault(fd);

    /// <summary>The flink names of <paramref name="dev"/>.</summary>
    public Dictionary<uint, GemModel> NamesOf(DrmDevice dev)
    {
        if (!Names.TryGetValue(dev, out var n))
        {
            Names[dev] = n = [];
        }
        return n;
    }

    /// <summary>The lowest descriptor the model has free (what the next fd must be).</summary>
    public static int LowestFreeFd(UseProc pr)
    {
        int fd = 0;
        while (pr.Fds.ContainsKey(fd))
        {
            fd++;
        }
        return fd;
    }

    /// <summary>The lowest handle ≥ 1 the drm_file has free (idr_alloc(.., 1, 0)).</summary>
    public static uint LowestFreeHandle(DrmFileModel m)
    {
        uint h = 1;
        while (m.Handles.ContainsKey(h))
        {
            h++;
        }
        return h;
    }

    /// <summary>The lowest name ≥ 1 the device has free.</summary>
    public static uint LowestFreeName(Dictionary<uint, GemModel> names)
    {
        uint n = 1;
        while (names.ContainsKey(n))
        {
            n++;
        }
        return n;
    }

    /// <summary>
    /// A call returned <paramref name="ret"/>; when it is a descriptor it must be the lowest free one and it
    /// enters the model (with a drm_file model when it opens one).
    /// </summary>
    public void NewFd(UseProc pr, long ret, string what)
    {
        if (ret < 0)
        {
            return;
        }
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
        if (f.PrivateData is DrmFile df && !Drm.ContainsKey(f))
        {
            Drm[f] = new DrmFileModel(df.Dev);
        }
    }

    /// <summary>
    /// A call made handle <paramref name="h"/> for <paramref name="obj"/>: it must be the lowest free handle
    /// (unless <paramref name="mayExist"/> and it is open already, as an import of a buffer the file knows).
    /// </summary>
    public void NewHandle(DrmFileModel m, uint h, GemModel obj, string what, bool mayExist)
    {
        if (mayExist && m.Handles.ContainsKey(h))
        {
            return;
        }
        uint want = LowestFreeHandle(m);
        if (h != want)
        {
            Violation($"{what} returned handle {h}, the lowest free handle is {want}");
        }
        m.Handles[h] = obj;
        obj.Handles++;
    }

    /// <summary>Handle <paramref name="h"/> of <paramref name="m"/> closed: its object's name dies with its last handle.</summary>
    public void DropHandle(DrmFileModel m, uint h)
    {
        if (!m.Handles.Remove(h, out var obj) || --obj.Handles > 0)
        {
            return;
        }
        var names = NamesOf(m.Dev);
        foreach (uint n in names.Where(kv => kv.Value == obj).Select(kv => kv.Key).ToArray())
        {
            names.Remove(n); // drm_gem_object_handle_free
        }
    }

    /// <summary>Descriptor <paramref name="fd"/> closed.</summary>
    public void ForgetFd(UseProc pr, int fd)
    {
        if (pr.Fds.Remove(fd, out var f))
        {
            ReleaseIfUnused(f);
        }
    }

    /// <summary>
    /// When no descriptor and no mapping names <paramref name="f"/> any more, the file is released: a drm_file's
    /// handles close (drm_gem_release), a dma-buf export is forgotten.
    /// </summary>
    public void ReleaseIfUnused(KernelFile? f)
    {
        if (f is null)
        {
            return;
        }
        foreach (var other in Procs)
        {
            if (other.Fds.ContainsValue(f) || other.Maps.Exists(m => m.File == f))
            {
                return;
            }
        }
        Exports.Remove(f);
        if (Drm.Remove(f, out var dm))
        {
            foreach (uint h in dm.Handles.Keys.ToArray())
            {
                DropHandle(dm, h);
            }
        }
    }

    /// <summary>An ioctl through the system-call layer with the struct bytes <paramref name="b"/>.</summary>
    public static long Ioctl(UseProc pr, int fd, uint cmd, byte[] b) => pr.P.Ioctl(fd, cmd, new UserArg(0x10000, b));

    /// <summary>mmap of <paramref name="fd"/>, and a write of its first byte; true when it mapped.</summary>
    public static bool MapInto(UseProc pr, int fd, ulong len, ulong off)
    {
        long addr = pr.P.Mmap(len, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, off);
        if (addr >= 0 || addr < -4095)
        {
            pr.Maps.Add(((ulong)addr, len, FileOf(pr, fd)));
            Span<byte> one = stackalloc byte[1];
            _ = pr.P.Store((ulong)addr, one);
            return true;
        }
        return false;
    }

    /// <summary>Process <paramref name="i"/> exits (every descriptor and mapping goes) and a fresh one takes its place.</summary>
    public void ExitProcess(int i)
    {
        var pr = Procs[i];
        pr.P.Exit();
        var maps = pr.Maps.ToArray();
        pr.Maps.Clear();
        foreach (int fd in pr.Fds.Keys.ToArray())
        {
            ForgetFd(pr, fd);
        }
        foreach (var (_, _, f) in maps)
        {
            ReleaseIfUnused(f);
        }
        Spawn(i);
    }
}
