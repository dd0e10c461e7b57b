// dmabufsim diff-kernels: one trace replayed on both kernel profiles (Sim.Core/Boot/KernelVersion.cs), and every
// result the two profiles' models give differently.
using System.Globalization;
using Sim.Core.Boot;
using Sim.Core.Replay;

namespace Sim.Machine;

/// <summary>One result the 6.1 and 6.12 profiles give differently.</summary>
/// <param name="I">The event's <c>i</c>.</param>
/// <param name="Op">The event's op.</param>
/// <param name="Field">The compared field.</param>
/// <param name="On61">What the 6.1 profile gives.</param>
/// <param name="On612">What the 6.12 profile gives.</param>
/// <param name="Traced">What the trace recorded (from the kernel it was captured on).</param>
public sealed record KernelDiffRow(long I, string Op, string Field, string On61, string On612, string Traced);

/// <summary>
/// Replays a trace once per kernel profile (the header's machine plus <c>kernel=6.1</c>, then <c>kernel=6.12</c>) and
/// compares what the models gave, result field by result field. Where a profile matches the trace its value is the
/// traced one; where it does not, the replay's difference carries the model's value. So a field differs between the
/// profiles when exactly one of them matches the trace, or both miss it with different values.
/// </summary>
public static class KernelDiff
{
    /// <summary>The rows, in file order, and the two replays' totals.</summary>
    public static (List<KernelDiffRow> Rows, FileResult On61, FileResult On612) Compare(string file, string? machine = null)
    {
        var r61 = Replay(file, KernelVersion.V6_1, machine);
        var r612 = Replay(file, KernelVersion.V6_12, machine);
        var a = Index(r61);
        var b = Index(r612);
        var rows = new List<KernelDiffRow>();
        foreach (var key in a.Keys.Union(b.Keys).OrderBy(k => k.I).ThenBy(k => k.Field, StringComparer.Ordinal))
        {
            a.TryGetValue(key, out var da);
            b.TryGetValue(key, out var db);
            string traced = (da ?? db)!.Expected;
            string v61 = da?.Actual ?? traced;
            string v612 = db?.Actual ?? traced;
            if (v61 != v612)
            {
                rows.Add(new KernelDiffRow(key.I, key.Op, key.Field, v61, v612, traced));
            }
        }
        return (rows, r61, r612);
    }

    /// <summary>The report: one line per differing result, then a summary line.</summary>
    public static void Write(string file, List<KernelDiffRow> rows, FileResult on61, FileResult on612, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(w);
        foreach (var r in rows)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"i={r.I} {r.Op}: {r.Field}: 6.1 {r.On61}, 6.12 {r.On612} (traced {r.Traced})"));
        }
        w.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{file}: {rows.Count} result(s) differ between 6.1 and 6.12; against the trace 6.1 {on61.Totals.Passed} passed {on61.Totals.Failed} failed, 6.12 {on612.Totals.Passed} passed {on612.Totals.Failed} failed"));
    }

    /// <summary>
    /// <c>--json</c>: one <c>{"type":"difference","i":..,"op":..,"field":..,"on_6_1":..,"on_6_12":..,"traced":..}</c>
    /// line per differing result, then the summary object (passed/failed/skipped: both replays against the trace,
    /// added up; <c>differences</c>: the rows; and each profile's counts).
    /// </summary>
    public static void WriteJson(string file, List<KernelDiffRow> rows, FileResult on61, FileResult on612, TextWriter w)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(on61);
        ArgumentNullException.ThrowIfNull(on612);
        ArgumentNullException.ThrowIfNull(w);
        foreach (var r in rows)
        {
            w.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
            {
                type = "difference", i = r.I, op = r.Op, field = r.Field, on_6_1 = r.On61, on_6_12 = r.On612, traced = r.Traced,
            }));
        }
        w.WriteLine(VerbConventions.JsonSummary(on61.Totals.Passed + on612.Totals.Passed, on61.Totals.Failed + on612.Totals.Failed,
            on61.Totals.Skipped + on612.Totals.Skipped, j =>
            {
                j.WriteString("file", file);
                j.WriteNumber("differences", rows.Count);
                foreach (var (name, r) in new[] { ("on_6_1", on61), ("on_6_12", on612) })
                {
                    j.WriteStartObject(name);
                    j.WriteNumber("passed", r.Totals.Passed);
                    j.WriteNumber("failed", r.Totals.Failed);
                    j.WriteNumber("skipped", r.Totals.Skipped);
                    j.WriteEndObject();
                }
            }));
    }

    private static FileResult Replay(string file, KernelVersion kernel, string? machine)
    {
        string overrides = "kernel=" + kernel.Profile + (string.IsNullOrWhiteSpace(machine) ? "" : " " + machine);
        var engine = new ReplayEngine(Composition.BuildMachine) { MachineOverrides = overrides };
        return engine.ReplayFile(file, DataLocator.DisplayName(file));
    }

    private static Dictionary<(long I, string Op, string Field), Difference> Index(FileResult r)
    {
        var d = new Dictionary<(long, string, string), Difference>();
        foreach (var x in r.Differences)
        {
            d.TryAdd((x.I, x.Op, x.Field), x);
        }
        return d;
    }
}
