using BenchmarkDotNet.Attributes;
using Sim.Core.Replay;
using Sim.Machine;
using Sim.Timeline;

namespace Benchmarks;

/// <summary>
/// What a timeline costs: replaying a trace file as <c>dmabufsim replay</c> does (the baseline), against the same
/// replay recording its timeline and writing it as Trace Event Format JSON, and as the HTML page. Issue 19 asks for
/// at most 2x the baseline, measured in the same run. Files: vgem-grid (919 events, 451 buffers) and
/// dmabuf_vgem_seed21_iommu (494 events: umem attachments, kernel records, IOVA counters).
/// </summary>
[MemoryDiagnoser]
public class TimelineBenchmarks
{
    private string _path = "";
    private ReplayEngine _engine = null!;
    private readonly MemoryStream _out = new();

    /// <summary>The trace file, relative to <c>data/traces</c>.</summary>
    [Params("linux-6.1-vgem/vgem-grid.jsonl", "linux-6.1-sg/dmabuf_vgem_seed21_iommu.jsonl")]
    public string File { get; set; } = "";

    /// <summary>Finds the trace.</summary>
    [GlobalSetup]
    public void Setup()
    {
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found (set DMABUFSIM_DATA)");
        _path = Path.Combine(data, "traces", File);
        _engine = new ReplayEngine(Composition.BuildMachine);
    }

    /// <summary>The replay alone.</summary>
    [Benchmark(Baseline = true)]
    public long Replay() => _engine.ReplayFile(_path).Totals.Passed;

    /// <summary>The replay recording the timeline, written as Trace Event Format JSON.</summary>
    [Benchmark]
    public long ReplayWithTimelineJson()
    {
        var observer = new ReplayTimelineObserver();
        var engine = new ReplayEngine(Composition.BuildMachine) { Observer = observer };
        long passed = engine.ReplayFile(_path).Totals.Passed;
        _out.SetLength(0);
        TraceEventJson.Write(observer.Timelines[0], _out);
        return passed + _out.Length;
    }

    /// <summary>The replay recording the timeline, written as the HTML page.</summary>
    [Benchmark]
    public long ReplayWithTimelinePage()
    {
        var observer = new ReplayTimelineObserver();
        var engine = new ReplayEngine(Composition.BuildMachine) { Observer = observer };
        long passed = engine.ReplayFile(_path).Totals.Passed;
        return passed + TimelineHtml.Render(observer.Timelines[0]).Length;
    }
}
