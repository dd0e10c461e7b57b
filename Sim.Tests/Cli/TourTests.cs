using System.Text.Json;
using System.Xml.Linq;
using Sim.Machine;
using Sim.Teaching;
using Sim.Core.Boot;
using Xunit;

namespace Sim.Tests.Cli;

/// <summary>
/// The tour on the default board and on vgem behind an IOMMU. Expected values come from the cma-arm traces (the
/// 640x480x32 CREATE_DUMB of dumb_grid, its kernel-side records and cma_state dumps), the traces README and hand
/// calculation, never from the tour's own output.
/// </summary>
public sealed class TourTests
{
    private static readonly string DataDir = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");

    // The traced facts of dumb_grid.jsonl: the 640x480x32 CREATE_DUMB, its kernel-side records, and the cma_state
    // dumps before any allocation (after: -1) and right after that CREATE_DUMB.
    private sealed record Traced(ulong DmaAddr, ulong Size, ulong Pfn, ulong Count, ulong Align, string BitmapBefore, string BitmapAfter,
        ulong BasePfn, ulong PoolCount, ulong UsedAtStart);

    private static Traced ReadDumbGrid()
    {
        var lines = File.ReadAllLines(Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "dumb_grid.jsonl"));
        using var header = JsonDocument.Parse(lines[0]);
        var cma = header.RootElement.GetProperty("machine_config").GetProperty("cma");
        long create = -1;
        ulong dma = 0, size = 0, pfn = 0, count = 0, align = 0;
        string? before = null, after = null;
        foreach (var line in lines.Skip(1))
        {
            using var d = JsonDocument.Parse(line);
            var e = d.RootElement;
            string op = e.GetProperty("op").GetString()!;
            var args = e.GetProperty("args");
            var res = e.GetProperty("result");
            if (op == "cma_state" && args.GetProperty("after").GetInt64() == -1)
            {
                before = res.GetProperty("bitmap").GetString();
            }
            if (create < 0 && op == "DRM_IOCTL_MODE_CREATE_DUMB" && args.GetProperty("width").GetInt32() == 640 &&
                args.GetProperty("height").GetInt32() == 480 && args.GetProperty("bpp").GetInt32() == 32)
            {
                create = e.GetProperty("i").GetInt64();
            }
            if (create >= 0 && args.TryGetProperty("during", out var dur) && dur.GetInt64() == create)
            {
                if (op == "drm_gem_dma_create:return")
                {
                    dma = res.GetProperty("dma_addr").GetUInt64();
                    size = res.GetProperty("size").GetUInt64();
                }
                if (op == "cma_alloc_start")
                {
                    count = args.GetProperty("count").GetUInt64();
                    align = args.GetProperty("align").GetUInt64();
                }
                if (op == "cma_alloc_finish")
                {
                    pfn = res.GetProperty("pfn").GetUInt64();
                }
            }
            if (create >= 0 && op == "cma_state" && args.GetProperty("after").GetInt64() == create)
            {
                after = res.GetProperty("bitmap").GetString();
                break;
            }
        }
        return new Traced(dma, size, pfn, count, align, before!, after!, cma.GetProperty("base_pfn").GetUInt64(),
            cma.GetProperty("count").GetUInt64(), cma.GetProperty("pages_used_at_start").GetUInt64());
    }

    private static List<TourStep> RunTour(MachineOptions options)
    {
        using var tour = new Tour(options);
        return [.. tour.Run()];
    }

    private static readonly Lazy<List<TourStep>> DefaultSteps = new(() => RunTour(Tour.DefaultMachine()));

    private static readonly Lazy<List<TourStep>> IommuSteps = new(() => RunTour(Composition.ParseMachine("mem=1G iommu=on vgem")));

    [Fact]
    public void TracesHoldTheNotesBuffer()
    {
        // The expectations below lean on these traced values (README: pool at 0x7f000000, 64 pages used at start).
        var t = ReadDumbGrid();
        Assert.Equal(0x7f100000UL, t.DmaAddr);
        Assert.Equal(0x12c000UL, t.Size);
        Assert.Equal(0x7f000UL, t.BasePfn);
        Assert.Equal(64UL, t.UsedAtStart);
    }

    [Fact]
    public void DefaultTourSucceedsEveryStep()
    {
        var steps = DefaultSteps.Value;
        Assert.Equal(8, steps.Count);
        Assert.All(steps, s => Assert.True(s.Error is null, $"step {s.Number}: {s.ErrorWhere} {s.Error}"));
        Assert.All(steps, s => Assert.DoesNotContain(s.Notes, n => n.StartsWith("Not run", StringComparison.Ordinal)));
    }

    [Fact]
    public void CreateDumbLandsWhereTheKernelPutIt()
    {
        var t = ReadDumbGrid();
        var step = DefaultSteps.Value[1];
        var start = step.Trace.Single(r => r.Op == "cma_alloc_start");
        Assert.Equal(t.Count, start.U64("count"));
        Assert.Equal(t.Align, start.U64("align"));
        Assert.Equal(t.Pfn, step.Trace.Single(r => r.Op == "cma_alloc_finish").U64("pfn"));
        Assert.Equal(t.DmaAddr, step.Trace.Single(r => r.Op == "drm_gem_dma_create:return").U64("dma_addr"));
    }

    [Fact]
    public void CmaStripsMatchTheTracedBitmaps()
    {
        var t = ReadDumbGrid();
        var boot = DefaultSteps.Value[0].Figures.OfType<CmaStripFigure>().Single();
        var created = DefaultSteps.Value[1].Figures.OfType<CmaStripFigure>().Single();
        var after = DefaultSteps.Value[7].Figures.OfType<CmaStripFigure>().Single();
        Assert.Equal(CmaStripFigure.DecodeBitmap(t.BitmapBefore, t.PoolCount), boot.Used);
        Assert.Equal(CmaStripFigure.DecodeBitmap(t.BitmapAfter, t.PoolCount), created.Used);
        // Teardown: every page back in the pool, as in the dump taken after DESTROY_DUMB of that buffer.
        Assert.Equal(CmaStripFigure.DecodeBitmap(t.BitmapBefore, t.PoolCount), after.Used);
        Assert.Equal(t.BasePfn, boot.BasePfn);
        // The SVG strip is the bitmap, cell for cell.
        var svg = XElement.Parse(Svg.Draw(created).ToString());
        // Runs of equal cells are one rect each (data-bit the first bit, data-count the bits): expanded, they cover the
        // bitmap bit for bit, in order, and a run never holds both a used and a free bit.
        var cells = svg.Descendants(Svg.Ns + "rect").Where(r => r.Attribute("data-bit") is not null).ToList();
        var bits = CmaStripFigure.DecodeBitmap(t.BitmapAfter, t.PoolCount);
        int next = 0;
        foreach (var run in cells)
        {
            Assert.Equal(next.ToString(System.Globalization.CultureInfo.InvariantCulture), run.Attribute("data-bit")!.Value);
            int count = int.Parse(run.Attribute("data-count")!.Value, System.Globalization.CultureInfo.InvariantCulture);
            for (int k = next; k < next + count; k++)
            {
                Assert.Equal(bits[k] ? "1" : "0", run.Attribute("data-used")!.Value);
            }
            next += count;
        }
        Assert.Equal((int)t.PoolCount, next);
        Assert.True(cells.Count < 200, $"{cells.Count} rects for {t.PoolCount} bits");
    }

    [Fact]
    public void ImporterSeesOneEntryAtTheCmaAddress()
    {
        var t = ReadDumbGrid();
        var fig = DefaultSteps.Value[4].Figures.OfType<SgTableFigure>().Single();
        var e = Assert.Single(fig.Entries);
        Assert.Equal(t.DmaAddr, e.DmaAddress);
        Assert.Equal(t.Size, e.DmaLength);
        Assert.Equal(t.Pfn, e.Pfn);
    }

    [Fact]
    public void HelloWorldIsInPhysicalMemoryAtTheBuffer()
    {
        var t = ReadDumbGrid();
        var bytes = DefaultSteps.Value[2].Figures.OfType<BytesFigure>().Single();
        Assert.Equal(t.DmaAddr, bytes.PhysAddress);
        Assert.Equal("Hello, world!\0"u8.ToArray(), bytes.Bytes.Take(14).ToArray());
    }

    [Fact]
    public void UmemWindowTrimsByHand()
    {
        // Window [0x1800, 0x101800) over one 0x12c000 entry: start = ALIGN_DOWN(0x1800) = 0x1000, end =
        // ALIGN(0x101800) = 0x102000; first_sg 0 with offset 0x1000, last_sg 0 with trim 0x12c000 - 0x102000.
        var fig = DefaultSteps.Value[5].Figures.OfType<SgTableFigure>().Single();
        var w = fig.Window!;
        Assert.Equal((0x1000UL, 0x102000UL), (w.Start, w.End));
        Assert.Equal((0, 0x1000UL, 0, 0x2aUL << 12, 1U), (w.FirstSg, w.FirstSgOffset, w.LastSg, w.LastSgTrim, w.Nmap));
        var svg = XElement.Parse(Svg.Draw(fig).ToString());
        var trims = svg.Descendants(Svg.Ns + "rect").Where(r => r.Attribute("data-trim") is not null).ToDictionary(r => r.Attribute("data-trim")!.Value, r => r.Attribute("data-bytes")!.Value);
        Assert.Equal("0x1000", trims["front"]);
        Assert.Equal("0x2a000", trims["back"]);
    }

    [Fact]
    public void FenceTimesOutThenSucceeds()
    {
        var step = DefaultSteps.Value[6];
        string timedOut = step.Facts.Single(f => f.Name == "map_pages").Value;
        Assert.StartsWith("-ETIMEDOUT", timedOut, StringComparison.Ordinal);
        // The fence's wait gives up after 10 s: 2500 jiffies at HZ 250 (README: sg HZ = 250), at most one timer-wheel
        // bucket (64 jiffies at that level) later.
        long waited = long.Parse(System.Text.RegularExpressions.Regex.Match(timedOut, @"after (\d+) jiffies").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(waited, 2500, 2500 + 64);
        Assert.StartsWith("map_pages = 0 ", step.Facts.Single(f => f.Name == "after dma_fence_signal").Value, StringComparison.Ordinal);
    }

    [Fact]
    public void TeardownFreesTheBufferInTheKernelsOrder()
    {
        var t = ReadDumbGrid();
        var step = DefaultSteps.Value[7];
        var ops = step.Trace.Select(r => r.Op).ToList();
        // dumb_grid's DESTROY_DUMB of the buffer: drm_gem_dma_free, then cma_release of its pfn and count.
        int free = ops.IndexOf("drm_gem_dma_free");
        int release = ops.IndexOf("cma_release");
        Assert.True(free >= 0 && release > free);
        Assert.Equal(t.Pfn, step.Trace[release].U64("pfn"));
        Assert.Equal(t.Count, step.Trace[release].U64("count"));
        Assert.True(ops.IndexOf("dma_buf_release") < free);
    }

    [Fact]
    public void IommuTourMapsVgemPagesAtIovas()
    {
        var steps = IommuSteps.Value;
        Assert.All(steps, s => Assert.True(s.Error is null, $"step {s.Number}: {s.ErrorWhere} {s.Error}"));
        var fig = steps[4].Figures.OfType<SgTableFigure>().Single();
        // vgem: size = PAGE_ALIGN(2560 * 480) = 0x12c000 (README, vgem rule).
        Assert.Equal(0x12c000UL, fig.TotalLength);
        // The first IOVA by hand: 300 pages (> 32, not rounded to a power of two), size-aligned to 512 pages, top-down
        // below the 32-bit mask: ALIGN_DOWN(0x100000 - 300, 512) = 0xffe00 -> 0xffe00000.
        Assert.Equal(0xffe00000UL, fig.Entries[0].DmaAddress);
        Assert.All(fig.Entries, e => Assert.NotEqual(e.Pfn << 12, e.DmaAddress));
    }

    [Fact]
    public void SgSvgBoxesMatchTheEntries()
    {
        foreach (var fig in DefaultSteps.Value.Concat(IommuSteps.Value).SelectMany(s => s.Figures).OfType<SgTableFigure>())
        {
            var svg = XElement.Parse(Svg.Draw(fig).ToString());
            var boxes = svg.Descendants(Svg.Ns + "rect").Where(r => (string?)r.Attribute("class") == "sg").ToList();
            Assert.Equal(fig.Entries.Count, boxes.Count);
            double total = boxes.Sum(b => double.Parse(b.Attribute("width")!.Value, System.Globalization.CultureInfo.InvariantCulture));
            for (int k = 0; k < boxes.Count; k++)
            {
                Assert.Equal(MachineFigures.Hex(fig.Entries[k].DmaAddress), boxes[k].Attribute("data-dma-address")!.Value);
                Assert.Equal(MachineFigures.Hex(fig.Entries[k].DmaLength), boxes[k].Attribute("data-dma-length")!.Value);
                double w = double.Parse(boxes[k].Attribute("width")!.Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal((double)fig.Entries[k].DmaLength / fig.TotalLength, w / total, 2);
            }
        }
    }

    [Fact]
    public void HtmlPageIsSelfContainedAndItsSvgsParse()
    {
        string html = HtmlPage.Render("t", "s", DefaultSteps.Value);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(http", html, StringComparison.OrdinalIgnoreCase);
        int n = 0;
        for (int at = html.IndexOf("<svg", StringComparison.Ordinal); at >= 0; at = html.IndexOf("<svg", at + 1, StringComparison.Ordinal))
        {
            int end = html.IndexOf("</svg>", at, StringComparison.Ordinal) + "</svg>".Length;
            var svg = XElement.Parse(html[at..end]);
            Assert.Equal("svg", svg.Name.LocalName);
            n++;
        }
        Assert.Equal(DefaultSteps.Value.Sum(s => s.Figures.Count), n);
        foreach (var href in System.Text.RegularExpressions.Regex.Matches(html, "href=\"([^\"]*)\"").Select(m => m.Groups[1].Value))
        {
            Assert.StartsWith("https://elixir.bootlin.com/linux/v6.1/source/", href, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void RefGraphsLinkHandleGemDmaBufAttachment()
    {
        var g = DefaultSteps.Value[4].Figures.OfType<RefGraphFigure>().Single();
        string Kind(string id) => g.Nodes.Single(n => n.Id == id).Kind;
        var kinds = g.Edges.Select(e => (Kind(e.From), Kind(e.To))).ToHashSet();
        Assert.Contains(("handle", "gem"), kinds);
        Assert.Contains(("dmabuf", "gem"), kinds);
        Assert.Contains(("dmabuf", "attachment"), kinds);
        Assert.Contains(("fd", "dmabuf"), kinds);
        XElement.Parse(Svg.Draw(g).ToString());
    }

    [Fact]
    public void StepsNameModelledKernelFunctions()
    {
        // The core path of the notes must be carried by [Kernel] attributes of the models.
        foreach (var f in new[] { "drm_mode_create_dumb_ioctl", "drm_gem_dma_create", "dma_alloc_wc", "cma_alloc", "dma_buf_export",
            "dma_buf_attach", "dma_buf_map_attachment", "ib_umem_dmabuf_map_pages", "dma_resv_wait_timeout", "cma_release" })
        {
            Assert.True(KernelXref.IsModelled(f), f);
            Assert.Contains(f, DefaultSteps.Value.SelectMany(s => s.Functions));
        }
    }

    [Theory]
    [InlineData(80)]
    [InlineData(132)]
    public void RedirectedOutputIsPlainAndFitsTheWidth(int width)
    {
        var o = new StringWriter();
        int code = TourRun.Run(null, null, false, new TerminalView(o, terminal: false, width), new StringReader(""), new StringWriter());
        Assert.Equal(0, code);
        string text = o.ToString();
        Assert.DoesNotContain('\u001b', text);
        Assert.All(text.Split('\n'), l => Assert.True(l.TrimEnd('\r').Length <= width, $"{l.Length} > {width}: {l}"));
        Assert.All(text, c => Assert.True(c < 128, $"non-ASCII U+{(int)c:x4}"));
        Assert.Contains("0x7f100000", text, StringComparison.Ordinal);
        Assert.Contains("reg_size = 0x0012c000", text, StringComparison.Ordinal);
        Assert.Contains("-ETIMEDOUT", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TerminalOutputHasColour()
    {
        var o = new StringWriter();
        TourRun.Run(null, null, false, new TerminalView(o, terminal: true, 100), new StringReader(""), new StringWriter());
        Assert.Contains('\u001b', o.ToString());
    }

    [Fact]
    public void StepWaitsForEnterAndEofContinues()
    {
        var o = new StringWriter();
        var input = new CountingReader("\n\n");
        int code = TourRun.Run(null, null, true, new TerminalView(o, false, 100), input, new StringWriter());
        Assert.Equal(0, code);
        Assert.Equal(7, input.Reads);
        Assert.Equal(7, o.ToString().Split("-- Enter: next step --").Length - 1);
    }

    [Fact]
    public void BadMachineExits2()
    {
        var e = new StringWriter();
        Assert.Equal(2, TourRun.Run("mem=banana", null, false, new TerminalView(new StringWriter(), false, 80), new StringReader(""), e));
        Assert.Contains("--machine", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void HtmlFileIsWritten()
    {
        string path = Path.Combine(Path.GetTempPath(), $"tour-{Environment.ProcessId}.html");
        try
        {
            Assert.Equal(0, TourRun.Run("mem=1G iommu=on vgem", path, false, new TerminalView(new StringWriter(), false, 100), new StringReader(""), new StringWriter()));
            Assert.StartsWith("<!DOCTYPE html>", File.ReadAllText(path), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private sealed class CountingReader(string text) : TextReader
    {
        private readonly StringReader _inner = new(text);

        public int Reads { get; private set; }

        public override string? ReadLine()
        {
            Reads++;
            return _inner.ReadLine();
        }
    }
}
