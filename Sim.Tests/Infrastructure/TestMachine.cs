using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.DmaBufs;
using Sim.Drm;

namespace Sim.Tests.Infrastructure;

/// <summary>
/// The tests' one machine builder: a machine composed as the CLI composes it (<see cref="Sim.Machine.Composition"/>),
/// optionally with DRM devices and deliberate rule breaks, and one process; accessors for the services tests
/// look at, and (TestMachine.Drm.cs) the DRM uAPI calls made as libdrm makes them.
/// </summary>
public sealed partial class TestMachine : IDisposable
{
    private readonly Process? _process;

    private TestMachine(MachineOptions options, string? process, bool drm)
    {
        Services = Sim.Machine.Composition.BuildMachine(options);
        if (drm)
        {
            // The DRM tests' order: the DRM core (its devices registered), the process, then the rest.
            _ = Services.GetRequiredService<DrmCore>();
            _process = Services.GetRequiredService<ProcessTable>().Spawn(process ?? "igt");
            _ = Services.GetRequiredService<LiveObjects>();
            _ = Services.GetRequiredService<Shmem>();
            _ = Services.GetRequiredService<Ktime>();
        }
        else if (process is not null)
        {
            _ = Services.GetRequiredService<DmaBufList>();
            _ = Services.GetRequiredService<Warnings>();
            _ = Services.GetRequiredService<LiveObjects>();
            _ = Services.GetRequiredService<Ktime>();
            _ = Services.GetRequiredService<IPageDataAccess>();
            _process = Services.GetRequiredService<ProcessTable>().Spawn(process);
        }
    }

    /// <summary>A machine of <paramref name="options"/> (default: the x86_64 default) with one process named <paramref name="process"/> (null: none).</summary>
    public static TestMachine Create(MachineOptions? options = null, string? process = "test") => new(options ?? new MachineOptions(), process, drm: false);

    /// <summary>A machine with the DRM devices <paramref name="drivers"/> (card0, card1, ...) and one process "igt".</summary>
    public static TestMachine WithDrm(params string[] drivers) => WithDrm(Mutations.None, drivers);

    /// <summary>As <see cref="WithDrm(string[])"/>, composed with deliberate rule breaks (<see cref="Mutations"/>).</summary>
    public static TestMachine WithDrm(Mutations mutations, params string[] drivers) => WithDrm(new MachineOptions { Mutations = mutations }, drivers);

    /// <summary>As <see cref="WithDrm(string[])"/> on the machine of <paramref name="o"/> (e.g. the ARM board).</summary>
    public static TestMachine WithDrm(MachineOptions o, params string[] drivers)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(drivers);
        foreach (var d in drivers)
        {
            o.AddDrmDevice(d);
        }
        return new TestMachine(o, "igt", drm: true);
    }

    /// <summary>The machine's DI container.</summary>
    public ServiceProvider Services { get; }

    /// <summary>The machine's process.</summary>
    public Process Process => _process ?? throw new InvalidOperationException("this test machine was built without a process");

    /// <summary>A service of the machine.</summary>
    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    /// <summary>The dma-buf list (<c>db_list</c>).</summary>
    public DmaBufList List => Get<DmaBufList>();

    /// <summary>The WARNs recorded.</summary>
    public Warnings Warnings => Get<Warnings>();

    /// <summary>The live kernel objects.</summary>
    public LiveObjects Live => Get<LiveObjects>();

    /// <summary>The simulated clock.</summary>
    public Ktime Clock => Get<Ktime>();

    /// <summary>The page contents.</summary>
    public IPageDataAccess PageData => Get<IPageDataAccess>();

    /// <summary>shmem (its pages in use).</summary>
    public Shmem Shmem => Get<Shmem>();

    /// <summary>The DRM core.</summary>
    public DrmCore Drm => Get<DrmCore>();

    /// <summary>The dma-fence core.</summary>
    public DmaFenceCore Fences => Get<DmaFenceCore>();

    /// <summary>The dma-fence trace events.</summary>
    public DmaFenceTrace FenceTrace => Get<DmaFenceTrace>();

    /// <inheritdoc/>
    public void Dispose() => Services.Dispose();
}
