using System.Diagnostics;
using System.Globalization;

namespace Sim.Reliability;

/// <summary>
/// <c>dmabufsim stress --ops N --seed S</c>: N random user operations on one machine (<see cref="RandomUse"/>),
/// every broken invariant printed with the seed and step that reproduce it, then
/// <c>N ops, R ops/s, V invariant violations (seed S)</c>. Exit 0 only when V is 0.
/// </summary>
public static class StressRun
{
    /// <summary>Runs the stress and prints the violations and the closing line; returns the exit status.</summary>
    public static int Run(long ops, int seed, TextWriter stdout)
    {
        var sw = Stopwatch.StartNew();
        using var run = new RandomUse(seed);
        run.Run(ops);
        sw.Stop();
        foreach (var v in run.Violations)
        {
            stdout.WriteLine(v.ToString());
        }
        foreach (var (op, (calls, ok)) in run.Stats)
        {
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {op,-28} {calls,9} calls {ok,9} succeeded"));
        }
        double rate = ops / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
        stdout.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{ops} ops, {rate:F0} ops/s, {run.Violations.Count} invariant violations (seed {seed})"));
        return run.Violations.Count == 0 ? 0 : 1;
    }
}
