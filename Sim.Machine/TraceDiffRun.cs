using Sim.Core.Replay;

namespace Sim.Machine;

/// <summary><c>dmabufsim diff A B</c>: reads two traces, compares them (<see cref="TraceDiff"/>) and prints the result.</summary>
public static class TraceDiffRun
{
    /// <summary>Runs the verb: 0 when the traces match, 1 when they differ, 2 when a file cannot be read.</summary>
    public static int Run(string a, string b, int max, bool json, TextWriter stdout, TextWriter stderr)
    {
        foreach (string path in new[] { a, b })
        {
            if (Directory.Exists(path))
            {
                stderr.WriteLine($"dmabufsim diff: {path}: is a folder; give two trace files");
                return 2;
            }
            if (!File.Exists(path))
            {
                stderr.WriteLine($"dmabufsim diff: {path}: no such file");
                return 2;
            }
        }
        string nameA = DataLocator.DisplayName(a), nameB = DataLocator.DisplayName(b);
        TraceDiffResult r;
        try
        {
            r = TraceDiff.Compare(a, b, nameA, nameB);
        }
        catch (TraceFormatException ex)
        {
            stderr.WriteLine($"dmabufsim diff: {ex.Message}");
            return 2;
        }
        if (json)
        {
            TraceDiff.WriteJson(r, stdout);
        }
        else
        {
            TraceDiff.Write(nameA, nameB, r, max, stdout);
        }
        return r.Differences.Count == 0 ? 0 : 1;
    }
}
