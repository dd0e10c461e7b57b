using System.Globalization;
using Sim.Core.Replay;
using Sim.Machine;

namespace Sim.Teaching;

/// <summary>
/// <c>dmabufsim show TRACE --at N [--html FILE]</c>: replays TRACE up to and including the event whose <c>i</c> is N and
/// draws the machine then: processes with their fds, handles and mappings, dma-bufs and attachments, the CMA bitmap,
/// the mapped tables and the reference graph.
/// </summary>
public static class ShowRun
{
    /// <summary>Runs the command: 0, or 2 for a missing file, an unreadable trace or an N past the end.</summary>
    /// <remarks><paramref name="json"/>: one summary object there instead of the drawing (the replay's figures, the event, the counts).</remarks>
    public static int Run(string trace, long at, string? htmlPath, TerminalView view, TextWriter stderr, TextWriter? json = null)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(stderr);
        if (!File.Exists(trace))
        {
            stderr.WriteLine($"dmabufsim show: {trace}: no such file");
            return 2;
        }
        if (at < 0)
        {
            stderr.WriteLine($"dmabufsim show: --at {at}: event indices start at 0");
            return 2;
        }
        if (htmlPath is not null && VerbConventions.OutputFileProblem("--html", htmlPath) is { } bad)
        {
            return VerbConventions.UsageError(stderr, "show", bad);
        }
        var engine = new ReplayEngine(Composition.BuildMachine);
        List<TourStep>? pages = null;
        string? evOp = null;
        var result = engine.ReplayFileUntil(trace, at, (ctx, ev) =>
        {
            evOp = ev.Op;
            pages = Pages(ctx);
        }, out long last, DataLocator.DisplayName(trace));
        if (result.FormatError is not null)
        {
            stderr.WriteLine($"dmabufsim show: {result.FormatError}");
            return 2;
        }
        if (pages is null)
        {
            stderr.WriteLine(last < 0
                ? $"dmabufsim show: {DataLocator.DisplayName(trace)}: the trace has no events"
                : string.Create(CultureInfo.InvariantCulture, $"dmabufsim show: {DataLocator.DisplayName(trace)}: no event i={at}; the last event is i={last}"));
            return 2;
        }
        string title = string.Create(CultureInfo.InvariantCulture, $"{DataLocator.DisplayName(trace)} after event i={at} ({evOp})");
        // The same unit as replay's "user events": i numbers every line (kernel-side records and notes too), the
        // results count the user events among them, each compared with the kernel-side records inside it.
        long others = Math.Max(0, at + 1 - result.Totals.Total);
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"replayed i=0..{at}: {result.Totals.Total} user events ({others} other lines are kernel-side records inside them or notes): {result.Totals.Passed} passed, {result.Totals.Failed} failed, {result.Totals.Skipped} skipped");
        if (json is not null)
        {
            json.WriteLine(VerbConventions.JsonSummary(result.Totals.Passed, result.Totals.Failed, result.Totals.Skipped, w =>
            {
                w.WriteString("file", DataLocator.DisplayName(trace));
                w.WriteNumber("at", at);
                w.WriteString("op", evOp);
                w.WriteNumber("user_events", result.Totals.Total);
                w.WriteNumber("other_lines", others);
            }));
        }
        else
        {
            view.Line(title);
            view.Line(summary);
            foreach (var p in pages)
            {
                view.Step(p);
            }
        }
        if (htmlPath is not null)
        {
            try
            {
                File.WriteAllText(htmlPath, HtmlPage.Render("dmabufsim show: " + title, summary, pages));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"dmabufsim show: --html {htmlPath}: {ex.Message}");
                return 2;
            }
            if (json is null)
            {
                view.Line($"wrote {htmlPath}");
            }
        }
        return 0;
    }

    /// <summary>The pages of the machine's state at the stop.</summary>
    public static List<TourStep> Pages(ReplaySession ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var v = MachineView.Capture(ctx.Machine);
        // The sg family maps tables outside any dma-buf (dma_map_sgtable of a case, until its dma_unmap_sgtable).
        v.AddReplayTables(ctx.State<SgReplayState>());
        var pages = new List<TourStep>();
        var procs = new TourStep(0, "Processes: fds, handles, mappings");
        foreach (var p in v.Processes)
        {
            procs.Add($"pid {p.Pid}", $"{p.Comm}: {p.Fds.Count} fds, {p.Mappings.Count} mappings");
            foreach (var fd in p.Fds)
            {
                procs.Add($"  fd {fd.Fd}", $"{fd.What} (f_count {fd.FileCount}){(fd.Detail.Length > 0 ? ": " + fd.Detail : "")}");
            }
            foreach (var m in p.Mappings)
            {
                procs.Add("  mapping", m);
            }
        }
        if (v.Processes.Count == 0)
        {
            procs.Note("No process is alive.");
        }
        pages.Add(procs);
        var bufs = new TourStep(0, "dma-bufs and attachments");
        foreach (var b in v.DmaBufs)
        {
            bufs.Add($"ino {b.Ino}", $"\"{b.ExpName}\" size {MachineFigures.Size(b.Size)}, f_count {b.FileCount}, {b.Attachments.Count} attachment(s)");
            foreach (var a in b.Attachments)
            {
                bufs.Add("  attachment", a);
            }
        }
        if (v.DmaBufs.Count == 0)
        {
            bufs.Note("No dma-buf exists.");
        }
        var graph = v.RefGraph("References: who holds whom");
        if (graph.Nodes.Count > 0)
        {
            bufs.Figures.Add(graph);
        }
        pages.Add(bufs);
        if (v.Cma is not null)
        {
            var cma = new TourStep(0, "CMA area");
            cma.Add("pages used", $"{v.Cma.Used.Count(u => u)} of {v.Cma.Count}");
            cma.Figures.Add(v.Cma);
            pages.Add(cma);
        }
        if (v.Tables.Count > 0)
        {
            var tables = new TourStep(0, "Mapped tables");
            foreach (var t in v.Tables.Take(8))
            {
                tables.Figures.Add(new SgTableFigure(t.Owner, t.Entries, null));
            }
            if (v.Tables.Count > 8)
            {
                tables.Note($"{v.Tables.Count - 8} more tables not drawn.");
            }
            pages.Add(tables);
        }
        var live = new TourStep(0, "Live objects");
        foreach (var (type, n) in v.LiveByType)
        {
            live.Add(type, n.ToString(CultureInfo.InvariantCulture));
        }
        pages.Add(live);
        return pages;
    }
}
