using FsCheck;
using FsCheck.Fluent;
using Sim.Reliability;
using Sim.Reliability.Use;

namespace Sim.Tests.Reliability;

/// <summary>
/// FsCheck generation and shrinking of random-use command sequences (<see cref="UseCommand"/>, the commands of
/// <c>stress</c>). A generated step names the operation (stress's number 0-99), the process and the seed its
/// arguments are drawn from, so a step draws the same arguments wherever shrinking moves it; the model picks
/// descriptors and handles from what is open at that point.
/// </summary>
public static class UseSequences
{
    /// <summary>One generated command: stress's operation number, the process, the seed of its arguments.</summary>
    public sealed record Step(int Op, int Proc, int Seed)
    {
        /// <inheritdoc/>
        public override string ToString() => $"op {Op} by process {Proc} (arguments from seed {Seed})";
    }

    /// <summary>Sequences of <paramref name="minLength"/>-<paramref name="maxLength"/> steps of the operations <paramref name="ops"/>; shrinking drops runs of steps.</summary>
    public static Arbitrary<Step[]> Of(int[] ops, int minLength, int maxLength)
    {
        var step = from op in Gen.Elements(ops)
                   from proc in Gen.Choose(0, 1)
                   from seed in Gen.Choose(0, int.MaxValue - 1)
                   select new Step(op, proc, seed);
        var seq = from n in Gen.Choose(minLength, maxLength)
                  from steps in Gen.ArrayOf(step, n)
                  select steps;
        return Arb.From(seq, Shrink);
    }

    /// <summary>Every operation of stress.</summary>
    public static int[] AllOps { get; } = [.. Enumerable.Range(0, 100)];

    /// <summary>Shorter sequences: without one half, quarter, ... and without each single step.</summary>
    public static IEnumerable<Step[]> Shrink(Step[] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        for (int k = steps.Length / 2; k >= 1; k /= 2)
        {
            for (int i = 0; i + k <= steps.Length; i += k)
            {
                yield return [.. steps[..i], .. steps[(i + k)..]];
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="steps"/> on a fresh machine of <paramref name="config"/>, then the epoch end (every
    /// process exits, nothing may remain); the property holds when no invariant broke. The label lists the
    /// commands run with their arguments.
    /// </summary>
    public static Property Holds(UseConfig config, Step[] steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        using var run = new RandomUse(config, 0);
        var trace = new List<string>();
        foreach (var s in steps)
        {
            var rng = new Random(s.Seed);
            run.Apply(UseCommands.ForNumber(s.Op, s.Proc, config.Kvmfr, rng), rng);
            trace.Add(run.LastCommand?.ToString() ?? "?");
            if (run.Violations.Count > 0)
            {
                break;
            }
        }
        if (run.Violations.Count == 0)
        {
            run.EndEpoch();
        }
        bool ok = run.Violations.Count == 0;
        return ok.Label(ok ? "" : run.Violations[0].Message + " after\n  " + string.Join("\n  ", trace));
    }
}
