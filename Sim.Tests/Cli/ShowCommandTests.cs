using System.Text.Json;
using System.Xml.Linq;
using Sim.Machine;
using Sim.Teaching;
using Xunit;

namespace Sim.Tests.Cli;

/// <summary><c>dmabufsim show TRACE --at N</c> on the bundled traces.</summary>
public sealed class ShowCommandTests
{
    private static readonly string DataDir = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");

    public static TheoryData<string> Traces()
    {
        var d = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(DataDir, "traces"), "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            d.Add(Path.GetRelativePath(DataDir, f));
        }
        return d;
    }

    // The last event index, read straight from the file's last line.
    private static long LastI(string path)
    {
        var last = File.ReadLines(path).Last(l => l.Trim().Length > 0);
        using var doc = JsonDocument.Parse(last);
        return doc.RootElement.GetProperty("i").GetInt64();
    }

    private static (int Code, string Out, string Err) Show(string path, long at, string? html = null)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ShowRun.Run(path, at, html, TerminalView.Plain(o), e); // as for a pipe: lines not cut
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [MemberData(nameof(Traces))]
    public void ShowsEveryTraceAtFirstMiddleAndLastEvent(string rel)
    {
        string path = Path.Combine(DataDir, rel);
        long last = LastI(path);
        var rnd = new Random(rel.Length * 7919 + (int)last);
        foreach (long at in new[] { 0, last / 2, rnd.NextInt64(0, last + 1), last })
        {
            var (code, output, err) = Show(path, at);
            Assert.True(code == 0, $"{rel} --at {at}: exit {code}: {err}");
            Assert.Contains($"after event i={at} ", output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Traces))]
    public void PastTheEndExits2NamingTheLastEvent(string rel)
    {
        string path = Path.Combine(DataDir, rel);
        long last = LastI(path);
        var (code, _, err) = Show(path, last + 1);
        Assert.Equal(2, code);
        Assert.Contains($"no event i={last + 1}; the last event is i={last}", err, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFileExits2()
    {
        var (code, _, err) = Show(Path.Combine(DataDir, "traces", "no-such.jsonl"), 0);
        Assert.Equal(2, code);
        Assert.Contains("no such file", err, StringComparison.Ordinal);
    }

    [Fact]
    public void PrimeAfterTheFirstExportShowsTheBufferAndItsReferences()
    {
        // prime.jsonl: the first PRIME_HANDLE_TO_FD exports the 640x480x32 buffer as fd 5 (README: first dma-buf fd 5).
        string path = Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "prime.jsonl");
        long at = -1;
        ulong size = 0;
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            using var d = JsonDocument.Parse(line);
            if (d.RootElement.GetProperty("op").GetString() == "DRM_IOCTL_PRIME_HANDLE_TO_FD")
            {
                at = d.RootElement.GetProperty("i").GetInt64();
                break;
            }
            if (d.RootElement.GetProperty("op").GetString() == "DRM_IOCTL_MODE_CREATE_DUMB")
            {
                size = d.RootElement.GetProperty("result").GetProperty("size").GetUInt64();
            }
        }
        string html = Path.Combine(Path.GetTempPath(), $"show-{Environment.ProcessId}.html");
        try
        {
            var (code, output, _) = Show(path, at, html);
            Assert.Equal(0, code);
            Assert.Contains("fd 5   dmabuf:", output, StringComparison.Ordinal);
            Assert.Contains($"size {size} (", output, StringComparison.Ordinal);
            string page = File.ReadAllText(html);
            int s = page.IndexOf("<svg", StringComparison.Ordinal);
            Assert.True(s >= 0);
            XElement.Parse(page[s..(page.IndexOf("</svg>", s, StringComparison.Ordinal) + 6)]);
        }
        finally
        {
            File.Delete(html);
        }
    }

    [Fact]
    public void CmaStripAfterAnEventMatchesItsTracedDump()
    {
        // Every cma_state (after: J) of dumb_grid: show --at J draws exactly that bitmap.
        string path = Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "dumb_grid.jsonl");
        int checkedDumps = 0;
        foreach (var line in File.ReadLines(path).Skip(1))
        {
            using var d = JsonDocument.Parse(line);
            var e = d.RootElement;
            if (e.GetProperty("op").GetString() != "cma_state" || e.GetProperty("args").GetProperty("after").GetInt64() < 0 || checkedDumps >= 6)
            {
                continue;
            }
            long after = e.GetProperty("args").GetProperty("after").GetInt64();
            var res = e.GetProperty("result");
            var bits = CmaStripFigure.DecodeBitmap(res.GetProperty("bitmap").GetString()!, res.GetProperty("count").GetUInt64());
            List<TourStep>? pages = null;
            new Sim.Core.Replay.ReplayEngine(Composition.BuildMachine).ReplayFileUntil(path, after, (ctx, _) => pages = ShowRun.Pages(ctx), out _);
            var strip = pages!.SelectMany(p => p.Figures).OfType<CmaStripFigure>().Single();
            Assert.Equal(bits, strip.Used);
            checkedDumps++;
        }
        Assert.Equal(6, checkedDumps);
    }
}
