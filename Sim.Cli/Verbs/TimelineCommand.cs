using Sim.Timeline;

namespace Sim.Cli;

/// <summary>The <c>--timeline FILE</c> option shared by <c>replay</c>, <c>show</c> and <c>stress</c>.</summary>
public static class TimelineCommand
{
    /// <summary>Writes <paramref name="tl"/> to <paramref name="target"/>; false (message on stderr) when it cannot.</summary>
    public static bool Write(Sim.Timeline.Timeline tl, string target, string verb, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        try
        {
            foreach (var f in TimelineOutput.Write(tl, target, stdout))
            {
                stdout.WriteLine($"wrote {f}");
            }
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"dmabufsim {verb}: --timeline {target}: {ex.Message}");
            return false;
        }
    }
}
