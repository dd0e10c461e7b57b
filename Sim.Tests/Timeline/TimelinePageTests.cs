using System.Text.RegularExpressions;
using Sim.Machine;
using Sim.Timeline;
using Xunit;

namespace Sim.Tests.Timeline;

/// <summary>The page and the summary of the fence traces: the waits, the signals and the arrows between them.</summary>
public sealed partial class TimelinePageTests
{
    private static readonly string DataDir = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");

    [GeneratedRegex("<rect class=\"wait\"")]
    private static partial Regex WaitRect();

    [GeneratedRegex("<rect class=\"signal\"")]
    private static partial Regex SignalRect();

    [GeneratedRegex("<path class=\"flow fence\"")]
    private static partial Regex FenceFlow();

    [Theory]
    // resv_script: 4 fences of the script's contexts; the waits with a timeout that the delayed work signals.
    [InlineData("traces/linux-6.1-sg/resv_script.jsonl")]
    // vgem-fence: DMA_BUF_IOCTL_SYNC blocks on fence 8 and 10 until vgem's 10 s timer signals them (elapsed_s 10.2).
    [InlineData("traces/linux-6.1-vgem/vgem-fence.jsonl")]
    public void ThePageShowsWaitsSignalsAndTheirArrows(string relative)
    {
        var tl = TimelineJsonTests.Record(Path.Combine(DataDir, relative));
        string html = TimelineHtml.Render(tl);
        Assert.True(WaitRect().Count(html) > 0, "no wait slice drawn");
        Assert.True(SignalRect().Count(html) > 0, "no signal drawn");
        Assert.True(FenceFlow().Count(html) > 0, "no waiter → signal arrow drawn");
        // Self-contained: nothing loaded from anywhere (the only URL is the SVG namespace).
        Assert.DoesNotContain("src=", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<link", html, StringComparison.Ordinal);
        Assert.Equal(1, Regex.Count(html, "https?://"));
    }

    [Fact]
    public void VgemFenceWaitsAreTheTimerSignalledSyncs()
    {
        var tl = TimelineJsonTests.Record(Path.Combine(DataDir, "traces/linux-6.1-vgem/vgem-fence.jsonl"));
        var sum = TimelineSummary.Of(tl);
        var p = Assert.Single(sum.Processes);
        // 81 user events (i = 0..78 plus the two exit steps: exit_mm and exit_files) are the calls.
        Assert.Equal(81, p.Calls);
        // Both DMA_BUF_IOCTL_SYNC calls that block wait for VGEM_FENCE_TIMEOUT (10 s = 2500 jiffies at HZ=250,
        // rounded by the timer wheel): the trace's elapsed_s is 10.2, the README's bound [10.0, 11.0).
        Assert.Equal([52L, 60L], p.LongestWaits.Select(w => w.I).Order());
        Assert.All(p.LongestWaits, w => Assert.InRange(w.WaitNs, 10_000_000_000L, 10_999_999_999L));
        // The failed calls are the trace's: every event with a negative ret.
        int failed = File.ReadLines(Path.Combine(DataDir, "traces/linux-6.1-vgem/vgem-fence.jsonl")).Count(l => l.Contains("\"ret\":-", StringComparison.Ordinal));
        Assert.Equal(failed, p.Errors);
        var text = new StringWriter();
        sum.WriteText(text);
        Assert.Contains("DMA_BUF_IOCTL_SYNC (wait 8:1) i=52", text.ToString(), StringComparison.Ordinal);
    }
}
