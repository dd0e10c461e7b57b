using System.Globalization;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// <c>dmabufsim sweep [--full] [--seed S] [--budget-seconds N]</c>: the failure sweep (<see cref="FailureSweep"/>)
/// over the importer, the kvmfr test, the many-descriptors scenario and every public trace; prints every
/// registered allocation site with the scenarios that reach it, each problem found, and a closing line.
/// Exit 0 only when nothing leaked, threw or differed.
/// </summary>
public static class SweepRun
{
    /// <summary>
    /// Runs the sweep and prints the report; returns the exit status. <paramref name="json"/>: one object per case
    /// (<c>{"scenario","site","reached","call","ret","problems":[..]}</c>), then the closing line, nothing else;
    /// <paramref name="shard"/>: only that part of the cases (the shards' JSON lines concatenate).
    /// </summary>
    /// <remarks>
    /// <paramref name="cancel"/> (Ctrl-C) stops the sweep between cases: the partial report is printed with the seed
    /// and the status is <see cref="VerbConventions.Interrupted"/> (130). Progress is drawn on a terminal's stderr.
    /// </remarks>
    public static int Run(bool full, int seed, int? budgetSeconds, bool withTraces, TextWriter stdout, bool verbose = false,
        bool json = false, Shard? shard = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        if (budgetSeconds is < 1)
        {
            return VerbConventions.UsageError(Console.Error, "sweep", $"--budget-seconds {budgetSeconds}: expected a whole number from 1 to 604800");
        }
        var scenarios = SweepScenario.Defaults(withTraces ? DataLocator.FindDataDir() : null);
        SweepReport report;
        using (var bar = new TerminalProgress("sweep", VerbConventions.IsTerminal(stdout)))
        {
            int baselines = 0;
            report = FailureSweep.Run(scenarios, full, seed, budgetSeconds is { } b ? TimeSpan.FromSeconds(b) : null, json ? null : stdout, shard: shard,
                cancel: cancel, progress: (done, total) =>
                {
                    if (total == 0)
                    {
                        bar.Report(++baselines, scenarios.Count, "scenario baselines");
                    }
                    else
                    {
                        bar.Report(done, total, "cases");
                    }
                });
        }
        return Print(report, seed, stdout, verbose, json);
    }

    /// <summary>Prints a sweep's report (see <see cref="Run"/>); returns the exit status.</summary>
    public static int Print(SweepReport report, int seed, TextWriter stdout, bool verbose, bool json)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(stdout);
        if (json)
        {
            foreach (var c in report.Cases)
            {
                stdout.WriteLine(JsonLine(c));
            }
        }
        if (verbose && !json)
        {
            foreach (var c in report.Cases)
            {
                stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{c.Scenario} [{c.Site}] {(c.Reached ? "failed" : "not reached")}: {(c.Call.Length == 0 ? "completed" : c.Ret < -1 ? $"{c.Call} -> {c.Ret}" : c.Call)}  at {c.Where}"));
                foreach (var n in c.Notes)
                {
                    stdout.WriteLine("    note: " + n);
                }
            }
        }
        foreach (var p in report.BaselineProblems)
        {
            if (!json)
            {
                stdout.WriteLine("baseline: " + p);
            }
        }
        int reached = 0;
        foreach (var site in report.Sites)
        {
            bool r = report.ReachedBy.TryGetValue(site.Name, out var by);
            reached += r ? 1 : 0;
            if (json)
            {
                continue;
            }
            int cases = 0, bad = 0, hit = 0;
            foreach (var c in report.Cases)
            {
                if (c.Site == site.Name)
                {
                    cases++;
                    hit += c.Reached ? 1 : 0;
                    bad += c.Problems.Count > 0 ? 1 : 0;
                }
            }
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {site.Name,-40} {site.Kind,-7} -{site.Errno,-7} {(r ? "reached by " + string.Join(", ", by!.Take(4)) + (by!.Count > 4 ? $" (+{by.Count - 4})" : "") : "NOT REACHED")}; {cases} cases, {bad} with problems"));
        }
        int problems = report.ProblemCount - report.BaselineProblems.Count;
        int leaks = 0, exceptions = 0, states = 0;
        foreach (var c in report.Cases)
        {
            foreach (var p in c.Problems)
            {
                if (p.StartsWith("leak", StringComparison.Ordinal) || p.StartsWith("pages", StringComparison.Ordinal) || p.StartsWith("CMA", StringComparison.Ordinal))
                {
                    leaks++;
                }
                else if (p.Contains("exception", StringComparison.Ordinal))
                {
                    exceptions++;
                }
                else
                {
                    states++;
                }
            }
        }
        if (json)
        {
            int bad = report.Cases.Count(c => c.Problems.Count > 0);
            stdout.WriteLine(VerbConventions.JsonSummary(report.Cases.Count - bad, bad + report.BaselineProblems.Count, report.CasesSkipped, w =>
            {
                w.WriteNumber("sites", report.Sites.Count);
                w.WriteNumber("reached", reached);
                w.WriteNumber("leaks", leaks);
                w.WriteNumber("exceptions", exceptions);
                w.WriteNumber("state_differences", states);
                w.WriteNumber("baseline_failures", report.BaselineProblems.Count);
                w.WriteNumber("seed", seed);
                w.WriteBoolean("interrupted", report.Interrupted);
            }));
        }
        else
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{report.Sites.Count} sites registered, {reached} reached, {report.Cases.Count} cases run ({report.CasesSkipped} {(report.Interrupted ? "not run: interrupted" : "over budget")}): {leaks} leaks, {exceptions} exceptions, {states} state differences; {report.BaselineProblems.Count} replay failures without any injected failure (seed {seed})"));
        }
        if (report.Interrupted)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{VerbConventions.Prefix("sweep")}interrupted after {report.Cases.Count} cases: the summary above is partial (seed {seed})"));
            return VerbConventions.Interrupted;
        }
        return problems == 0 ? 0 : 1;
    }

    private static string JsonLine(SweepCase c)
    {
        using var ms = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("scenario", c.Scenario);
            w.WriteString("site", c.Site);
            w.WriteBoolean("reached", c.Reached);
            w.WriteString("call", c.Call);
            w.WriteNumber("ret", c.Ret);
            w.WriteStartArray("problems");
            foreach (var p in c.Problems)
            {
                w.WriteStringValue(p);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
