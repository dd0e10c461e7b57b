using System.CommandLine;
using Sim.Teaching;

namespace Sim.Cli;

/// <summary>The <c>tour</c> verb: its options, then <see cref="TourRun"/>.</summary>
internal static class TourCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var machine = Conventions.Machine("the tour's machine, board=vexpress (the PL111/CMA ARM board; board=pc starts from the x86_64 PC instead)", "board=pc mem=1G iommu=on vgem");
        var html = Conventions.OutputFile("--html", "also write a self-contained HTML page with a figure per step");
        var step = new Option<bool>("--step") { Description = "wait for Enter between steps" };
        var json = Conventions.Json("step (instead of the text)");
        var cmd = new Command("tour", "A guided tour of the DRM/dma-buf/RDMA path on a simulated machine") { machine, html, step, json };
        cmd.SetAction(pr => TourRun.Run(pr.GetValue(machine), pr.GetValue(html), pr.GetValue(step), TerminalView.ForConsole(), Console.In, Console.Error,
            pr.GetValue(json) ? Console.Out : null));
        return cmd;
    }
}
