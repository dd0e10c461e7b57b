// The Trace Event Format (the JSON that Perfetto's UI and chrome://tracing open): "X" slices, "i" instants,
// "s"/"t"/"f" flows bound to their enclosing slice, "C" counters and "M" names.
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sim.Timeline;

/// <summary>Writes a <see cref="Timeline"/> as Trace Event Format JSON (timestamps in µs with ns precision).</summary>
public static class TraceEventJson
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes <paramref name="tl"/> to <paramref name="stream"/>.</summary>
    public static void Write(Timeline tl, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(tl);
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new Utf8JsonWriter(stream, s_options);
        w.WriteStartObject();
        w.WriteString("displayTimeUnit", "ns");
        w.WriteStartObject("otherData");
        w.WriteString("title", tl.Title);
        w.WriteString("timebase", tl.TimeBase);
        w.WriteString("generator", "dmabufsim timeline");
        w.WriteString("call_cost_ns", TimelineRecorder.CallCostNs.ToString(CultureInfo.InvariantCulture));
        w.WriteEndObject();
        w.WriteStartArray("traceEvents");
        Metadata(w, tl);
        foreach (var s in tl.Slices)
        {
            var t = tl.Tracks[s.Track];
            w.WriteStartObject();
            w.WriteString("ph", "X");
            w.WriteString("name", s.Name);
            w.WriteString("cat", s.Category);
            w.WriteNumber("pid", t.Pid);
            w.WriteNumber("tid", t.Tid);
            Ts(w, "ts", s.Start);
            Ts(w, "dur", s.Dur);
            if (s.Args.Count > 0 || s.Error)
            {
                w.WriteStartObject("args");
                Args(w, s.Args);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        foreach (var i in tl.Instants)
        {
            var t = tl.Tracks[i.Track];
            w.WriteStartObject();
            w.WriteString("ph", "i");
            w.WriteString("s", "t");
            w.WriteString("name", i.Name);
            w.WriteString("cat", i.Category);
            w.WriteNumber("pid", t.Pid);
            w.WriteNumber("tid", t.Tid);
            Ts(w, "ts", i.Ts);
            if (i.Args.Count > 0)
            {
                w.WriteStartObject("args");
                Args(w, i.Args);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        foreach (var f in tl.Flows)
        {
            for (int k = 0; k < f.Slices.Count; k++)
            {
                int slice = f.Slices[k];
                var t = tl.Tracks[tl.Slices[slice].Track];
                w.WriteStartObject();
                w.WriteString("ph", k == 0 ? "s" : k == f.Slices.Count - 1 ? "f" : "t");
                w.WriteString("bp", "e");
                w.WriteNumber("id", f.Id);
                w.WriteString("name", f.Name);
                w.WriteString("cat", f.Category);
                w.WriteNumber("pid", t.Pid);
                w.WriteNumber("tid", t.Tid);
                Ts(w, "ts", tl.AnchorOf(slice));
                w.WriteStartObject("args");
                w.WriteString("step", f.Labels[k]);
                w.WriteEndObject();
                w.WriteEndObject();
            }
        }
        foreach (var c in tl.Counters)
        {
            foreach (var (ts, v) in c.Samples)
            {
                w.WriteStartObject();
                w.WriteString("ph", "C");
                w.WriteString("name", c.Name);
                w.WriteNumber("pid", 0);
                Ts(w, "ts", ts);
                w.WriteStartObject("args");
                w.WriteNumber(c.Unit, v);
                w.WriteEndObject();
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Writes <paramref name="tl"/> to the file <paramref name="path"/>.</summary>
    public static void Write(Timeline tl, string path)
    {
        using var f = File.Create(path);
        Write(tl, f);
    }

    private static void Metadata(Utf8JsonWriter w, Timeline tl)
    {
        var seen = new HashSet<int>();
        int order = 0;
        foreach (var t in tl.Tracks)
        {
            if (seen.Add(t.Pid))
            {
                Meta(w, "process_name", t.Pid, null, "name", t.ProcessName);
                Meta(w, "process_sort_index", t.Pid, null, "sort_index", t.Pid == 0 ? 1_000_000 : t.Pid);
            }
            Meta(w, "thread_name", t.Pid, t.Tid, "name", t.Name);
            Meta(w, "thread_sort_index", t.Pid, t.Tid, "sort_index", order++);
        }
        if (seen.Add(0))
        {
            Meta(w, "process_name", 0, null, "name", "kernel (simulated)");
        }
    }

    private static void Meta(Utf8JsonWriter w, string name, int pid, int? tid, string key, object value)
    {
        w.WriteStartObject();
        w.WriteString("ph", "M");
        w.WriteString("name", name);
        w.WriteNumber("pid", pid);
        if (tid is { } t)
        {
            w.WriteNumber("tid", t);
        }
        w.WriteStartObject("args");
        if (value is string s)
        {
            w.WriteString(key, s);
        }
        else
        {
            w.WriteNumber(key, (int)value);
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Args(Utf8JsonWriter w, List<TimelineArg> args)
    {
        foreach (var a in args)
        {
            if (a.Quoted)
            {
                w.WriteString(a.Key, a.Value);
            }
            else
            {
                w.WritePropertyName(a.Key);
                w.WriteRawValue(a.Value, skipInputValidation: true);
            }
        }
    }

    private static void Args(Utf8JsonWriter w, IReadOnlyList<TimelineArg> args)
    {
        foreach (var a in args)
        {
            if (a.Quoted)
            {
                w.WriteString(a.Key, a.Value);
            }
            else
            {
                w.WritePropertyName(a.Key);
                w.WriteRawValue(a.Value, skipInputValidation: true);
            }
        }
    }

    // µs with three decimals: exact ns, no floating-point noise.
    private static void Ts(Utf8JsonWriter w, string name, long ns)
    {
        Span<byte> buf = stackalloc byte[32];
        long us = ns / 1000;
        long frac = Math.Abs(ns % 1000);
        int n;
        if (ns < 0 && us == 0)
        {
            buf[0] = (byte)'-';
            _ = "0".AsSpan();
            buf[1] = (byte)'0';
            n = 2;
        }
        else
        {
            us.TryFormat(buf, out n, default, CultureInfo.InvariantCulture);
        }
        buf[n++] = (byte)'.';
        buf[n++] = (byte)('0' + (frac / 100));
        buf[n++] = (byte)('0' + (frac / 10 % 10));
        buf[n++] = (byte)('0' + (frac % 10));
        w.WritePropertyName(name);
        w.WriteRawValue(buf[..n], skipInputValidation: true);
    }
}
