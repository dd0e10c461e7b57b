using Sim.Core.Debug;

namespace Sim.Reliability;

/// <summary>The sweep's totals.</summary>
public sealed class SweepReport
{
    /// <summary>Every registered site.</summary>
    public IReadOnlyList<FaultSite> Sites { get; init; } = [];

    /// <summary>Sites some scenario reached, with the scenarios that reach them.</summary>
    public SortedDictionary<string, SortedSet<string>> ReachedBy { get; } = new(StringComparer.Ordinal);

    /// <summary>Each case run.</summary>
    public List<SweepCase> Cases { get; } = [];

    /// <summary>Problems found in baseline (no failure) runs.</summary>
    public List<string> BaselineProblems { get; } = [];

    /// <summary>Cases not run because the time budget ran out or the sample was full.</summary>
    public int CasesSkipped { get; set; }

    /// <summary>True when the sweep was cancelled (Ctrl-C): the cases not started are counted in <see cref="CasesSkipped"/>.</summary>
    public bool Interrupted { get; set; }

    /// <summary>All problems.</summary>
    public int ProblemCount
    {
        get
        {
            int n = BaselineProblems.Count;
            foreach (var c in Cases)
            {
                n += c.Problems.Count;
            }
            return n;
        }
    }
}
