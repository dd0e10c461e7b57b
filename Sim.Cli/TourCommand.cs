using System.CommandLine;
using Sim.Cli.Teaching;
using Sim.Core.Boot;

namespace Sim.Cli;

/// <summary>
/// <c>dmabufsim tour [--machine CMDLINE] [--html FILE] [--step]</c>: the guided tour of the design notes' path
/// (boot, CREATE_DUMB to cma_alloc, MAP_DUMB and a CPU write, PRIME export, the importer test, a umem window, a fence,
/// teardown) on the default vexpress board or the machine <c>--machine</c> describes.
/// </summary>
public static class TourCommand
{
    /// <summary>Builds the verb.</summary>
    public static Command Create()
    {
        var machine = new Option<string?>("--machine") { Description = "another machine, e.g. \"mem=1G iommu=on vgem\" (default: board=vexpress, the PL111/CMA ARM board)" };
        var html = new Option<string?>("--html") { Description = "also write a self-contained HTML page with a figure per step" };
        var step = new Option<bool>("--step") { Description = "wait for Enter between steps" };
        var cmd = new Command("tour", "A guided tour of the DRM/dma-buf/RDMA path on a simulated machine") { machine, html, step };
        cmd.SetAction(pr => Run(pr.GetValue(machine), pr.GetValue(html), pr.GetValue(step), TerminalView.ForConsole(), Console.In, Console.Error));
        return cmd;
    }

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
