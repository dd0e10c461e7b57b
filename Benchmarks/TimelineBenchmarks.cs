using BenchmarkDotNet.Attributes;
using Sim.Core.Replay;
using Sim.Machine;
using Sim.Timeline;

namespace Benchmarks;

/// <summary>
/// What a timeline costs: replaying every trace file of a family as <c>dmabufsim replay</c> does (the baseline),
/// against the same replays each recording its timeline and writing it as Trace Event Format JSON
/// (<c>--timeline FILE.json</c>), and as the HTML page (<c>--timeline FILE.html</c>). Issue 19 asks for at most 2x
/// the baseline, measured in the same run. One operation = the whole family
/// (<c>data/traces/linux-6.1-{vgem,sg}</c>), each file on a fresh machine.
/// </summary>
[MemoryDiagnoser]
public class TimelineBenchmarks
{
    private List<string> _files = [];
    private ReplayEngine _engine = null!;
    private readonly MemoryStream _out = new();

    /// <summary>The family.</summary>
    [Params("vgem", "sg")]
    public string Family { get; set; } = "vgem";

    /// <summary>Finds the family's files.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found (set DMABUFSIM_DATA)");
        _files = ReplayEngine.ExpandPaths([Path.Combine(data, "traces", "linux-6.1-" + Family)]);
        _engine = new ReplayEngine(Composition.BuildMachine);
    }

    /// <summary>The replays alone.</summary>
    [Benchmark(Baseline = true)]
    public long Replay()
    {
        long passed = 0;
        foreach (var f in _files)
        {
            passed += _engine.ReplayFile(f).Totals.Passed;
        }
        return passed;
    }

    /// <summary>The replays recording their timelines, each written as Trace Event Format JSON.</summary>
    [Benchmark]
    public long ReplayWithTimelineJson()
    {
        long n = 0;
        foreach (var f in _files)
        {
            var observer = new ReplayTimelineObserver();
            var engine = new ReplayEngine(Composition.BuildMachine) { Observer = observer };
            n += engine.ReplayFile(f).Totals.Passed;
            _out.SetLength(0);
            TraceEventJson.Write(observer.Timelines[0], _out);
            n += _out.Length;
        }
        return n;
    }

    /// <summary>The replays recording their timelines, each written as the HTML page.</summary>
    [Benchmark]
    public long ReplayWithTimelinePage()
    {
        long n = 0;
        foreach (var f in _files)
        {
            var observer = new ReplayTimelineObserver();
            var engine = new ReplayEngine(Composition.BuildMachine) { Observer = observer };
            n += engine.ReplayFile(f).Totals.Passed;
            _out.SetLength(0);
            TimelineHtml.Write(observer.Timelines[0], _out);
            n += _out.Length;
        }
        return n;
    }
}
