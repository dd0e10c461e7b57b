// `--timeline FILE`: where a finished timeline goes.
namespace Sim.Timeline;

/// <summary>Writes a timeline where <c>--timeline</c> says.</summary>
public static class TimelineOutput
{
    /// <summary>
    /// <c>-</c>: the summary tables on <paramref name="stdout"/>; <c>FILE.json</c>: the Trace Event Format;
    /// <c>FILE.html</c>: the page; any other name: both, as <c>FILE.json</c> and <c>FILE.html</c>. Returns the files written.
    /// </summary>
    public static List<string> Write(Timeline tl, string target, TextWriter stdout)
    {
        ArgumentNullException.ThrowIfNull(tl);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(stdout);
        var written = new List<string>();
        if (target == "-")
        {
            TimelineSummary.Of(tl).WriteText(stdout);
            return written;
        }
        bool json = target.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        bool html = target.EndsWith(".html", StringComparison.OrdinalIgnoreCase) || target.EndsWith(".htm", StringComparison.OrdinalIgnoreCase);
        if (json || !html)
        {
            string path = json ? target : target + ".json";
            TraceEventJson.Write(tl, path);
            written.Add(path);
        }
        if (html || !json)
        {
            string path = html ? target : target + ".html";
            using (var f = File.Create(path))
            {
                TimelineHtml.Write(tl, f);
            }
            written.Add(path);
        }
        return written;
    }
}
