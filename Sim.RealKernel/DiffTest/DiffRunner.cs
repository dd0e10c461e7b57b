using System.Globalization;
using Sim.Core.Boot;
using Sim.Core.Replay;
using Sim.Machine;

namespace Sim.RealKernel.DiffTest;

/// <summary>The outcome of one sequence on both sides.</summary>
/// <param name="Lines">The agent lines run.</param>
/// <param name="Trace">The real kernel's answer as a trace.</param>
/// <param name="Replay">The simulator's replay of that trace (failed = differences).</param>
public sealed record Comparison(IReadOnlyList<string> Lines, string Trace, FileResult Replay)
{
    /// <summary>Differing results (failed events, exit and leak checks included).</summary>
    public long Differences => Replay.Totals.Failed + (Replay.FormatError is null ? 0 : 1);
}

/// <summary>
/// Runs call sequences on the real kernel (through an <see cref="IKernelOracle"/>) and replays the answers on the
/// simulator, result for result; shrinks a differing sequence to a minimal one by removing calls (re-asking the oracle).
/// </summary>
public sealed class DiffRunner(IKernelOracle oracle, string workDir)
{
    private int _n;

    /// <summary>Scripts sent to the oracle so far.</summary>
    public int Queries { get; private set; }

    /// <summary>Calls executed so far on the real kernel.</summary>
    public long Calls { get; private set; }

    /// <summary>The rule breaks the simulator's machines are built with (<see cref="Mutations.None"/> normally).</summary>
    public Mutations Mutations { get; init; } = Mutations.None;

    /// <summary>Most oracle queries one shrink may use.</summary>
    public int ShrinkBudget { get; init; } = 200;

    /// <summary>Runs one sequence on both sides.</summary>
    public Comparison Compare(IReadOnlyList<Call> seq, string name)
    {
        var lines = CallGen.Render(seq);
        var answer = oracle.Run(name, lines);
        Queries++;
        Calls += answer.Events;
        Directory.CreateDirectory(workDir);
        var path = Path.Combine(workDir, $"seq-{_n++ % 4}.jsonl");
        File.WriteAllText(path, answer.Trace);
        var mutations = Mutations;
        var engine = new ReplayEngine(options =>
        {
            options.Mutations = mutations;
            return Composition.BuildMachine(options);
        });
        var result = engine.ReplayFile(path, name);
        return new Comparison(lines, answer.Trace, result);
    }

    /// <summary>
    /// Greedy delta debugging: removes chunks of calls (halves, quarters, ... single calls) while the rest still
    /// differs; returns the smallest differing sequence found and its comparison.
    /// </summary>
    public (Call[] Sequence, Comparison Comparison) Shrink(Call[] seq, Comparison first, string name)
    {
        var cur = seq;
        var curCmp = first;
        int budget = ShrinkBudget;
        int chunk = Math.Max(1, cur.Length / 2);
        while (budget > 0)
        {
            bool progress = false;
            for (int start = 0; start < cur.Length && budget > 0;)
            {
                int len = Math.Min(chunk, cur.Length - start);
                var cand = new Call[cur.Length - len];
                Array.Copy(cur, 0, cand, 0, start);
                Array.Copy(cur, start + len, cand, start, cur.Length - start - len);
                if (cand.Length == 0 || CallGen.Render(cand).Count == 0)
                {
                    start += len;
                    continue;
                }
                budget--;
                var cmp = Compare(cand, $"{name}-shrink{ShrinkBudget - budget}");
                if (cmp.Differences > 0)
                {
                    cur = cand;
                    curCmp = cmp;
                    progress = true;
                }
                else
                {
                    start += len;
                }
            }
            if (chunk == 1 && !progress)
            {
                break;
            }
            if (!progress)
            {
                chunk = Math.Max(1, chunk / 2);
            }
        }
        return (cur, curCmp);
    }

    /// <summary>Describes a comparison's differences, one per line.</summary>
    public static string Describe(Comparison c)
    {
        var sw = new StringWriter(CultureInfo.InvariantCulture);
        if (c.Replay.FormatError is { } e)
        {
            sw.WriteLine($"  unreadable answer: {e}");
        }
        foreach (var d in c.Replay.Differences)
        {
            sw.WriteLine($"  {d}");
        }
        return sw.ToString();
    }
}
