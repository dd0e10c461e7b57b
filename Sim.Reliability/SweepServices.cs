using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Debug;
using Sim.Core.Kernel;
using Sim.Core.Mm;

namespace Sim.Reliability;

/// <summary>The services the sweep reads, resolved while the machine is alive.</summary>
public sealed class SweepServices
{
    /// <summary>Resolves the services of <paramref name="m"/>.</summary>
    public SweepServices(IServiceProvider m)
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
