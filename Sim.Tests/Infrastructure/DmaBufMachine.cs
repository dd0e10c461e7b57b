using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.DmaBuf;

namespace Sim.Tests.Infrastructure;

/// <summary>A machine (composed like the CLI's) with one process, for dma-buf tests.</summary>
public sealed class DmaBufMachine : IDisposable
{
    public DmaBufMachine(MachineOptions? options = null)
    {
        Services = Sim.Machine.Composition.BuildMachine(options ?? new MachineOptions());
        List = Services.GetRequiredService<DmaBufList>();
        Warnings = Services.GetRequiredService<Warnings>();
        Live = Services.GetRequiredService<LiveObjects>();
        Clock = Services.GetRequiredService<Ktime>();
        Pages = Services.GetRequiredService<IPageDataAccess>();
        Process = Services.GetRequiredService<ProcessTable>().Spawn("test");
    }

    public ServiceProvider Services { get; }

    public DmaBufList List { get; }

    public Warnings Warnings { get; }

    public LiveObjects Live { get; }

    public Ktime Clock { get; }

    public IPageDataAccess Pages { get; }

    public Process Process { get; }

    public void Dispose() => Services.Dispose();
}
