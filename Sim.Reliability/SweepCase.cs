namespace Sim.Reliability;

/// <summary>The outcome of one scenario with one site failing.</summary>
public sealed record SweepCase(string Scenario, string Site, bool Reached, long Ret, string Call, List<string> Problems)
{
    /// <summary>The model frames that called the failing site (innermost first).</summary>
    public string Where { get; init; } = "";

    /// <summary>What is reported but is not a defect (a replay that cannot stay in step with its trace after a failure).</summary>
    public List<string> Notes { get; init; } = [];

    /// <summary>The first model frames of a stack trace, innermost first, without the injector's own.</summary>
    public static string Frames(string? stack, int count = 4)
    {
        if (stack is null)
        {
            return "";
        }
        var frames = new List<string>();
        foreach (var line in stack.Split('\n'))
        {
            var t = line.Trim();
            if (!t.StartsWith("at Sim.", StringComparison.Ordinal) || t.Contains("FaultInject", StringComparison.Ordinal) || t.Contains("FaultSite", StringComparison.Ordinal))
            {
                continue;
            }
            int paren = t.IndexOf('(', StringComparison.Ordinal);
            frames.Add(paren > 0 ? t[3..paren] : t[3..]);
            if (frames.Count == count)
            {
                break;
            }
        }
        return string.Join(" < ", frames);
    }
}
