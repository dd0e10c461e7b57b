using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// <c>dmabufsim stress --ops N --seed S</c>: N random user operations on one machine (<see cref="RandomUse"/>),
/// every broken invariant printed with the seed and step that reproduce it, then
/// <c>N ops, R ops/s, V invariant violations (seed S)</c>. Exit 0 only when V is 0.
/// </summary>
public static class StressRun
{
    /// <summary>
    /// Runs the stress and prints the violations and the closing line; returns the exit status. With
    /// <paramref name="json"/>: JSON Lines instead, one <c>{"type":"violation",...}</c> per violation, one
    /// <c>{"type":"op",...}</c> per operation kind, then <c>{"passed":..,"failed":..,"skipped":0,"type":"summary",...}</c>
    /// (passed: steps without a violation; failed: violations).
    /// </summary>
    public static int Run(long ops, int seed, TextWriter stdout, bool json = false, Action<RandomUse>? attach = null, Action<RandomUse>? finished = null) =>
        Run(ops, seed, stdout, json, attach, finished, CancellationToken.None);

    /// <summary>
    /// <see cref="Run(long, int, TextWriter, bool, Action{RandomUse}?, Action{RandomUse}?)"/> that <paramref name="cancel"/>
    /// (Ctrl-C) stops between steps: the partial summary (the steps run, with the seed) is printed and the status is
    /// <see cref="VerbConventions.Interrupted"/> (130). Progress is drawn on a terminal's stderr for runs over 100,000 ops.
    /// </summary>
    public static int Run(long ops, int seed, TextWriter stdout, bool json, Action<RandomUse>? attach, Action<RandomUse>? finished, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        if (ops < 1)
        {
            return VerbConventions.UsageError(Console.Error, "stress", string.Create(CultureInfo.InvariantCulture, $"--ops {ops}: expected a whole number from 1 to 1000000000000"));
        }
        var sw = Stopwatch.StartNew();
        using var run = new RandomUse(seed);
        attach?.Invoke(run);
        using (var bar = new TerminalProgress("stress", ops > 100_000 && VerbConventions.IsTerminal(stdout)))
        {
            run.Run(ops, cancel, done => bar.Report(done, ops, "ops"));
        }
        finished?.Invoke(run);
        sw.Stop();
        bool interrupted = cancel.IsCancellationRequested && run.Steps < ops;
        long done = interrupted ? run.Steps : ops;
        double rate = done / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
        int status = interrupted ? VerbConventions.Interrupted : run.Violations.Count == 0 ? VerbConventions.Ok : VerbConventions.Failed;
        if (json)
        {
            foreach (var v in run.Violations)
            {
                stdout.WriteLine(JsonSerializer.Serialize(new { type = "violation", seed = v.Seed, step = v.Step, operation = v.Operation, message = v.Message }));
            }
            foreach (var (op, (calls, ok)) in run.Stats)
            {
                stdout.WriteLine(JsonSerializer.Serialize(new { type = "op", op, calls, succeeded = ok }));
            }
            stdout.WriteLine(VerbConventions.JsonSummary(Math.Max(0, done - run.Violations.Count), run.Violations.Count, 0, w =>
            {
                w.WriteNumber("ops", done);
                w.WriteNumber("seed", seed);
                w.WriteNumber("violations", run.Violations.Count);
                w.WriteNumber("ops_per_second", Math.Round(rate));
                if (interrupted)
                {
                    w.WriteBoolean("interrupted", true);
                    w.WriteNumber("ops_requested", ops);
                }
            }));
            return status;
        }
        foreach (var v in run.Violations)
        {
            stdout.WriteLine(v.ToString());
        }
        foreach (var (op, (calls, ok)) in run.Stats)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op,-28} {calls,9} calls {ok,9} succeeded"));
        }
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{done} ops, {rate:F0} ops/s, {run.Violations.Count} invariant violations (seed {seed})"));
        if (interrupted)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"interrupted after {done} of {ops} ops: the summary above is partial; stress --ops {done} --seed {seed} repeats it"));
        }
        return status;
    }
}
