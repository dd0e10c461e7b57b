using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Kernel;
using Sim.Core.Replay;

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
            new TourScenario(), new ManyFdsScenario(), new DmaAllocWcScenario(), new SyncFileScenario(), new UdmabufScenario(), new DmaHeapScenario(),
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
