// The failure sweep: every scenario once per allocation site with that site failing (lib/fault-inject.c fail-nth
// as syzkaller and the kernel's own fault-injection selftests use it).
using Sim.DmaBufs;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Debug;
using Sim.Core.Replay;

namespace Sim.Reliability;

/// <summary>
/// Runs each scenario once without failures (the baseline: which sites it reaches, its end state), then once per
/// reached site with that site's first call failing: nothing may throw, the failing call returns a negative errno
/// (or succeeds where the kernel retries), after the scenario's cleanup nothing is left alive beyond the baseline's
/// end state and every page is back (buddy free count, shmem, CMA as at the baseline's end); then the scenario runs
/// again on the same machine without the failure and must succeed and clean up as well.
/// </summary>
public sealed class FailureSweep
{
    /// <summary>Every model assembly (for the list of registered sites).</summary>
    public static System.Reflection.Assembly[] ModelAssemblies =>
    [
        typeof(FaultSite).Assembly, typeof(DmaBuf).Assembly, typeof(Sim.Drm.DrmCore).Assembly,
        typeof(Sim.RdmaUmem.UmemDmabufTrim).Assembly,
    ];

    private readonly record struct EndState(Dictionary<string, int> Live, ulong MemFree, long Shmem, ulong Cma, int Warns, int Differences = 0);

    private static EndState Capture(SweepServices m)
    {
        var live = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var o in m.Live.Alive())
        {
            live[o.Type] = live.GetValueOrDefault(o.Type) + 1;
        }
        return new EndState(live, m.PageAlloc.Meminfo().MemFree, m.Shmem?.PagesInUse ?? 0, m.Cma?.UsedPages ?? 0, m.Warnings.Count);
    }

    private static void Compare(EndState baseline, EndState now, SweepServices m, List<string> problems)
    {
        foreach (var (type, n) in now.Live)
        {
            if (n > baseline.Live.GetValueOrDefault(type))
            {
                var sample = m.Live.Alive().LastOrDefault(o => o.Type == type);
                problems.Add($"leak: {n} {type} alive, {baseline.Live.GetValueOrDefault(type)} at the baseline's end" +
                    (sample is null ? "" : $" (newest: {LeakReport.Describe(sample, m.Processes)})"));
            }
        }
        if (now.MemFree < baseline.MemFree)
        {
            problems.Add($"pages: MemFree {now.MemFree}, {baseline.MemFree} at the baseline's end");
        }
        if (now.Shmem > baseline.Shmem)
        {
            problems.Add($"pages: {now.Shmem} shmem pages in use, {baseline.Shmem} at the baseline's end");
        }
        if (now.Cma > baseline.Cma)
        {
            problems.Add($"CMA: {now.Cma} pages used, {baseline.Cma} at the baseline's end");
        }
    }

    /// <summary>Runs the sweep over <paramref name="scenarios"/>.</summary>
    /// <param name="scenarios">What to run.</param>
    /// <param name="full">Fail every n-th call of each scenario (fail-nth) instead of once per reached site.</param>
    /// <param name="seed">Orders (and with a budget, samples) the cases.</param>
    /// <param name="budget">Stop starting new cases after this long (null: no limit).</param>
    /// <param name="log">Progress lines (may be null).</param>
    /// <param name="maxCases">Run only this many cases, drawn by <paramref name="seed"/> (null: every case); the
    /// deterministic sample the tests use where the command line uses a time budget.</param>
    /// <param name="shard">Run only this part of the cases (case i of the unshuffled list when i mod N = K - 1); null: all.</param>
    /// <param name="cancel">Stops the sweep between cases (Ctrl-C): the report then holds the cases run so far.</param>
    /// <param name="progress">Called after every baseline and case with (done, total) cases.</param>
    public static SweepReport Run(IReadOnlyList<SweepScenario> scenarios, bool full, int seed, TimeSpan? budget, TextWriter? log, int? maxCases = null,
        Sim.Machine.Shard? shard = null, CancellationToken cancel = default, Action<int, int>? progress = null)
    {
        var report = new SweepReport { Sites = FaultSite.Discover(ModelAssemblies) };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var rng = new Random(seed);
        var plans = new List<(SweepScenario Scenario, EndState Baseline, List<int> Nths, List<FaultSite> Sites)>();
        foreach (var sc in scenarios)
        {
            if (cancel.IsCancellationRequested)
            {
                report.Interrupted = true;
                return report;
            }
            progress?.Invoke(0, 0);
            var problems = new List<string>();
            var (trail, baseline, ok) = Baseline(sc, problems);
            foreach (var p in problems)
            {
                report.BaselineProblems.Add($"{sc.Name}: {p}");
            }
            if (!ok)
            {
                continue;
            }
            var distinct = new List<FaultSite>();
            var nths = new List<int>();
            for (int k = 0; k < trail.Count; k++)
            {
                if (!report.ReachedBy.TryGetValue(trail[k].Name, out var set))
                {
                    report.ReachedBy[trail[k].Name] = set = new SortedSet<string>(StringComparer.Ordinal);
                }
                set.Add(sc.Name);
                if (!distinct.Contains(trail[k]))
                {
                    distinct.Add(trail[k]);
                }
                nths.Add(k + 1);
            }
            plans.Add((sc, baseline, nths, distinct));
        }
        var cases = new List<(int Plan, FaultSite? Site, int Nth)>();
        for (int pi = 0; pi < plans.Count; pi++)
        {
            if (full)
            {
                foreach (int n in plans[pi].Nths)
                {
                    cases.Add((pi, null, n));
                }
            }
            else
            {
                foreach (var s in plans[pi].Sites)
                {
                    cases.Add((pi, s, 0));
                }
            }
        }
        if (shard is { } part)
        {
            cases = part.Select(cases);
        }
        if (budget is not null || maxCases is not null)
        {
            rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(cases));
        }
        // The budget limits the cases, not the baselines: every scenario's baseline runs (they decide which sites
        // are reached), however long the bundled data take to replay on a loaded machine.
        clock.Restart();
        foreach (var (pi, site, nth) in cases)
        {
            if (cancel.IsCancellationRequested)
            {
                report.Interrupted = true;
            }
            if (report.Interrupted || (budget is { } b && clock.Elapsed > b) || report.Cases.Count >= maxCases)
            {
                report.CasesSkipped++;
                continue;
            }
            var plan = plans[pi];
            var c = RunCase(plan.Scenario, plan.Baseline, site, nth);
            report.Cases.Add(c);
            progress?.Invoke(report.Cases.Count + report.CasesSkipped, cases.Count);
            if (log is not null && c.Problems.Count > 0)
            {
                foreach (var p in c.Problems)
                {
                    log.WriteLine($"{c.Scenario} [{c.Site}]: {p}");
                }
            }
        }
        return report;
    }

    private static (List<FaultSite> Trail, EndState End, bool Ok) Baseline(SweepScenario sc, List<string> problems)
    {
        if (sc is ReplayScenario rs)
        {
            rs.Arm = null;
            try
            {
                var result = rs.Replay();
                rs.LastView!.ExitAll();
                if (result.FormatError is not null)
                {
                    problems.Add("baseline: " + result.FormatError);
                    return ([], default, false);
                }
                foreach (var d in result.Differences)
                {
                    if (d.Field == "exception")
                    {
                        problems.Add("baseline exception: " + d);
                    }
                }
                rs.BaselineDifferences.Clear();
                foreach (var d in result.Differences)
                {
                    rs.BaselineDifferences.Add(d.ToString());
                }
                var end = Capture(rs.LastView!);
                return ([.. rs.LastInjector!.Trail], end with { Differences = result.Differences.Count }, true);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("baseline exception: " + e.GetType().Name + ": " + e.Message);
                return ([], default, false);
            }
        }
        using var machine = sc.Build();
        var baselineView = new SweepServices(machine);
        var injector = machine.GetRequiredService<FaultInject>();
        using (injector.Activate())
        {
            try
            {
                var (ret, call) = sc.Run(machine);
                if (ret != 0)
                {
                    problems.Add($"baseline: {call} returned {ret}");
                }
                sc.Cleanup(machine);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("baseline exception: " + e.GetType().Name + ": " + e.Message);
                return ([], default, false);
            }
        }
        return ([.. injector.Trail], Capture(baselineView), problems.Count == 0);
    }

    private static SweepCase RunCase(SweepScenario sc, EndState baseline, FaultSite? site, int nth)
    {
        var problems = new List<string>();
        string label = site?.Name ?? "fail-nth=" + nth.ToString(CultureInfo.InvariantCulture);
        void Arm(FaultInject inj)
        {
            inj.CaptureStacks = true;
            if (site is not null)
            {
                inj.FailSite(site.Name, 1);
            }
            else
            {
                inj.FailNth(nth);
            }
        }
        if (sc is ReplayScenario rs)
        {
            rs.Arm = Arm;
            try
            {
                var result = rs.Replay();
                var inj = rs.LastInjector!;
                inj.Disarm();
                rs.LastView!.ExitAll();
                problems.AddRange(rs.EventProblems);
                var notes = new List<string>();
                int extra = 0;
                Difference? firstExtra = null;
                foreach (var d in result.Differences)
                {
                    if (!rs.BaselineDifferences.Contains(d.ToString()))
                    {
                        extra++;
                        firstExtra ??= d;
                    }
                }
                if (extra > 0)
                {
                    notes.Add($"{extra} differences from the trace beyond the {baseline.Differences} it has without the failure; first: {firstExtra}");
                }
                if (rs.Unlogged)
                {
                    notes.Add("the failure hit an unlogged step of the replay or an event that carries some (" + rs.FailedResult + "): what is left is the harness's");
                    var end = new List<string>();
                    Compare(baseline, Capture(rs.LastView!), rs.LastView!, end);
                    notes.AddRange(end);
                }
                else
                {
                    Compare(baseline, Capture(rs.LastView!), rs.LastView!, problems);
                }
                if (rs.Absorbed)
                {
                    notes.Add("absorbed: the kernel path retried or fell back, the call succeeded");
                }
                return new SweepCase(sc.Name, site?.Name ?? (inj.Injected.Count > 0 ? inj.Injected[0].Site.Name : label), inj.Injected.Count > 0,
                    rs.FailedResult.Length > 0 ? -1 : 0, rs.FailedAt + (rs.FailedResult.Length > 0 ? " -> " + rs.FailedResult : ""), problems)
                {
                    Where = SweepCase.Frames(inj.InjectedStacks.Count > 0 ? inj.InjectedStacks[0] : null),
                    Notes = notes,
                };
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("exception: " + e.GetType().Name + ": " + e.Message);
                return new SweepCase(sc.Name, label, true, 0, "", problems);
            }
            finally
            {
                rs.Arm = null;
            }
        }

        using var machine = sc.Build();
        var view = new SweepServices(machine);
        var injector = machine.GetRequiredService<FaultInject>();
        long ret = 0;
        string call = "";
        string failedSite = label;
        bool reached;
        injector.CaptureStacks = true;
        using (injector.Activate())
        {
            Arm(injector);
            try
            {
                (ret, call) = sc.Run(machine);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("exception in the failing run: " + e.GetType().Name + ": " + e.Message);
            }
            reached = injector.Injected.Count > 0;
            if (reached)
            {
                failedSite = injector.Injected[0].Site.Name;
            }
            injector.Disarm();
            if (ret > 0 || ret < -4095)
            {
                problems.Add($"{call} returned {ret}, not 0 or a negative errno");
            }
            try
            {
                sc.Cleanup(machine);
                Compare(baseline, Capture(view), view, problems);
                if (sc.Repeatable)
                {
                    var (again, againCall) = sc.Run(machine);
                    if (again != 0)
                    {
                        problems.Add($"repeated without the failure: {againCall} returned {again}");
                    }
                    sc.Cleanup(machine);
                    Compare(baseline, Capture(view), view, problems);
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                problems.Add("exception after the failure: " + e.GetType().Name + ": " + e.Message);
            }
        }
        var warns = view.Warnings;
        for (int k = baseline.Warns; k < warns.Count; k++)
        {
            problems.Add($"WARN {warns.Records[k].Condition} in {warns.Records[k].Function}");
        }
        return new SweepCase(sc.Name, failedSite, reached, ret, call, problems)
        {
            Where = SweepCase.Frames(injector.InjectedStacks.Count > 0 ? injector.InjectedStacks[0] : null),
        };
    }
}
