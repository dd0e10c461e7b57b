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
    /// <summary>Runs the sweep and prints the report; returns the exit status.</summary>
    public static int Run(bool full, int seed, int? budgetSeconds, bool withTraces, TextWriter stdout, bool verbose = false)
    {
        var scenarios = SweepScenario.Defaults(withTraces ? DataLocator.FindDataDir() : null);
        var report = FailureSweep.Run(scenarios, full, seed, budgetSeconds is { } b ? TimeSpan.FromSeconds(b) : null, stdout);
        if (verbose)
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
            stdout.WriteLine("baseline: " + p);
        }
        int reached = 0;
        foreach (var site in report.Sites)
        {
            bool r = report.ReachedBy.TryGetValue(site.Name, out var by);
            reached += r ? 1 : 0;
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
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{report.Sites.Count} sites registered, {reached} reached, {report.Cases.Count} cases run ({report.CasesSkipped} over budget): {leaks} leaks, {exceptions} exceptions, {states} state differences; {report.BaselineProblems.Count} replay failures without any injected failure (seed {seed})"));
        return problems == 0 ? 0 : 1;
    }
}
