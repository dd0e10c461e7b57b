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
    /// <summary>Runs the tour; 0 when every step succeeded, 1 when one failed, 2 for a bad machine or HTML path.</summary>
    public static int Run(string? machine, string? htmlPath, bool step, TerminalView view, TextReader stdin, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stderr);
        MachineOptions options;
        try
        {
            options = machine is null ? Tour.DefaultMachine() : Composition.ParseMachine(machine);
        }
        catch (MachineOptionException ex)
        {
            stderr.WriteLine($"dmabufsim tour: --machine: {ex.Message}");
            return 2;
        }
        var steps = new List<TourStep>();
        using (var tour = new Tour(options))
        {
            view.Line($"dmabufsim tour on {options}");
            foreach (var s in tour.Run())
            {
                steps.Add(s);
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
            view.Line($"wrote {htmlPath}");
        }
        return steps.Any(s => s.Error is not null) ? 1 : 0;
    }
}
