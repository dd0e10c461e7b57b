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

    private static readonly JsonEncodedText Ph = JsonEncodedText.Encode("ph");
    private static readonly JsonEncodedText NameP = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText Cat = JsonEncodedText.Encode("cat");
    private static readonly JsonEncodedText Pid = JsonEncodedText.Encode("pid");
    private static readonly JsonEncodedText Tid = JsonEncodedText.Encode("tid");
    private static readonly JsonEncodedText ArgsP = JsonEncodedText.Encode("args");
    private static readonly JsonEncodedText X = JsonEncodedText.Encode("X");
    private static readonly JsonEncodedText I = JsonEncodedText.Encode("i");
    private static readonly JsonEncodedText S = JsonEncodedText.Encode("s");
    private static readonly JsonEncodedText T = JsonEncodedText.Encode("t");
    private static readonly JsonEncodedText F = JsonEncodedText.Encode("f");
    private static readonly JsonEncodedText C = JsonEncodedText.Encode("C");
    private static readonly JsonEncodedText Bp = JsonEncodedText.Encode("bp");
    private static readonly JsonEncodedText E = JsonEncodedText.Encode("e");
    private static readonly JsonEncodedText Id = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText Step = JsonEncodedText.Encode("step");
    private const int FlushAt = 32 * 1024;

    /// <summary>Writes <paramref name="tl"/> to <paramref name="stream"/>.</summary>
    public static void Write(Timeline tl, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(tl);
        ArgumentNullException.ThrowIfNull(stream);
        using var w = new Utf8JsonWriter(stream, s_options);
        // Names repeat (a trace has a few dozen ops, categories, counters): each encoded once.
        var names = new Dictionary<string, JsonEncodedText>(StringComparer.Ordinal);
        JsonEncodedText Enc(string s)
        {
            if (!names.TryGetValue(s, out var e))
            {
                e = JsonEncodedText.Encode(s, s_options.Encoder);
                if (names.Count < 4096)
                {
                    names.Add(s, e);
                }
            }
            return e;
        }
        var store = tl.ArgStore;
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
            w.WriteString(Ph, X);
            w.WriteString(NameP, Enc(s.Name));
            w.WriteString(Cat, Enc(s.Category));
            w.WriteNumber(Pid, t.Pid);
            w.WriteNumber(Tid, t.Tid);
            Ts(w, "ts"u8, s.Start);
            Ts(w, "dur"u8, s.Dur);
            if (s.HasArgs)
            {
                w.WritePropertyName(ArgsP);
                w.WriteRawValue((s.Store ?? store).Get(s.ArgRange), skipInputValidation: true);
            }
            else if (s.Error)
            {
                w.WriteStartObject(ArgsP);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            if (w.BytesPending > FlushAt)
            {
                w.Flush();
            }
        }
        foreach (var i in tl.Instants)
        {
            var t = tl.Tracks[i.Track];
            w.WriteStartObject();
            w.WriteString(Ph, I);
            w.WriteString(S, T);
            w.WriteString(NameP, Enc(i.Name));
            w.WriteString(Cat, Enc(i.Category));
            w.WriteNumber(Pid, t.Pid);
            w.WriteNumber(Tid, t.Tid);
            Ts(w, "ts"u8, i.Ts);
            if (!i.ArgRange.IsEmpty)
            {
                w.WritePropertyName(ArgsP);
                w.WriteRawValue(i.Store.Get(i.ArgRange), skipInputValidation: true);
            }
            w.WriteEndObject();
            if (w.BytesPending > FlushAt)
            {
                w.Flush();
            }
        }
        foreach (var f in tl.Flows)
        {
            var name = JsonEncodedText.Encode(f.Name, s_options.Encoder);
            for (int k = 0; k < f.Slices.Count; k++)
            {
                int slice = f.Slices[k];
                var t = tl.Tracks[tl.Slices[slice].Track];
                w.WriteStartObject();
                w.WriteString(Ph, k == 0 ? S : k == f.Slices.Count - 1 ? F : T);
                w.WriteString(Bp, E);
                w.WriteNumber(Id, f.Id);
                w.WriteString(NameP, name);
                w.WriteString(Cat, Enc(f.Category));
                w.WriteNumber(Pid, t.Pid);
                w.WriteNumber(Tid, t.Tid);
                Ts(w, "ts"u8, tl.AnchorOf(slice));
                w.WriteStartObject(ArgsP);
                w.WriteString(Step, f.Labels[k]);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            if (w.BytesPending > FlushAt)
            {
                w.Flush();
            }
        }
        foreach (var c in tl.Counters)
        {
            var name = JsonEncodedText.Encode(c.Name, s_options.Encoder);
            var unit = JsonEncodedText.Encode(c.Unit, s_options.Encoder);
            foreach (var (ts, v) in c.Samples)
            {
                w.WriteStartObject();
                w.WriteString(Ph, C);
                w.WriteString(NameP, name);
                w.WriteNumber(Pid, 0);
                Ts(w, "ts"u8, ts);
                w.WriteStartObject(ArgsP);
                w.WriteNumber(unit, v);
                w.WriteEndObject();
                w.WriteEndObject();
                if (w.BytesPending > FlushAt)
                {
                    w.Flush();
                }
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

    // µs with three decimals: exact ns, no floating-point noise.
    private static void Ts(Utf8JsonWriter w, ReadOnlySpan<byte> name, long ns)
    {
        Span<byte> buf = stackalloc byte[32];
        long us = ns / 1000;
        long frac = Math.Abs(ns % 1000);
        int n;
        if (ns < 0 && us == 0)
        {
            buf[0] = (byte)'-';
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
