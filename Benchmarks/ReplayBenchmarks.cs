using BenchmarkDotNet.Attributes;
using Sim.Machine;
using Sim.Core.Replay;

namespace Benchmarks;

/// <summary>
/// Replay throughput over <c>data/traces/linux-6.1-vgem/vgem-grid.jsonl</c>, parsing included: one operation =
/// one event, so BenchmarkDotNet's per-operation time is the time per event (events/s = 1e9 / ns).
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    private string _path = "";
    private int _events;
    private ReplayEngine _engine = null!;

    /// <summary>Finds the trace and counts its events.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found (set DMABUFSIM_DATA)");
        _path = Path.Combine(data, "traces", "linux-6.1-vgem", "vgem-grid.jsonl");
        _engine = new ReplayEngine(Composition.BuildMachine);
        var r = _engine.ReplayFile(_path);
        _events = (int)r.Totals.Total;
        if (_events == 0 || r.FormatError is not null)
        {
            throw new InvalidOperationException($"cannot replay {_path}: {r.FormatError}");
        }
    }

    /// <summary>Replays the whole file on a fresh machine; reported per event.</summary>
    [Benchmark(OperationsPerInvoke = 918)]
    public long ReplayVgemGrid()
    {
        var r = _engine.ReplayFile(_path);
        return r.Totals.Passed + r.Totals.Failed * 1_000_000 + r.Totals.Skipped;
    }
}
