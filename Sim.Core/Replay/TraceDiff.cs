using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sim.Core.Replay;

/// <summary>One field that differs between two traces.</summary>
/// <param name="I">The user event's <c>i</c> in the first trace.</param>
/// <param name="Op">Its op.</param>
/// <param name="WhereA">file:line in the first trace.</param>
/// <param name="WhereB">file:line in the second trace.</param>
/// <param name="Field">The field's path (<c>result.ret</c>, <c>args.entries[2].dma_address</c>, <c>during[0].op</c>).</param>
/// <param name="A">Its value in the first trace (JSON text, or <c>(absent)</c>).</param>
/// <param name="B">Its value in the second trace.</param>
/// <param name="Rule">Why the values count as different (<c>exact</c>, <c>equality pattern of inode numbers</c>, ...).</param>
public sealed record TraceDifference(long I, string Op, string WhereA, string WhereB, string Field, string A, string B, string Rule);

/// <summary>What <see cref="TraceDiff.Compare"/> found.</summary>
/// <param name="EventsA">User events of the first trace.</param>
/// <param name="EventsB">User events of the second trace.</param>
/// <param name="Differences">Every differing field, in event order.</param>
/// <param name="HeaderNotes">Header fields that differ (the machines' descriptions; not counted as differences).</param>
public sealed record TraceDiffResult(long EventsA, long EventsB, IReadOnlyList<TraceDifference> Differences, IReadOnlyList<string> HeaderNotes)
{
    /// <summary>Events that have at least one difference.</summary>
    public int EventsDiffering => Differences.Select(d => d.I).Distinct().Count();
}

/// <summary>
/// Compares two traces event by event (<c>dmabufsim diff A B</c>): a run of a program under <c>dmabufsim run --trace</c>
/// against a capture of the same program on the real kernel, or two captures (two kernels, two machines). Events are
/// paired by position; each pair must have the same op, the same top-level <c>fd</c> and <c>request</c>, and equal
/// <c>args</c> and <c>result</c> (kernel-side records in <c>args.during</c> order included), with the rules of
/// data/traces/README.md for nondeterministic fields ("Comparing nondeterministic fields" in each family section):
/// <list type="bullet">
/// <item>not compared: timestamps (<c>ts</c>, <c>captured</c>), <c>mnt_id</c>, global fence counters
/// (<c>first_context</c>), prose (<c>note</c>, <c>*_note</c>);</item>
/// <item>equality pattern (a consistent one-to-one renaming between the two traces, per class): inode numbers
/// (<c>st_ino</c>, <c>ino</c>, the fdinfo and bufinfo ino), fence contexts, process and thread ids (a version 2
/// trace's <c>pid</c>, <c>tid</c>, <c>ppid</c> and the child pid a <c>fork</c> returns), and the values
/// that depend on the physical allocator or address-space layout (pfns, physical, DMA and user addresses, the
/// address a successful mmap returns);</item>
/// <item>timings: <c>elapsed_s</c> both under 1 s, or within 10% (at least 1 s) of each other; <c>elapsed_jiffies</c>
/// within 2;</item>
/// <item>fdinfo text (<c>key:\tvalue</c> lines) key by key with the same rules; kernel log lines with kernel pointers
/// and printk timestamps masked;</item>
/// <item>everything else exactly, numbers in either of the format's spellings (<c>"0x10"</c> = 16).</item>
/// </list>
/// Header differences (<c>machine_config</c>, <c>boot_state</c>) are listed as notes, not counted: the traces may come
/// from different machines on purpose.
/// </summary>
public static partial class TraceDiff
{
    private enum Rule { Exact, Ignore, Pattern, Seconds, Jiffies }

    private static readonly FrozenDictionary<string, (Rule Rule, string Class)> s_fields = new Dictionary<string, (Rule Rule, string Class)>(StringComparer.Ordinal)
    {
        ["ts"] = (Rule.Ignore, ""),
        ["captured"] = (Rule.Ignore, ""),
        ["mnt_id"] = (Rule.Ignore, ""),
        ["first_context"] = (Rule.Ignore, ""),
        ["note"] = (Rule.Ignore, ""),
        ["st_ino"] = (Rule.Pattern, "inode numbers"),
        ["ino"] = (Rule.Pattern, "inode numbers"),
        ["inode"] = (Rule.Pattern, "inode numbers"),
        ["context"] = (Rule.Pattern, "fence contexts"),
        ["fence_context"] = (Rule.Pattern, "fence contexts"),
        ["pid"] = (Rule.Pattern, "process ids"),
        ["tid"] = (Rule.Pattern, "process ids"),
        ["ppid"] = (Rule.Pattern, "process ids"),
        ["child_pid"] = (Rule.Pattern, "process ids"),
        ["pfn"] = (Rule.Pattern, "addresses"),
        ["pfns"] = (Rule.Pattern, "addresses"),
        ["buffer_pfns"] = (Rule.Pattern, "addresses"),
        ["base_pfn"] = (Rule.Pattern, "addresses"),
        ["phys"] = (Rule.Pattern, "addresses"),
        ["paddr"] = (Rule.Pattern, "addresses"),
        ["dma_address"] = (Rule.Pattern, "addresses"),
        ["dma_addr"] = (Rule.Pattern, "addresses"),
        ["iova"] = (Rule.Pattern, "addresses"),
        ["addr"] = (Rule.Pattern, "addresses"),
        ["address"] = (Rule.Pattern, "addresses"),
        ["vaddr"] = (Rule.Pattern, "addresses"),
        ["kaddr"] = (Rule.Pattern, "addresses"),
        ["elapsed_s"] = (Rule.Seconds, ""),
        ["elapsed_jiffies"] = (Rule.Jiffies, ""),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Compares the traces at <paramref name="pathA"/> and <paramref name="pathB"/>.</summary>
    /// <exception cref="TraceFormatException">Either file is not a readable trace (the message names file and line).</exception>
    public static TraceDiffResult Compare(string pathA, string pathB, string? nameA = null, string? nameB = null)
    {
        using var a = new TraceReader(pathA, nameA ?? pathA);
        using var b = new TraceReader(pathB, nameB ?? pathB);
        foreach (var r in new[] { a, b })
        {
            if (r.Kind != DataFileKind.Trace)
            {
                throw new TraceFormatException(r.DisplayName, 1, "not a trace (a header line with \"format\": \"dmabuf-trace\" is expected): diff compares traces");
            }
        }
        var state = new State();
        var notes = new List<string>();
        HeaderNotes(a.Header, b.Header, "", notes);
        using var ea = a.Events().GetEnumerator();
        using var eb = b.Events().GetEnumerator();
        long na = 0, nb = 0;
        while (true)
        {
            bool hasA = ea.MoveNext(), hasB = eb.MoveNext();
            if (hasA)
            {
                na++;
            }
            if (hasB)
            {
                nb++;
            }
            if (!hasA && !hasB)
            {
                break;
            }
            if (hasA != hasB)
            {
                var extra = hasA ? ea.Current : eb.Current;
                state.Differences.Add(new TraceDifference(extra.I, extra.Op, hasA ? Where(extra) : "(end)", hasB ? Where(extra) : "(end)",
                    "event", hasA ? extra.Op : "(absent)", hasB ? extra.Op : "(absent)", "one trace has more events"));
                // Count the rest of the longer trace without comparing.
                var rest = hasA ? ea : eb;
                while (rest.MoveNext())
                {
                    if (hasA)
                    {
                        na++;
                    }
                    else
                    {
                        nb++;
                    }
                }
                break;
            }
            CompareEvent(ea.Current, eb.Current, state);
        }
        return new TraceDiffResult(na, nb, state.Differences, notes);
    }

    private sealed class State
    {
        public readonly List<TraceDifference> Differences = [];
        public readonly Dictionary<string, Dictionary<string, string>> AtoB = new(StringComparer.Ordinal);
        public readonly Dictionary<string, Dictionary<string, string>> BtoA = new(StringComparer.Ordinal);
        public TraceEvent? EventA;
        public TraceEvent? EventB;
        public long UserI;
        public string UserOp = "";

        public void Add(string field, string a, string b, string rule) =>
            Differences.Add(new TraceDifference(UserI, UserOp, Where(EventA!), Where(EventB!), field, a, b, rule));

        // A consistent one-to-one renaming per class: the first pairing of a value fixes it.
        public bool Pattern(string cls, string a, string b)
        {
            if (!AtoB.TryGetValue(cls, out var ab))
            {
                AtoB[cls] = ab = new Dictionary<string, string>(StringComparer.Ordinal);
                BtoA[cls] = new Dictionary<string, string>(StringComparer.Ordinal);
            }
            var ba = BtoA[cls];
            bool knownA = ab.TryGetValue(a, out var mappedB), knownB = ba.TryGetValue(b, out var mappedA);
            if (!knownA && !knownB)
            {
                ab[a] = b;
                ba[b] = a;
                return true;
            }
            return knownA && knownB && mappedB == b && mappedA == a;
        }
    }

    private static string Where(TraceEvent e) => $"{e.File}:{e.Line}";

    private static void CompareEvent(TraceEvent a, TraceEvent b, State s)
    {
        s.EventA = a;
        s.EventB = b;
        s.UserI = a.I;
        s.UserOp = a.Op;
        CompareRecord(a, b, "", s);
        int n = Math.Max(a.KernelSide.Count, b.KernelSide.Count);
        for (int k = 0; k < n; k++)
        {
            string path = $"during[{k}]";
            if (k >= a.KernelSide.Count || k >= b.KernelSide.Count)
            {
                s.Add(path, k < a.KernelSide.Count ? a.KernelSide[k].Op : "(absent)", k < b.KernelSide.Count ? b.KernelSide[k].Op : "(absent)",
                    "one trace has more kernel-side records");
                continue;
            }
            s.EventA = a.KernelSide[k];
            s.EventB = b.KernelSide[k];
            CompareRecord(a.KernelSide[k], b.KernelSide[k], path + ".", s);
        }
        s.EventA = a;
        s.EventB = b;
    }

    private static void CompareRecord(TraceEvent a, TraceEvent b, string prefix, State s)
    {
        if (a.Op != b.Op)
        {
            s.Add(prefix + "op", Quote(a.Op), Quote(b.Op), "exact");
            return; // different calls: their fields do not pair
        }
        foreach (string top in new[] { "fd", "request" })
        {
            bool ha = a.Root.TryGetProperty(top, out var va), hb = b.Root.TryGetProperty(top, out var vb);
            if (ha || hb)
            {
                CompareValue(ha ? va : null, hb ? vb : null, prefix + top, top, a.Op, s);
            }
        }
        CompareObject(a.Args, b.Args, prefix + "args", a.Op, s, skip: "during");
        CompareObject(a.Result, b.Result, prefix + "result", a.Op, s, skip: null);
    }

    private static void CompareObject(JsonElement a, JsonElement b, string path, string op, State s, string? skip)
    {
        var keys = new List<string>();
        foreach (var p in a.EnumerateObject())
        {
            keys.Add(p.Name);
        }
        foreach (var p in b.EnumerateObject())
        {
            if (!a.TryGetProperty(p.Name, out _))
            {
                keys.Add(p.Name);
            }
        }
        foreach (string k in keys)
        {
            if (k == skip || k.EndsWith("_note", StringComparison.Ordinal))
            {
                continue;
            }
            bool ha = a.TryGetProperty(k, out var va), hb = b.TryGetProperty(k, out var vb);
            CompareValue(ha ? va : null, hb ? vb : null, path + "." + k, k, op, s);
        }
    }

    private static void CompareValue(JsonElement? a, JsonElement? b, string path, string key, string op, State s)
    {
        var (rule, cls) = s_fields.TryGetValue(key, out var r) ? r : (Rule.Exact, "");
        // A successful mmap's (or mremap's) address depends on the address-space layout.
        if (key == "ret" && op is "mmap" or "mmap2" or "mremap" && a is { } ra && b is { } rb
            && TraceNumber.TryGetI64(ra, out long ia) && TraceNumber.TryGetI64(rb, out long ib) && ia >= 0 && ib >= 0)
        {
            (rule, cls) = (Rule.Pattern, "addresses");
        }
        // A successful fork returns the child's pid (version 2 traces).
        if (key == "ret" && op == "fork" && a is { } fa && b is { } fb
            && TraceNumber.TryGetI64(fa, out long pa) && TraceNumber.TryGetI64(fb, out long pb) && pa > 0 && pb > 0)
        {
            (rule, cls) = (Rule.Pattern, "process ids");
        }
        if (rule == Rule.Ignore)
        {
            return;
        }
        if (a is not { } x || b is not { } y)
        {
            s.Add(path, a is { } xa ? xa.GetRawText() : "(absent)", b is { } yb ? yb.GetRawText() : "(absent)", "present in one trace only");
            return;
        }
        if (x.ValueKind == JsonValueKind.Array && y.ValueKind == JsonValueKind.Array)
        {
            int la = x.GetArrayLength(), lb = y.GetArrayLength();
            if (la != lb)
            {
                s.Add(path + ".length", la.ToString(CultureInfo.InvariantCulture), lb.ToString(CultureInfo.InvariantCulture), "exact");
                return;
            }
            for (int k = 0; k < la; k++)
            {
                // Elements take the array's rule (buffer_pfns: every pfn a pattern value).
                CompareValue(x[k], y[k], $"{path}[{k}]", key, op, s);
            }
            return;
        }
        if (x.ValueKind == JsonValueKind.Object && y.ValueKind == JsonValueKind.Object)
        {
            CompareObject(x, y, path, op, s, skip: null);
            return;
        }
        switch (rule)
        {
            case Rule.Pattern:
                string na = Canonical(x), nb = Canonical(y);
                if (!s.Pattern(cls, na, nb))
                {
                    s.Add(path, x.GetRawText(), y.GetRawText(), "equality pattern of " + cls);
                }
                return;
            case Rule.Seconds:
                if (!(TryDouble(x, out double da) && TryDouble(y, out double db)
                    && ((da < 1 && db < 1) || Math.Abs(da - db) <= Math.Max(1.0, 0.1 * Math.Max(da, db)))))
                {
                    s.Add(path, x.GetRawText(), y.GetRawText(), "timing: both under 1 s or within 10% (at least 1 s)");
                }
                return;
            case Rule.Jiffies:
                if (!(TraceNumber.TryGetI64(x, out long ja) && TraceNumber.TryGetI64(y, out long jb) && Math.Abs(ja - jb) <= 2))
                {
                    s.Add(path, x.GetRawText(), y.GetRawText(), "timing: within 2 jiffies");
                }
                return;
        }
        if (x.ValueKind == JsonValueKind.String && y.ValueKind == JsonValueKind.String)
        {
            string sa = x.GetString()!, sb = y.GetString()!;
            if (sa == sb)
            {
                return;
            }
            if (IsFdinfo(sa) && IsFdinfo(sb))
            {
                CompareFdinfo(sa, sb, path, op, s);
                return;
            }
            if (MaskKernelLog(sa) == MaskKernelLog(sb))
            {
                return;
            }
        }
        if (Canonical(x) != Canonical(y))
        {
            s.Add(path, x.GetRawText(), y.GetRawText(), "exact");
        }
    }

    // fdinfo text: "pos:\t0\nflags:\t02\n..." compared key by key.
    private static bool IsFdinfo(string text) => text.StartsWith("pos:", StringComparison.Ordinal) && text.Contains('\n', StringComparison.Ordinal);

    private static void CompareFdinfo(string a, string b, string path, string op, State s)
    {
        var ka = FdinfoKeys(a);
        var kb = FdinfoKeys(b);
        foreach (string k in ka.Keys.Concat(kb.Keys.Where(k => !ka.ContainsKey(k))))
        {
            string sub = path + "{" + k + "}";
            bool ha = ka.TryGetValue(k, out var va), hb = kb.TryGetValue(k, out var vb);
            var (rule, cls) = s_fields.TryGetValue(k, out var r) ? r : (Rule.Exact, "");
            if (rule == Rule.Ignore)
            {
                continue;
            }
            if (!ha || !hb)
            {
                s.Add(sub, ha ? Quote(va!) : "(absent)", hb ? Quote(vb!) : "(absent)", "present in one fdinfo only");
            }
            else if (rule == Rule.Pattern)
            {
                if (!s.Pattern(cls, va!, vb!))
                {
                    s.Add(sub, Quote(va!), Quote(vb!), "equality pattern of " + cls);
                }
            }
            else if (va != vb)
            {
                s.Add(sub, Quote(va!), Quote(vb!), "exact");
            }
        }
    }

    private static Dictionary<string, string> FdinfoKeys(string text)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string k = colon < 0 ? line : line[..colon];
            string v = colon < 0 ? "" : line[(colon + 1)..].Trim();
            d.TryAdd(k, v);
        }
        return d;
    }

    // Kernel log text: printk timestamps "[   12.345678]" and kernel pointers (0xffff..., 16 hex digits) vary per boot.
    private static string MaskKernelLog(string text) => KernelPointer().Replace(PrintkTime().Replace(text, "[T]"), "0xPTR");

    [GeneratedRegex(@"\[\s*\d+\.\d+\]")]
    private static partial Regex PrintkTime();

    [GeneratedRegex(@"\b(0x)?ffff[0-9a-f]{12}\b")]
    private static partial Regex KernelPointer();

    // Numbers in either spelling compare by value; other JSON by its text.
    private static string Canonical(JsonElement e)
    {
        if (TraceNumber.TryGetU64(e, out ulong u))
        {
            return u.ToString(CultureInfo.InvariantCulture);
        }
        if (TraceNumber.TryGetI64(e, out long i))
        {
            return i.ToString(CultureInfo.InvariantCulture);
        }
        // Strings by their value: "\u003Cfd\u003E" and "<fd>" are the same text.
        return e.ValueKind == JsonValueKind.String ? "s:" + e.GetString() : e.GetRawText();
    }

    private static bool TryDouble(JsonElement e, out double v)
    {
        v = 0;
        return e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out v);
    }

    private static string Quote(string s) => JsonSerializer.Serialize(s);

    private static void HeaderNotes(JsonElement a, JsonElement b, string path, List<string> notes)
    {
        if (a.ValueKind == JsonValueKind.Object && b.ValueKind == JsonValueKind.Object)
        {
            var keys = a.EnumerateObject().Select(p => p.Name).Concat(b.EnumerateObject().Select(p => p.Name)).Distinct(StringComparer.Ordinal);
            foreach (string k in keys)
            {
                if (k.EndsWith("_note", StringComparison.Ordinal) || k is "captured" or "note")
                {
                    continue;
                }
                bool ha = a.TryGetProperty(k, out var va), hb = b.TryGetProperty(k, out var vb);
                string sub = path.Length == 0 ? k : path + "." + k;
                if (!ha || !hb)
                {
                    notes.Add($"{sub}: {(ha ? Short(va) : "(absent)")} vs {(hb ? Short(vb) : "(absent)")}");
                }
                else
                {
                    HeaderNotes(va, vb, sub, notes);
                }
            }
            return;
        }
        if (Canonical(a) != Canonical(b))
        {
            notes.Add($"{path}: {Short(a)} vs {Short(b)}");
        }
    }

    private static string Short(JsonElement e)
    {
        string t = e.GetRawText();
        return t.Length <= 60 ? t : t[..57] + "...";
    }

    /// <summary>Writes the result for a person: header notes, then the first <paramref name="max"/> differences grouped by event, then the closing line.</summary>
    public static void Write(string nameA, string nameB, TraceDiffResult r, int max, TextWriter o)
    {
        o.WriteLine($"{nameA}: {r.EventsA} events; {nameB}: {r.EventsB} events");
        if (r.HeaderNotes.Count > 0)
        {
            o.WriteLine($"headers differ in {r.HeaderNotes.Count} field{(r.HeaderNotes.Count == 1 ? "" : "s")} (the machines; not counted):");
            foreach (string n in r.HeaderNotes.Take(max))
            {
                o.WriteLine("  " + n);
            }
            if (r.HeaderNotes.Count > max)
            {
                o.WriteLine($"  ... {r.HeaderNotes.Count - max} more");
            }
        }
        long lastI = -1;
        int shown = 0;
        foreach (var d in r.Differences)
        {
            if (shown == max)
            {
                break;
            }
            if (d.I != lastI)
            {
                o.WriteLine($"i={d.I} {d.Op}  ({d.WhereA} vs {d.WhereB})");
                lastI = d.I;
            }
            o.WriteLine($"  {d.Field}: {d.A} vs {d.B}  [{d.Rule}]");
            shown++;
        }
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{r.Differences.Count} difference{(r.Differences.Count == 1 ? "" : "s")} in {r.EventsDiffering} event{(r.EventsDiffering == 1 ? "" : "s")}");
        if (r.Differences.Count > shown)
        {
            sb.Append(CultureInfo.InvariantCulture, $" (first {shown} shown; --max shows more)");
        }
        o.WriteLine(sb.ToString());
    }

    /// <summary>Writes the result as JSON Lines: one object per difference, then <c>{"differences":N,"events_a":..,"events_b":..}</c>.</summary>
    public static void WriteJson(TraceDiffResult r, TextWriter o)
    {
        var opts = new JsonWriterOptions { Indented = false };
        foreach (var d in r.Differences)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, opts))
            {
                w.WriteStartObject();
                w.WriteNumber("i", d.I);
                w.WriteString("op", d.Op);
                w.WriteString("field", d.Field);
                w.WriteString("a", d.A);
                w.WriteString("b", d.B);
                w.WriteString("rule", d.Rule);
                w.WriteString("where_a", d.WhereA);
                w.WriteString("where_b", d.WhereB);
                w.WriteEndObject();
            }
            o.WriteLine(Encoding.UTF8.GetString(ms.ToArray()));
        }
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{{\"differences\":{r.Differences.Count},\"events_differing\":{r.EventsDiffering},\"events_a\":{r.EventsA},\"events_b\":{r.EventsB},\"header_notes\":{r.HeaderNotes.Count}}}"));
    }
}
