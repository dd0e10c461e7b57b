// The failure sweep: every scenario once per allocation site with that site failing (lib/fault-inject.c fail-nth
// as syzkaller and the kernel's own fault-injection selftests use it).
using System.Buffers.Binary;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.Core.Uapi;
using Sim.Core.Userspace;
using Sim.DmaBuf.Uapi;
using Sim.Drm.Uapi;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>A scenario the sweep runs: builds its machine, runs its calls, cleans up as its processes exit.</summary>
public abstract class SweepScenario
{
    /// <summary>Name in the report.</summary>
    public abstract string Name { get; }

    /// <summary>Whether the scenario can run again on the machine after its cleanup (the retry without the failure).</summary>
    public virtual bool Repeatable => true;

    /// <summary>Builds the scenario's machine.</summary>
    public abstract ServiceProvider Build();

    /// <summary>Runs the scenario's calls; returns 0 or the first failing call's negative errno (and its name).</summary>
    public abstract (long Ret, string Call) Run(ServiceProvider machine);

    /// <summary>The scenario's own cleanup: every process it started exits (and what it loaded is unloaded).</summary>
    public virtual void Cleanup(ServiceProvider machine)
    {
        foreach (var p in machine.GetRequiredService<ProcessTable>().Processes)
        {
            p.Exit();
        }
    }

    /// <summary>The default scenarios: the importer, the kvmfr test, many descriptors, random use and every public trace.</summary>
    public static List<SweepScenario> Defaults(string? dataRoot)
    {
        var list = new List<SweepScenario>
        {
            new ImporterTestScenario("cma"), new ImporterTestScenario("pages"), new ImporterScenario(), new KvmfrTestScenario(),
            new TourScenario(), new ManyFdsScenario(), new DmaAllocWcScenario(), new SyncFileScenario(),
        };
        if (dataRoot is not null && Directory.Exists(Path.Combine(dataRoot, "traces")))
        {
            foreach (var f in ReplayEngine.ExpandPaths([Path.Combine(dataRoot, "traces"), Path.Combine(dataRoot, "vectors")]))
            {
                list.Add(new ReplayScenario(f, Path.GetRelativePath(dataRoot, f)));
            }
        }
        return list;
    }
}

/// <summary>
/// The importer test at the uAPI: a vgem buffer exported (PRIME_HANDLE_TO_FD), imported on a second device
/// (attach + map), mapped and written through the dma-buf, CPU access bracketed with DMA_BUF_IOCTL_SYNC, a vgem
/// fence attached and signalled, a sync_file exported, then every handle and descriptor closed; then a virtio-gpu
/// dumb buffer dropped with its file.
/// </summary>
public sealed class ImporterScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "prime-import (vgem, vgem, virtio-gpu)";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var o = new MachineOptions();
        o.AddDrmDevice("vgem");
        o.AddDrmDevice("vgem");
        o.AddDrmDevice("virtio_gpu");
        var m = Composition.BuildMachine(o);
        _ = m.GetRequiredService<Sim.Drm.DrmCore>(); // the DRM devices register their nodes
        m.GetRequiredService<ProcessTable>().Spawn("importer");
        return m;
    }

    private static long Io(Process p, int fd, uint cmd, byte[] b) => p.Ioctl(fd, cmd, new UserArg(0x10000, b));

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var pt = machine.GetRequiredService<ProcessTable>();
        var p = pt.Processes[^1].Exited ? pt.Spawn("importer") : pt.Processes[^1];
        int a = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        if (a < 0)
        {
            return (a, "open card0");
        }
        int b = p.Openat("/dev/dri/card1", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        if (b < 0)
        {
            return (b, "open card1");
        }
        var c = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(c, 64);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4), 64);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(8), 32);
        long r = Io(p, a, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, c);
        if (r != 0)
        {
            return (r, "MODE_CREATE_DUMB");
        }
        uint h = BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(16));
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(c.AsSpan(24));
        var e = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(e, h);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR);
        r = Io(p, a, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, e);
        if (r != 0)
        {
            return (r, "PRIME_HANDLE_TO_FD");
        }
        int dfd = BinaryPrimitives.ReadInt32LittleEndian(e.AsSpan(8));
        var i = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(i.AsSpan(8), dfd);
        r = Io(p, b, DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, i);
        if (r != 0)
        {
            return (r, "PRIME_FD_TO_HANDLE");
        }
        uint h2 = BinaryPrimitives.ReadUInt32LittleEndian(i);
        var s = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(s, DmaBufUapi.DMA_BUF_SYNC_START | DmaBufUapi.DMA_BUF_SYNC_RW);
        r = Io(p, dfd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, s);
        if (r != 0)
        {
            return (r, "DMA_BUF_IOCTL_SYNC start");
        }
        long addr = p.Mmap(size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, dfd, 0);
        if (addr < 0 && addr >= -4095)
        {
            return (addr, "mmap dma-buf");
        }
        _ = p.Store((ulong)addr, "importer"u8);
        BinaryPrimitives.WriteUInt64LittleEndian(s, DmaBufUapi.DMA_BUF_SYNC_END | DmaBufUapi.DMA_BUF_SYNC_RW);
        r = Io(p, dfd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, s);
        if (r != 0)
        {
            return (r, "DMA_BUF_IOCTL_SYNC end");
        }
        var fa = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(fa, h2);
        BinaryPrimitives.WriteUInt32LittleEndian(fa.AsSpan(4), VgemDrmH.VGEM_FENCE_WRITE);
        r = Io(p, b, VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, fa);
        if (r != 0)
        {
            return (r, "VGEM_FENCE_ATTACH");
        }
        var x = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(x, DmaBufUapi.DMA_BUF_SYNC_READ is var rd ? (uint)rd : 0);
        r = Io(p, dfd, DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, x);
        if (r != 0)
        {
            return (r, "DMA_BUF_IOCTL_EXPORT_SYNC_FILE");
        }
        int sfd = BinaryPrimitives.ReadInt32LittleEndian(x.AsSpan(4));
        var sig = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(sig, BinaryPrimitives.ReadUInt32LittleEndian(fa.AsSpan(8)));
        r = Io(p, b, VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, sig);
        if (r != 0)
        {
            return (r, "VGEM_FENCE_SIGNAL");
        }
        int u = p.Munmap((ulong)addr, size);
        if (u != 0)
        {
            return (u, "munmap");
        }
        var gc = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(gc, h2);
        r = Io(p, b, DrmH.DRM_IOCTL_GEM_CLOSE, gc);
        if (r != 0)
        {
            return (r, "GEM_CLOSE importer");
        }
        foreach (int fd in new[] { sfd, dfd, b, a })
        {
            int cr = p.Close(fd);
            if (cr != 0)
            {
                return (cr, "close");
            }
        }
        // A virtio-gpu dumb buffer (its own GEM object allocation), dropped with its file.
        int v = p.Openat("/dev/dri/card2", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        if (v < 0)
        {
            return (v, "open card2");
        }
        r = Io(p, v, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, c);
        if (r != 0)
        {
            return (r, "MODE_CREATE_DUMB virtio-gpu");
        }
        int vc = p.Close(v);
        return (vc, vc == 0 ? "" : "close card2");
    }
}

/// <summary>
/// The importer test (<see cref="ImporterTest"/>: a dumb buffer of the ARM board's PL111 (CMA) or of the
/// page-array exporter, exported and mapped by the kernel importer's importer_test2, then everything dropped).
/// </summary>
public sealed class ImporterTestScenario(string exporter) : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "importer-test --exporter " + exporter;

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var options = new MachineOptions().ApplyArmBoard();
        if (exporter == "pages")
        {
            options.AddDrmDevice(Sim.Drm.Drivers.Amdgpu.AmdgpuDmaBuf.DRIVER_NAME);
        }
        return Composition.BuildMachine(options);
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var (ret, _, step) = ImporterTest.CreateExportImport(machine, exporter == "pages" ? "/dev/dri/card1" : "/dev/dri/card0", 640, 480, 32);
        return (ret, ret == 0 ? "" : step);
    }
}

/// <summary>The tour (<see cref="Sim.Teaching.Tour"/>) on its default machine: every step, then its teardown.</summary>
public sealed class TourScenario : SweepScenario
{
    private Sim.Teaching.Tour? _tour;

    /// <inheritdoc/>
    public override string Name => "tour";

    /// <inheritdoc/>
    public override bool Repeatable => false;

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        _tour = new Sim.Teaching.Tour(Sim.Teaching.Tour.DefaultMachine());
        return (ServiceProvider)_tour.Machine;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        (long, string) first = (0, "");
        foreach (var step in _tour!.Run())
        {
            foreach (var n in step.Notes)
            {
                if (n.StartsWith("simulator exception", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"tour step {step.Number}: {n}");
                }
            }
            if (step.Error is { } e && first.Item1 == 0)
            {
                first = (e, $"step {step.Number}: {step.ErrorWhere}");
            }
        }
        return first;
    }

    /// <inheritdoc/>
    public override void Cleanup(ServiceProvider machine)
    {
        base.Cleanup(machine);
        // Tour.Dispose drops what the tour still holds (umem, importer reference, fence), then disposes the machine.
        _tour?.Dispose();
        _tour = null;
    }
}

/// <summary>The kvmfr test program (module/test.c via <see cref="KvmfrTest"/>), then rmmod.</summary>
public sealed class KvmfrTestScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "kvmfr-test";

    /// <inheritdoc/>
    public override ServiceProvider Build() => Composition.BuildMachine(new MachineOptions());

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var err = new StringWriter();
        int status = KvmfrTest.Run(machine, "2", TextWriter.Null, err);
        // test.c reports the failing call with perror; the exit status is main's -1 (255).
        return status == 0 ? (0, "") : (-status, err.ToString().Trim());
    }

    /// <inheritdoc/>
    public override void Cleanup(ServiceProvider machine)
    {
        base.Cleanup(machine);
        var image = machine.GetRequiredService<Sim.DmaBuf.Kvmfr.KvmfrModuleImage>();
        if (image.Loaded is not null)
        {
            _ = machine.GetRequiredService<Busybox>().Exec("rmmod kvmfr");
        }
    }
}

/// <summary>More descriptors than the fd table's first 64 slots (expand_files), all closed again.</summary>
public sealed class ManyFdsScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "many-fds";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var o = new MachineOptions();
        o.AddDrmDevice("vgem");
        var m = Composition.BuildMachine(o);
        _ = m.GetRequiredService<Sim.Drm.DrmCore>();
        m.GetRequiredService<ProcessTable>().Spawn("fds");
        return m;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var pt = machine.GetRequiredService<ProcessTable>();
        var p = pt.Processes[^1].Exited ? pt.Spawn("fds") : pt.Processes[^1];
        int first = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        if (first < 0)
        {
            return (first, "open");
        }
        var fds = new List<int> { first };
        for (int k = 0; k < 140; k++)
        {
            int fd = p.Dup(first);
            if (fd < 0)
            {
                return (fd, "dup #" + k.ToString(CultureInfo.InvariantCulture));
            }
            fds.Add(fd);
        }
        foreach (int fd in fds)
        {
            p.Close(fd);
        }
        return (0, "");
    }
}

/// <summary>
/// A driver's coherent buffers on the ARM vexpress board (the PL111 path): <c>dma_alloc_wc</c> of a few sizes from
/// the CMA area, written, freed in another order.
/// </summary>
public sealed class DmaAllocWcScenario : SweepScenario
{
    private static readonly ulong[] s_sizes = [4096, 65536, 1 << 20, 12288];

    /// <inheritdoc/>
    public override string Name => "dma_alloc_wc (ARM CMA)";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var o = new MachineOptions();
        o.Apply("board=vexpress cma=16M", strict: true);
        return Composition.BuildMachine(o);
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var arm = machine.GetRequiredService<Sim.Core.Dma.ArmDmaMapping>();
        var bufs = new List<(ulong Size, ulong Cpu, ulong Dma)>();
        (long, string) result = (0, "");
        foreach (ulong size in s_sizes)
        {
            ulong cpu = arm.AllocWc(size, out ulong dma, Gfp.GFP_KERNEL);
            if (cpu == 0)
            {
                result = (-(long)Errno.ENOMEM, "dma_alloc_wc " + size.ToString(CultureInfo.InvariantCulture));
                break;
            }
            bufs.Add((size, cpu, dma));
        }
        for (int k = bufs.Count - 1; k >= 0; k--)
        {
            arm.FreeWc(bufs[k].Size, bufs[k].Cpu, bufs[k].Dma);
        }
        return result;
    }
}

/// <summary>A public trace's user calls replayed through the <see cref="ReplayEngine"/> with the injector armed.</summary>
public sealed class ReplayScenario(string path, string name) : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override bool Repeatable => false;

    /// <summary>The file replayed.</summary>
    public string Path { get; } = path;

    /// <summary>The machine the last run used (built by the engine from the trace header).</summary>
    public ServiceProvider? LastMachine { get; private set; }

    /// <summary>The services of <see cref="LastMachine"/>, resolved before the engine disposes it.</summary>
    public MachineView? LastView { get; private set; }

    /// <summary>Arms the injector of each machine the engine builds (null: a baseline run that only records).</summary>
    public Action<FaultInject>? Arm { get; set; }

    /// <summary>The engine's result for the last run.</summary>
    public FileResult? LastResult { get; private set; }

    /// <summary>The injector of the last run's machine.</summary>
    public FaultInject? LastInjector { get; private set; }

    /// <summary>The event whose allocation failed in the last run, and what it returned (its first difference).</summary>
    public string FailedAt { get; private set; } = "";

    /// <summary>What the failing call returned, as its check saw it (empty: the same as the trace).</summary>
    public string FailedResult { get; private set; } = "";

    /// <summary>The differences the replay has without any failure (the model's known gaps), as text.</summary>
    public HashSet<string> BaselineDifferences { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether the last run's failure hit a step the capture did not log.</summary>
    public bool Unlogged { get; private set; }

    /// <summary>Whether the last run's failure was absorbed by the kernel path (the call still succeeded).</summary>
    public bool Absorbed { get; private set; }

    /// <summary>Problems seen at the failing event: an exception, or a retry that did not give the trace's result.</summary>
    public List<string> EventProblems { get; } = [];

    /// <inheritdoc/>
    public override ServiceProvider Build() => Composition.BuildMachine(new MachineOptions());

    /// <summary>
    /// Replays the file. Each event runs once; when the injector failed an allocation during it, the attempt's
    /// result is kept aside, the injector disarmed, and the event run again (the same call repeated without the
    /// failure), which must give the trace's result so the replay goes on in step with the trace.
    /// </summary>
    public FileResult Replay()
    {
        FaultInject? inj = null;
        FaultInject.Scope scope = default;
        bool armed = false;
        Unlogged = false;
        Absorbed = false;
        FailedAt = "";
        FailedResult = "";
        EventProblems.Clear();
        var engine = new ReplayEngine(o =>
        {
            var m = Composition.BuildMachine(o);
            LastMachine = m;
            LastView = new MachineView(m);
            inj = m.GetRequiredService<FaultInject>();
            scope = inj.Activate();
            armed = false;
            return m;
        })
        {
            AroundEvent = (ev, check, run) =>
            {
                if (!armed)
                {
                    // Armed at the first user call: the machine's own setup (boot, the trace's file-start steps) is not swept.
                    armed = true;
                    Arm?.Invoke(inj!);
                }
                int before = inj!.Injected.Count;
                var attempt = new ReplayCheck(ev);
                Exception? thrown = null;
                try
                {
                    run(attempt);
                }
                catch (Exception e) when (e is not OutOfMemoryException and not TraceFormatException)
                {
                    thrown = e;
                }
                if (inj.Injected.Count == before)
                {
                    if (thrown is not null)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(thrown).Throw();
                    }
                    foreach (var d in attempt.Differences)
                    {
                        check.Fail(d.Field, d.Expected, d.Actual);
                    }
                    if (attempt.SkipReason is { } why)
                    {
                        check.Skip(why);
                    }
                    return;
                }
                FailedAt = ev.ToString();
                FailedResult = attempt.Differences.Count > 0 ? $"{attempt.Differences[0].Field} {attempt.Differences[0].Actual} (trace {attempt.Differences[0].Expected})" : "";
                inj.Disarm();
                if (thrown is InvalidOperationException &&
                    (thrown.Message.StartsWith("unlogged", StringComparison.Ordinal) ||
                     thrown.TargetSite?.DeclaringType?.Namespace?.EndsWith(".Replay", StringComparison.Ordinal) == true))
                {
                    // The failure hit a step the capture did not log (the replay performs it to rebuild state, or a
                    // vector's fixture): no traced call returned the error, and the replay cannot go on with the trace.
                    Unlogged = true;
                    FailedResult = thrown.Message;
                    check.Fail("exception", "no exception", thrown.GetType().Name + ": " + thrown.Message);
                    return;
                }
                if (thrown is not null)
                {
                    EventProblems.Add($"exception at the failing call {ev}: {thrown.GetType().Name}: {thrown.Message}");
                }
                if (ev.Result.ValueKind == System.Text.Json.JsonValueKind.Object && ev.Result.TryGetProperty("unlogged_before", out var unloggedBefore) &&
                    unloggedBefore.ValueKind == System.Text.Json.JsonValueKind.Array && unloggedBefore.GetArrayLength() > 0)
                {
                    // Repeating this event repeats its unlogged steps (a second buffer, a second attachment): the
                    // replay goes on, but what it leaves is the harness's, not the failing call's.
                    Unlogged = true;
                    FailedResult += " (the event carries unlogged steps; repeating it repeats them)";
                }
                bool failed = thrown is not null;
                foreach (var d in attempt.Differences)
                {
                    failed |= d.Field is "result.ret" or "ret" && d.Actual.StartsWith('-');
                }
                if (!failed)
                {
                    // The kernel path absorbed the failure (a retry or a fallback): the call succeeded, maybe with
                    // another result (an IOVA from another range); that attempt stands.
                    Absorbed = true;
                    foreach (var d in attempt.Differences)
                    {
                        check.Fail(d.Field, d.Expected, d.Actual);
                    }
                    return;
                }
                run(check);
                foreach (var d in check.Differences)
                {
                    if (!BaselineDifferences.Contains(d.ToString()))
                    {
                        EventProblems.Add($"repeated without the failure, {d}");
                        break;
                    }
                }
            },
        };
        try
        {
            // The engine disposes its machine at the end of the file; the model objects stay readable.
            LastResult = engine.ReplayFile(Path, Name);
        }
        finally
        {
            scope.Dispose();
        }
        LastInjector = inj ?? new FaultInject();
        return LastResult;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine) => throw new NotSupportedException("replay scenarios run through Replay");
}

/// <summary>The services the sweep reads, resolved while the machine is alive.</summary>
public sealed class MachineView
{
    /// <summary>Resolves the services of <paramref name="m"/>.</summary>
    public MachineView(IServiceProvider m)
    {
        Live = m.GetRequiredService<LiveObjects>();
        PageAlloc = m.GetRequiredService<PageAlloc>();
        Warnings = m.GetRequiredService<Warnings>();
        Processes = m.GetRequiredService<ProcessTable>();
        Shmem = m.GetService<Shmem>();
        Cma = m.GetService<Cma>();
    }

    /// <summary>The live-object registry.</summary>
    public LiveObjects Live { get; }

    /// <summary>The buddy allocator.</summary>
    public PageAlloc PageAlloc { get; }

    /// <summary>The WARN log.</summary>
    public Warnings Warnings { get; }

    /// <summary>The processes.</summary>
    public ProcessTable Processes { get; }

    /// <summary>The shmem page source, when the machine has one.</summary>
    public Shmem? Shmem { get; }

    /// <summary>The default CMA area, when the machine has one.</summary>
    public Cma? Cma { get; }

    /// <summary>Every process exits.</summary>
    public void ExitAll()
    {
        foreach (var p in Processes.Processes)
        {
            p.Exit();
        }
    }
}

/// <summary>The outcome of one scenario with one site failing.</summary>
public sealed record SweepCase(string Scenario, string Site, bool Reached, long Ret, string Call, List<string> Problems)
{
    /// <summary>The model frames that called the failing site (innermost first).</summary>
    public string Where { get; init; } = "";

    /// <summary>What is reported but is not a defect (a replay that cannot stay in step with its trace after a failure).</summary>
    public List<string> Notes { get; init; } = [];

    /// <summary>The first model frames of a stack trace, innermost first, without the injector's own.</summary>
    public static string Frames(string? stack, int count = 4)
    {
        if (stack is null)
        {
            return "";
        }
        var frames = new List<string>();
        foreach (var line in stack.Split('\n'))
        {
            var t = line.Trim();
            if (!t.StartsWith("at Sim.", StringComparison.Ordinal) || t.Contains("FaultInject", StringComparison.Ordinal) || t.Contains("FaultSite", StringComparison.Ordinal))
            {
                continue;
            }
            int paren = t.IndexOf('(', StringComparison.Ordinal);
            frames.Add(paren > 0 ? t[3..paren] : t[3..]);
            if (frames.Count == count)
            {
                break;
            }
        }
        return string.Join(" < ", frames);
    }
}

/// <summary>The sweep's totals.</summary>
public sealed class SweepReport
{
    /// <summary>Every registered site.</summary>
    public IReadOnlyList<FaultSite> Sites { get; init; } = [];

    /// <summary>Sites some scenario reached, with the scenarios that reach them.</summary>
    public SortedDictionary<string, SortedSet<string>> ReachedBy { get; } = new(StringComparer.Ordinal);

    /// <summary>Each case run.</summary>
    public List<SweepCase> Cases { get; } = [];

    /// <summary>Problems found in baseline (no failure) runs.</summary>
    public List<string> BaselineProblems { get; } = [];

    /// <summary>Cases not run because the time budget ran out.</summary>
    public int CasesSkipped { get; set; }

    /// <summary>All problems.</summary>
    public int ProblemCount
    {
        get
        {
            int n = BaselineProblems.Count;
            foreach (var c in Cases)
            {
                n += c.Problems.Count;
            }
            return n;
        }
    }
}

/// <summary>
/// Runs each scenario once without failures (the baseline: which sites it reaches, its end state), then once per
/// reached site with that site's first call failing: nothing may throw, the failing call returns a negative errno
/// (or succeeds where the kernel retries), after the scenario's cleanup nothing is left alive beyond the baseline's
/// end state and every page is back (buddy free count, shmem, CMA as at the baseline's end); then the scenario runs
/// again on the same machine without the failure and must succeed and clean up as well.
/// </summary>
public sealed class FailureSweep
{
    /// <summary>Every model assembly (for the list of registered sites).</summary>
    public static System.Reflection.Assembly[] ModelAssemblies =>
    [
        typeof(FaultSite).Assembly, typeof(Sim.DmaBuf.DmaBuf).Assembly, typeof(Sim.Drm.DrmCore).Assembly,
        typeof(Sim.RdmaUmem.UmemDmabufTrim).Assembly,
    ];

    private readonly record struct EndState(Dictionary<string, int> Live, ulong MemFree, long Shmem, ulong Cma, int Warns, int Differences = 0);

    private static EndState Capture(MachineView m)
    {
        var live = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var o in m.Live.Alive())
        {
            live[o.Type] = live.GetValueOrDefault(o.Type) + 1;
        }
        return new EndState(live, m.PageAlloc.Meminfo().MemFree, m.Shmem?.PagesInUse ?? 0, m.Cma?.UsedPages ?? 0, m.Warnings.Count);
    }

    private static void Compare(EndState baseline, EndState now, MachineView m, List<string> problems)
    {
        foreach (var (type, n) in now.Live)
        {
            if (n > baseline.Live.GetValueOrDefault(type))
            {
                var sample = m.Live.Alive().LastOrDefault(o => o.Type == type);
                problems.Add($"leak: {n} {type} alive, {baseline.Live.GetValueOrDefault(type)} at the baseline's end" +
                    (sample is null ? "" : $" (newest: {LeakReport.Describe(sample, m.Processes)})"));
            }
        }
        if (now.MemFree < baseline.MemFree)
        {
            problems.Add($"pages: MemFree {now.MemFree}, {baseline.MemFree} at the baseline's end");
        }
        if (now.Shmem > baseline.Shmem)
        {
            problems.Add($"pages: {now.Shmem} shmem pages in use, {baseline.Shmem} at the baseline's end");
        }
        if (now.Cma > baseline.Cma)
        {
            problems.Add($"CMA: {now.Cma} pages used, {baseline.Cma} at the baseline's end");
        }
    }

    /// <summary>Runs the sweep over <paramref name="scenarios"/>.</summary>
    /// <param name="scenarios">What to run.</param>
    /// <param name="full">Fail every n-th call of each scenario (fail-nth) instead of once per reached site.</param>
    /// <param name="seed">Orders (and with a budget, samples) the cases.</param>
    /// <param name="budget">Stop starting new cases after this long (null: no limit).</param>
    /// <param name="log">Progress lines (may be null).</param>
    public static SweepReport Run(IReadOnlyList<SweepScenario> scenarios, bool full, int seed, TimeSpan? budget, TextWriter? log)
    {
        var report = new SweepReport { Sites = FaultSite.Discover(ModelAssemblies) };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rng = new Random(seed);
        var plans = new List<(SweepScenario Scenario, EndState Baseline, List<int> Nths, List<FaultSite> Sites)>();
        foreach (var sc in scenarios)
        {
            var problems = new List<string>();
            var (trail, baseline, ok) = Baseline(sc, problems);
            foreach (var p in problems)
            {
                report.BaselineProblems.Add($"{sc.Name}: {p}");
            }
            if (!ok)
            {
                continue;
            }
            var distinct = new List<FaultSite>();
            var nths = new List<int>();
            for (int k = 0; k < trail.Count; k++)
            {
                if (!report.ReachedBy.TryGetValue(trail[k].Name, out var set))
                {
                    report.ReachedBy[trail[k].Name] = set = new SortedSet<string>(StringComparer.Ordinal);
                }
                set.Add(sc.Name);
                if (!distinct.Contains(trail[k]))
                {
                    distinct.Add(trail[k]);
                }
                nths.Add(k + 1);
            }
            plans.Add((sc, baseline, nths, distinct));
        }
        var cases = new List<(int Plan, FaultSite? Site, int Nth)>();
        for (int pi = 0; pi < plans.Count; pi++)
        {
            if (full)
            {
                foreach (int n in plans[pi].Nths)
                {
                    cases.Add((pi, null, n));
                }
            }
            else
            {
                foreach (var s in plans[pi].Sites)
                {
                    cases.Add((pi, s, 0));
                }
            }
        }
        if (budget is not null)
        {
            rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(cases));
        }
        // The budget limits the cases, not the baselines: every scenario's baseline runs (they decide which sites
        // are reached), however long the bundled data take to replay on a loaded machine.
        clock.Restart();
        foreach (var (pi, site, nth) in cases)
        {
            if (budget is { } b && clock.Elapsed > b)
            {
                report.CasesSkipped++;
                continue;
            }
            var plan = plans[pi];
            var c = RunCase(plan.Scenario, plan.Baseline, site, nth);
            report.Cases.Add(c);
            if (log is not null && c.Problems.Count > 0)
            {
                foreach (var p in c.Problems)
                {
                    log.WriteLine($"{c.Scenario} [{c.Site}]: {p}");
                }
            }
        }
        return report;
    }

    private static (List<FaultSite> Trail, EndState End, bool Ok) Baseline(SweepScenario sc, List<string> problems)
    {
        if (sc is ReplayScenario rs)
        {
            rs.Arm = null;
            try
            {
                var result = rs.Replay();
                rs.LastView!.ExitAll();
                if (result.FormatError is not null)
                {
                    problems.Add("baseline: " + result.FormatError);
                    return ([], default, false);
                }
                foreach (var d in result.Differences)
                {
                    if (d.Field == "exception")
                    {
                        problems.Add("baseline exception: " + d);
                    }
                }
                rs.BaselineDifferences.Clear();
                foreach (var d in result.Differences)
                {
                    rs.BaselineDifferences.Add(d.ToString());
                }
                var end = Capture(rs.LastView!);
                return ([.. rs.LastInjector!.Trail], end with { Differences = result.Differences.Count }, true);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("baseline exception: " + e.GetType().Name + ": " + e.Message);
                return ([], default, false);
            }
        }
        using var machine = sc.Build();
        var baselineView = new MachineView(machine);
        var injector = machine.GetRequiredService<FaultInject>();
        using (injector.Activate())
        {
            try
            {
                var (ret, call) = sc.Run(machine);
                if (ret != 0)
                {
                    problems.Add($"baseline: {call} returned {ret}");
                }
                sc.Cleanup(machine);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("baseline exception: " + e.GetType().Name + ": " + e.Message);
                return ([], default, false);
            }
        }
        return ([.. injector.Trail], Capture(baselineView), problems.Count == 0);
    }

    private static SweepCase RunCase(SweepScenario sc, EndState baseline, FaultSite? site, int nth)
    {
        var problems = new List<string>();
        string label = site?.Name ?? "fail-nth=" + nth.ToString(CultureInfo.InvariantCulture);
        void Arm(FaultInject inj)
        {
            inj.CaptureStacks = true;
            if (site is not null)
            {
                inj.FailSite(site.Name, 1);
            }
            else
            {
                inj.FailNth(nth);
            }
        }
        if (sc is ReplayScenario rs)
        {
            rs.Arm = Arm;
            try
            {
                var result = rs.Replay();
                var inj = rs.LastInjector!;
                inj.Disarm();
                rs.LastView!.ExitAll();
                problems.AddRange(rs.EventProblems);
                var notes = new List<string>();
                int extra = 0;
                Difference? firstExtra = null;
                foreach (var d in result.Differences)
                {
                    if (!rs.BaselineDifferences.Contains(d.ToString()))
                    {
                        extra++;
                        firstExtra ??= d;
                    }
                }
                if (extra > 0)
                {
                    notes.Add($"{extra} differences from the trace beyond the {baseline.Differences} it has without the failure; first: {firstExtra}");
                }
                if (rs.Unlogged)
                {
                    notes.Add("the failure hit an unlogged step of the replay or an event that carries some (" + rs.FailedResult + "): what is left is the harness's");
                    var end = new List<string>();
                    Compare(baseline, Capture(rs.LastView!), rs.LastView!, end);
                    notes.AddRange(end);
                }
                else
                {
                    Compare(baseline, Capture(rs.LastView!), rs.LastView!, problems);
                }
                if (rs.Absorbed)
                {
                    notes.Add("absorbed: the kernel path retried or fell back, the call succeeded");
                }
                return new SweepCase(sc.Name, site?.Name ?? (inj.Injected.Count > 0 ? inj.Injected[0].Site.Name : label), inj.Injected.Count > 0,
                    rs.FailedResult.Length > 0 ? -1 : 0, rs.FailedAt + (rs.FailedResult.Length > 0 ? " -> " + rs.FailedResult : ""), problems)
                {
                    Where = SweepCase.Frames(inj.InjectedStacks.Count > 0 ? inj.InjectedStacks[0] : null),
                    Notes = notes,
                };
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("exception: " + e.GetType().Name + ": " + e.Message);
                return new SweepCase(sc.Name, label, true, 0, "", problems);
            }
            finally
            {
                rs.Arm = null;
            }
        }

        using var machine = sc.Build();
        var view = new MachineView(machine);
        var injector = machine.GetRequiredService<FaultInject>();
        long ret = 0;
        string call = "";
        string failedSite = label;
        bool reached;
        injector.CaptureStacks = true;
        using (injector.Activate())
        {
            Arm(injector);
            try
            {
                (ret, call) = sc.Run(machine);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("exception in the failing run: " + e.GetType().Name + ": " + e.Message);
            }
            reached = injector.Injected.Count > 0;
            if (reached)
            {
                failedSite = injector.Injected[0].Site.Name;
            }
            injector.Disarm();
            if (ret > 0 || ret < -4095)
            {
                problems.Add($"{call} returned {ret}, not 0 or a negative errno");
            }
            try
            {
                sc.Cleanup(machine);
                Compare(baseline, Capture(view), view, problems);
                if (sc.Repeatable)
                {
                    var (again, againCall) = sc.Run(machine);
                    if (again != 0)
                    {
                        problems.Add($"repeated without the failure: {againCall} returned {again}");
                    }
                    sc.Cleanup(machine);
                    Compare(baseline, Capture(view), view, problems);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("exception after the failure: " + e.GetType().Name + ": " + e.Message);
            }
        }
        var warns = view.Warnings;
        for (int k = baseline.Warns; k < warns.Count; k++)
        {
            problems.Add($"WARN {warns.Records[k].Condition} in {warns.Records[k].Function}");
        }
        return new SweepCase(sc.Name, failedSite, reached, ret, call, problems)
        {
            Where = SweepCase.Frames(injector.InjectedStacks.Count > 0 ? injector.InjectedStacks[0] : null),
        };
    }
}
