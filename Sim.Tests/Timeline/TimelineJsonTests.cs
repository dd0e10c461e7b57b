using System.Globalization;
using System.Text.Json;
using Sim.Machine;
using Sim.Core.Replay;
using Sim.Timeline;
using Xunit;

namespace Sim.Tests.Timeline;

/// <summary>
/// The timeline of every bundled trace, read back as Trace Event Format JSON and checked against the trace file
/// itself: one slice per user event, proper nesting per track, flows that end where they should, counters back at
/// their boot values at the end.
/// </summary>
public sealed class TimelineJsonTests
{
    private static readonly string DataDir = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");

    public static TheoryData<string> Traces()
    {
        var d = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(DataDir, "traces"), "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            d.Add(Path.GetRelativePath(DataDir, f));
        }
        return d;
    }

    internal static Sim.Timeline.Timeline Record(string path)
    {
        var observer = new ReplayTimelineObserver();
        var engine = new ReplayEngine(Composition.BuildMachine) { Observer = observer };
        var result = engine.ReplayFile(path);
        Assert.Null(result.FormatError);
        return Assert.Single(observer.Timelines);
    }

    private sealed record Slice(string Name, string Cat, long Ts, long End, JsonElement Args);

    private static long Ns(JsonElement e) => (long)Math.Round(e.GetDouble() * 1000);

    [Theory]
    [MemberData(nameof(Traces))]
    public void TimelineJsonMatchesTheTrace(string relative)
    {
        string path = Path.Combine(DataDir, relative);
        var tl = Record(path);
        using var ms = new MemoryStream();
        TraceEventJson.Write(tl, ms);
        using var doc = JsonDocument.Parse(ms.ToArray());
        var events = doc.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();

        // The trace's own user events: every line after the header without args.during, notes excepted.
        var expected = new List<long>();
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            using var ev = JsonDocument.Parse(line);
            var root = ev.RootElement;
            string op = root.GetProperty("op").GetString()!;
            bool during = root.TryGetProperty("args", out var a) && a.ValueKind == JsonValueKind.Object && a.TryGetProperty("during", out _);
            if (!during && op is not ("note" or "replacement_case"))
            {
                expected.Add(root.GetProperty("i").GetInt64());
            }
        }
        var slices = new Dictionary<(int, int), List<Slice>>();
        var calls = new List<long>();
        foreach (var e in events.Where(e => e.GetProperty("ph").GetString() == "X"))
        {
            var key = (e.GetProperty("pid").GetInt32(), e.GetProperty("tid").GetInt32());
            long ts = Ns(e.GetProperty("ts"));
            var s = new Slice(e.GetProperty("name").GetString()!, e.GetProperty("cat").GetString()!, ts, ts + Ns(e.GetProperty("dur")),
                e.TryGetProperty("args", out var args) ? args : default);
            Assert.True(s.End >= s.Ts, $"{relative}: slice {s.Name} ends before it starts");
            if (!slices.TryGetValue(key, out var list))
            {
                slices[key] = list = [];
            }
            list.Add(s);
            if (s.Cat == "syscall")
            {
                calls.Add(s.Args.GetProperty("i").GetInt64());
            }
        }
        // Every user event is exactly one slice.
        calls.Sort();
        expected.Sort();
        Assert.Equal(expected, calls);

        // Slices on one track nest properly.
        foreach (var (track, list) in slices)
        {
            list.Sort((x, y) => x.Ts != y.Ts ? x.Ts.CompareTo(y.Ts) : y.End.CompareTo(x.End));
            var stack = new Stack<Slice>();
            foreach (var s in list)
            {
                while (stack.Count > 0 && stack.Peek().End <= s.Ts && !(stack.Peek().End == s.Ts && s.End == s.Ts && stack.Peek().Ts < s.Ts && false))
                {
                    stack.Pop();
                }
                if (stack.Count > 0)
                {
                    Assert.True(s.End <= stack.Peek().End, $"{relative}: track {track}: {s.Name} [{s.Ts},{s.End}] overlaps {stack.Peek().Name} [{stack.Peek().Ts},{stack.Peek().End}]");
                }
                stack.Push(s);
            }
        }

        // Flows: every point binds to a slice enclosing it on its track; fence flows go from a wait to the signal of
        // the fence waited on, no earlier than the wait began; buffer flows run forward in time from the buffer's
        // creation to its release (the replay's leak check guarantees every buffer is released by the end).
        Slice Enclosing(JsonElement p)
        {
            var key = (p.GetProperty("pid").GetInt32(), p.GetProperty("tid").GetInt32());
            long ts = Ns(p.GetProperty("ts"));
            Slice? best = null;
            foreach (var s in slices[key])
            {
                if (s.Ts <= ts && ts < s.End && (best is null || s.Ts >= best.Ts && s.End <= best.End))
                {
                    best = s;
                }
            }
            Assert.True(best is not null, $"{relative}: flow point at {ts} on {key} has no enclosing slice");
            return best!;
        }
        foreach (var flow in events.Where(e => e.GetProperty("ph").GetString() is "s" or "t" or "f").GroupBy(e => e.GetProperty("id").GetInt64()))
        {
            var points = flow.ToList();
            Assert.True(points.Count >= 2);
            Assert.Equal("s", points[0].GetProperty("ph").GetString());
            Assert.Equal("f", points[^1].GetProperty("ph").GetString());
            Assert.All(points.Skip(1).SkipLast(1), p => Assert.Equal("t", p.GetProperty("ph").GetString()));
            var bound = points.Select(Enclosing).ToList();
            string cat = points[0].GetProperty("cat").GetString()!;
            string name = points[0].GetProperty("name").GetString()!;
            if (cat == "fence")
            {
                string fence = name[(name.LastIndexOf(' ') + 1)..];
                Assert.Equal("wait", bound[0].Cat);
                Assert.Equal("wait " + fence, bound[0].Name);
                Assert.Equal("signal", bound[^1].Cat);
                var owner = slices[(points[^1].GetProperty("pid").GetInt32(), points[^1].GetProperty("tid").GetInt32())]
                    .Single(s => s.Cat == "fence" && s.Ts <= bound[^1].Ts && bound[^1].End <= s.End);
                Assert.Equal("fence " + fence, owner.Name);
                Assert.Equal(owner.End, bound[^1].End); // the signal ends the fence's slice
                Assert.True(bound[^1].End >= bound[0].Ts, $"{relative}: {name}: the signal precedes the wait");
            }
            else
            {
                Assert.Equal("buffer", cat);
                Assert.All(bound, b => Assert.True(b.Cat is "syscall" or "exit", $"{relative}: {name} passes a {b.Cat} slice"));
                for (int k = 1; k < bound.Count; k++)
                {
                    Assert.True(bound[k].Ts >= bound[k - 1].End, $"{relative}: {name} goes back in time");
                }
                string first = points[0].GetProperty("args").GetProperty("step").GetString()!;
                string last = points[^1].GetProperty("args").GetProperty("step").GetString()!;
                Assert.True(first.StartsWith("create", StringComparison.Ordinal) || first.StartsWith("export", StringComparison.Ordinal), $"{relative}: {name} starts with {first}");
                Assert.True(last.EndsWith("GEM object freed", StringComparison.Ordinal) || last.EndsWith("dma-buf released", StringComparison.Ordinal),
                    $"{relative}: {name} ends with {last}");
            }
        }

        // Counters come back to their boot values (materialised RAM excepted: touched pages stay materialised).
        foreach (var counter in events.Where(e => e.GetProperty("ph").GetString() == "C").GroupBy(e => e.GetProperty("name").GetString()!))
        {
            if (counter.Key == "materialised RAM")
            {
                continue;
            }
            var values = counter.Select(c => c.GetProperty("args").EnumerateObject().Single().Value.GetInt64()).ToList();
            Assert.True(values[0] == values[^1], $"{relative}: counter {counter.Key} starts at {values[0]} and ends at {values[^1]}");
        }
    }
}
