// The numbers a person debugging buffer sharing asks for first: per process calls, errors and longest waits;
// per buffer its lifetime and who held it; per fence who waited and how long.
using System.Globalization;
using System.Text;

namespace Sim.Timeline;

/// <summary>Per-process figures.</summary>
public sealed record ProcessSummary(string Name, int Calls, int Errors, IReadOnlyList<(string Call, long I, long WaitNs)> LongestWaits);

/// <summary>Per-fence figures.</summary>
public sealed record FenceSummary(string Track, string Name, string Driver, long Init, long? Signal, int Waiters);

/// <summary>The summary tables of a timeline (for the terminal and the page).</summary>
public sealed class TimelineSummary
{
    /// <summary>Per process, in track order.</summary>
    public List<ProcessSummary> Processes { get; } = [];

    /// <summary>Fences.</summary>
    public List<FenceSummary> Fences { get; } = [];

    /// <summary>The timeline summarised.</summary>
    public required Timeline Timeline { get; init; }

    /// <summary>Computes the summary of <paramref name="tl"/>.</summary>
    public static TimelineSummary Of(Timeline tl)
    {
        ArgumentNullException.ThrowIfNull(tl);
        var sum = new TimelineSummary { Timeline = tl };
        var waiters = new Dictionary<int, int>();
        foreach (var f in tl.Flows)
        {
            if (f.Category == "fence")
            {
                int sig = f.Slices[^1];
                int fence = tl.Slices[sig].Parent;
                waiters[fence] = waiters.GetValueOrDefault(fence) + 1;
            }
        }
        foreach (var t in tl.Tracks)
        {
            if (t.Kind != TimelineTrackKind.Process)
            {
                continue;
            }
            int calls = 0, errors = 0;
            var waits = new List<(string, long, long)>();
            for (int k = 0; k < tl.Slices.Count; k++)
            {
                var s = tl.Slices[k];
                if (s.Track != t.Id)
                {
                    continue;
                }
                if (s.Parent < 0)
                {
                    calls++;
                    errors += s.Error ? 1 : 0;
                }
                else if (s.Category == "wait")
                {
                    var call = tl.Slices[s.Parent];
                    waits.Add((call.Name + " (" + s.Name + ")", call.Index, s.Dur));
                }
            }
            waits.Sort((a, b) => b.Item3.CompareTo(a.Item3));
            sum.Processes.Add(new ProcessSummary(t.ProcessName, calls, errors, waits.Take(5).ToList()));
        }
        for (int k = 0; k < tl.Slices.Count; k++)
        {
            var s = tl.Slices[k];
            if (s.Category != "fence")
            {
                continue;
            }
            bool signalled = s.Args.Exists(a => a.Key == "signaled" && a.Value == "true");
            string driver = s.Args.Find(a => a.Key == "driver").Value ?? "";
            sum.Fences.Add(new FenceSummary(tl.Tracks[s.Track].Name, s.Name, driver, s.Start, signalled ? s.End : null, waiters.GetValueOrDefault(k)));
        }
        return sum;
    }

    /// <summary>A duration for people: ns, µs, ms or s.</summary>
    public static string Duration(long ns) => new(Duration(ns, stackalloc char[40]));

    /// <summary><see cref="Duration(long)"/> into <paramref name="dest"/> (at least 40 chars); returns the part written.</summary>
    public static ReadOnlySpan<char> Duration(long ns, Span<char> dest)
    {
        int n;
        string unit;
        bool ok;
        if (ns < 1_000)
        {
            (ok, unit) = (ns.TryFormat(dest, out n, default, CultureInfo.InvariantCulture), " ns");
        }
        else
        {
            var (v, format) = ns switch
            {
                < 1_000_000 => (ns / 1e3, "0.#"),
                < 1_000_000_000 => (ns / 1e6, "0.###"),
                _ => (ns / 1e9, "0.###"),
            };
            unit = ns switch { < 1_000_000 => " µs", < 1_000_000_000 => " ms", _ => " s" };
            ok = v.TryFormat(dest, out n, format, CultureInfo.InvariantCulture);
        }
        if (!ok || !unit.TryCopyTo(dest[n..]))
        {
            throw new ArgumentException("too short for a duration", nameof(dest));
        }
        return dest[..(n + unit.Length)];
    }

    /// <summary>A time on the axis, relative to its beginning.</summary>
    public string At(long ns) => "+" + Duration(ns - Timeline.Begin);

    /// <summary>Rows of the per-buffer table: id, what, created, released, lifetime, holders, steps.</summary>
    public IEnumerable<string[]> BufferRows(int maxSteps = int.MaxValue)
    {
        var tl = Timeline;
        foreach (var b in tl.Buffers)
        {
            long end = b.Released ?? tl.End;
            yield return
            [
                b.Id.ToString(CultureInfo.InvariantCulture), b.Name, At(b.Created), b.Released is { } r ? At(r) : "alive at end",
                Duration(end - b.Created), string.Join(", ", b.Holders),
                Life(b, maxSteps),
            ];
        }
    }

    private string Life(TimelineBuffer b, int maxSteps)
    {
        var tl = Timeline;
        var sb = new StringBuilder();
        void Add(int k)
        {
            var (slice, label) = b.Steps[k];
            var s = tl.Slices[slice];
            if (sb.Length > 0)
            {
                sb.Append(" → ");
            }
            sb.Append(label);
            if (s.Index >= 0)
            {
                sb.Append(" (i=").Append(s.Index.ToString(CultureInfo.InvariantCulture)).Append(')');
            }
            else
            {
                sb.Append(" (").Append(s.Name).Append(')');
            }
        }
        int n = b.Steps.Count;
        if (n > maxSteps)
        {
            int head = maxSteps - 2;
            for (int k = 0; k < head; k++)
            {
                Add(k);
            }
            sb.Append(sb.Length > 0 ? " → " : "").Append(CultureInfo.InvariantCulture, $"… {n - head - 2} more …");
            Add(n - 2);
            Add(n - 1);
        }
        else
        {
            for (int k = 0; k < n; k++)
            {
                Add(k);
            }
        }
        return sb.ToString();
    }

    /// <summary>Writes the summary as text tables (<c>show TRACE --timeline -</c>).</summary>
    public void WriteText(TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        var tl = Timeline;
        w.WriteLine($"timeline of {tl.Title}: {Duration(tl.End - tl.Begin)} on the {tl.TimeBase} clock" +
            (tl.TimeBase == "simulated" ? string.Create(CultureInfo.InvariantCulture, $" (each call {Duration(TimelineRecorder.CallCostNs)} plus its waits)") : " (kernel-side ts of the capture)"));
        w.WriteLine();
        Table(w, "Processes", ["process", "calls", "errors", "longest waits"],
            Processes.Select(p => new[]
            {
                p.Name, p.Calls.ToString(CultureInfo.InvariantCulture), p.Errors.ToString(CultureInfo.InvariantCulture),
                p.LongestWaits.Count == 0 ? "none" : string.Join("; ", p.LongestWaits.Take(3).Select(x => string.Create(CultureInfo.InvariantCulture, $"{Duration(x.WaitNs)} in {x.Call} i={x.I}"))),
            }));
        Table(w, "Buffers", ["#", "buffer", "created", "released", "lifetime", "held by", "life"], BufferRows(5));
        Table(w, "Fences", ["track", "fence", "driver", "init", "signalled", "waiters"],
            Fences.Select(f => new[] { f.Track, f.Name, f.Driver, At(f.Init), f.Signal is { } s ? At(s) : "never", f.Waiters.ToString(CultureInfo.InvariantCulture) }));
        Table(w, "Counters", ["counter", "at boot", "peak", "at end"],
            tl.Counters.Select(c => new[]
            {
                c.Name + " (" + c.Unit + ")", c.Samples[0].Value.ToString(CultureInfo.InvariantCulture),
                c.Samples.Max(x => x.Value).ToString(CultureInfo.InvariantCulture), c.Samples[^1].Value.ToString(CultureInfo.InvariantCulture),
            }));
    }

    private static void Table(TextWriter w, string title, string[] head, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        w.WriteLine(title + (all.Count == 0 ? ": none" : ""));
        if (all.Count == 0)
        {
            w.WriteLine();
            return;
        }
        const int MaxCol = 60;
        var width = new int[head.Length];
        for (int c = 0; c < head.Length; c++)
        {
            width[c] = head[c].Length;
            foreach (var r in all)
            {
                width[c] = Math.Min(MaxCol, Math.Max(width[c], r[c].Length));
            }
        }
        var sb = new StringBuilder();
        void Row(string[] cells)
        {
            sb.Clear().Append("  ");
            for (int c = 0; c < cells.Length; c++)
            {
                string cell = cells[c];
                bool last = c == cells.Length - 1;
                if (!last && cell.Length > width[c])
                {
                    cell = cell[..(width[c] - 1)] + "…";
                }
                sb.Append(last ? cell : cell.PadRight(width[c])).Append(last ? "" : "  ");
            }
            w.WriteLine(sb.ToString().TrimEnd());
        }
        Row(head);
        Row(width.Select(n => new string('-', n)).ToArray());
        foreach (var r in all)
        {
            Row(r);
        }
        w.WriteLine();
    }
}
