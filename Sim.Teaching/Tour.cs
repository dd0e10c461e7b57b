using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Drm;
using Sim.Machine;
using Sim.RdmaUmem;
using static Sim.Teaching.MachineFigures;

namespace Sim.Teaching;

/// <summary>
/// The guided tour of the design notes' path, run on a real simulated machine (the models of Sim.Core, Sim.DmaBuf,
/// Sim.Drm and Sim.RdmaUmem, composed like every other machine): boot, CREATE_DUMB down to <c>cma_alloc</c>, MAP_DUMB
/// and a CPU write, PRIME export, the importer test, an RDMA memory region over a window of the buffer, a fence
/// that holds map_pages back, and the teardown. <see cref="Run"/> yields one <see cref="TourStep"/> per step, as it
/// goes (a caller may pause between them).
/// </summary>
public sealed partial class Tour : IDisposable
{
    /// <summary>The dumb buffer of the notes: 640x480 at 32 bpp.</summary>
    public const uint Width = 640, Height = 480, Bpp = 32;

    /// <summary>The umem window: <c>ib_umem_dmabuf_get(ibdev, offset, size, fd, ...)</c> over the buffer.</summary>
    public const ulong UmemOffset = 0x1800, UmemLength = 0x100000;

    /// <summary>The bytes the notes' test program writes.</summary>
    public const string Hello = "Hello, world!";

    private const ulong UserStructAddr = 0x7ffe0000;
    private const int PageSize = 4096;

    private readonly ServiceProvider _machine;
    private readonly MachineOptions _options;
    private readonly KernelTrace _trace;
    private readonly LiveObjects _live;
    private readonly Cma? _cma;
    private readonly DmaBufList _dbList;
    private Process? _proc;
    private DrmDevice? _drm;
    private int _drmFd = -1;
    private uint _handle;
    private ulong _objSize;
    private ulong _mapAddr;
    private int _dmabufFd = -1;
    private DmaBuf? _importerRef;
    private Device? _importerDev;
    private IbUmemDmabuf? _umem;
    private DmaFence? _fence;
    private PageRun? _bufferRun;
    private bool _dmaHelper;
    private bool _exported;
    private int _liveAtBoot;
    private ulong _cmaUsedAtBoot;

    /// <summary>Boots a machine with <paramref name="options"/>.</summary>
    public Tour(MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _machine = Composition.BuildMachine(options);
        _trace = _machine.GetRequiredService<KernelTrace>();
        _live = _machine.GetRequiredService<LiveObjects>();
        _cma = _machine.GetService<DmaContiguous>()?.DefaultArea;
        _dbList = _machine.GetRequiredService<DmaBufList>();
        Composition.Boot(_machine);
    }

    /// <summary>The default machine: the vexpress board with its PL111 display and 16 MiB CMA area.</summary>
    public static MachineOptions DefaultMachine() => new MachineOptions().ApplyArmBoard();

    /// <summary>The machine (for tests).</summary>
    public IServiceProvider Machine => _machine;

    /// <summary>Runs the steps one by one.</summary>
    public IEnumerable<TourStep> Run()
    {
        Func<TourStep>[] steps = [Boot, CreateDumb, MapAndWrite, Export, Importer, Umem, Fence, Teardown];
        for (int k = 0; k < steps.Length; k++)
        {
            TourStep step;
            try
            {
                step = steps[k]();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A simulator bug, not a kernel result: the step says so and the tour goes on.
                step = new TourStep(k + 1, "(step failed inside the simulator)");
                step.Note($"simulator exception: {ex.GetType().Name}: {ex.Message}");
                step.Error = -(long)Errno.EFAULT;
                step.ErrorWhere = "simulator";
            }
            yield return step;
        }
    }

    // Runs `action` with the kernel trace recorded into the step.
    private T Traced<T>(TourStep step, Func<T> action)
    {
        using var rec = _trace.Record();
        try
        {
            return action();
        }
        finally
        {
            step.Trace.AddRange(rec.Drain());
        }
    }

    private static string Dec(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Dec(long v) => v.ToString(CultureInfo.InvariantCulture);

    private TourStep Blocked(TourStep step, string why)
    {
        step.Note("Not run: " + why + ".");
        step.NotRun = why;
        return step;
    }

    // ---- the reference graph ------------------------------------------------------------------------------------

    private RefGraphFigure RefGraph(string caption)
    {
        var view = MachineView.Capture(_machine);
        return view.RefGraph(caption);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_umem is not null)
        {
            IbUmem.Release(_umem.Umem);
        }
        _importerRef?.Put();
        _proc?.Exit();
        _fence?.Put();
        _machine.Dispose();
    }
}
