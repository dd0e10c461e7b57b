using Sim.Core.Boot;
using Sim.Machine;

namespace Sim.Teaching;

/// <summary>
/// <c>dmabufsim tour [--machine CMDLINE] [--html FILE] [--step]</c>: the guided tour of the design notes' path
/// (boot, CREATE_DUMB to cma_alloc, MAP_DUMB and a CPU write, PRIME export, the importer test, a umem window, a fence,
/// teardown) on the default vexpress board or the machine <c>--machine</c> describes.
/// </summary>
public static class TourRun
{
    /// <summary>Runs the tour; 0 when every step succeeded, 1 when one failed or could not run, 2 for a bad machine or HTML path.</summary>
    /// <remarks>
    /// <paramref name="json"/>: JSON Lines there instead of the text (one object per step, then the summary object; a
    /// step that could not run counts as failed).
    /// </remarks>
    public static int Run(string? machine, string? htmlPath, bool step, TerminalView view, TextReader stdin, TextWriter stderr, TextWriter? json = null)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stderr);
        MachineOptions options;
        try
        {
            // --machine adds to the tour's default machine (the vexpress board), as on every verb; board=pc starts from the PC.
            options = Composition.ParseMachine(machine, Tour.DefaultMachine());
        }
        catch (MachineOptionException ex)
        {
            stderr.WriteLine($"dmabufsim tour: --machine: {ex.Message}");
            return 2;
        }
        if (htmlPath is not null && VerbConventions.OutputFileProblem("--html", htmlPath) is { } bad)
        {
            return VerbConventions.UsageError(stderr, "tour", bad);
        }
        var steps = new List<TourStep>();
        using (var tour = new Tour(options))
        {
            if (json is null)
            {
                view.Line($"dmabufsim tour on {options}");
            }
            foreach (var s in tour.Run())
            {
                steps.Add(s);
                if (json is not null)
                {
                    json.WriteLine(StepJson(s));
                    continue;
                }
                view.Step(s);
                if (step && s.Number < 8)
                {
                    view.Line("-- Enter: next step --");
                    _ = stdin.ReadLine();
                }
            }
        }
        if (htmlPath is not null)
        {
            try
            {
                File.WriteAllText(htmlPath, HtmlPage.Render("dmabufsim: a tour of the dma-buf path", $"Machine: {options}", steps));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"dmabufsim tour: --html {htmlPath}: {ex.Message}");
                return 2;
            }
            if (json is null)
            {
                view.Line($"wrote {htmlPath}");
            }
        }
        foreach (var s in steps.Where(s => s.NotRun is not null))
        {
            stderr.WriteLine($"{VerbConventions.Prefix("tour")}step {s.Number} could not run: {s.NotRun}");
        }
        int failed = steps.Count(s => s.Error is not null || s.NotRun is not null);
        json?.WriteLine(VerbConventions.JsonSummary(steps.Count - failed, failed, 0, w => w.WriteString("machine", options.ToString())));
        return failed > 0 ? VerbConventions.Failed : VerbConventions.Ok;
    }

    private static string StepJson(TourStep s)
    {
        using var ms = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("step", s.Number);
            w.WriteString("title", s.Title);
            w.WriteString("result", s.NotRun is not null ? "not run" : s.Error is not null ? "failed" : "passed");
            if (s.Error is { } err)
            {
                w.WriteString("error", Sim.Core.Uapi.ErrnoNames.Format(err));
                w.WriteString("where", s.ErrorWhere);
            }
            if (s.NotRun is { } why)
            {
                w.WriteString("why", why);
            }
            w.WriteStartObject("facts");
            foreach (var f in s.Facts)
            {
                w.WriteString(f.Name, f.Value);
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
