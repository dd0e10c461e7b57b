using BenchmarkDotNet.Attributes;
using Sim.Core.Replay;
using Sim.Machine;

namespace Benchmarks;

/// <summary>
/// Replay throughput per trace family (<c>data/traces/linux-6.1-{sg,vgem,cma-arm,kvmfr}</c>), parsing and a fresh
/// machine per file included. One operation = one whole family; <see cref="Events"/> says how many counted events
/// that is, so events/s = Events / mean and bytes per event = Allocated / Events (<c>replay-families.py</c> turns the
/// JSON export into that table). <c>ReplayVgemGrid</c> is the earlier single-file figure (per event).
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    private List<string> _files = [];
    private ReplayEngine _engine = null!;

    /// <summary>The family.</summary>
    [Params("sg", "vgem", "cma-arm", "kvmfr")]
    public string Family { get; set; } = "sg";

    /// <summary>Counted events of the family (set up once; printed for the report).</summary>
    public long Events { get; private set; }

    /// <summary>Finds the family's files and counts their events.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found (set DMABUFSIM_DATA)");
        _files = ReplayEngine.ExpandPaths([Path.Combine(data, "traces", "linux-6.1-" + Family)]);
        _engine = new ReplayEngine(Composition.BuildMachine);
        Events = 0;
        foreach (var f in _files)
        {
            var r = _engine.ReplayFile(f);
            if (r.FormatError is not null || r.Totals.Failed > 0)
            {
                throw new InvalidOperationException($"cannot replay {f}: {r.FormatError}");
            }
            Events += r.Totals.Total;
        }
        Console.WriteLine($"// family {Family}: {_files.Count} files, {Events} events");
        File.WriteAllText(Path.Combine(Path.GetTempPath(), $"dmabufsim-bench-events-{Family}.txt"), Events.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Replays every file of the family, each on a fresh machine.</summary>
    [Benchmark]
    public long ReplayFamily()
    {
        long passed = 0;
        foreach (var f in _files)
        {
            passed += _engine.ReplayFile(f).Totals.Passed;
        }
        return passed;
    }
}
