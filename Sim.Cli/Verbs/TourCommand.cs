using System.CommandLine;
using Sim.Teaching;

namespace Sim.Cli;

/// <summary>The <c>tour</c> verb: its options, then <see cref="TourRun"/>.</summary>
internal static class TourCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var machine = new Option<string?>("--machine") { Description = "another machine, e.g. \"mem=1G iommu=on vgem\" (default: board=vexpress, the PL111/CMA ARM board)" };
        var html = new Option<string?>("--html") { Description = "also write a self-contained HTML page with a figure per step" };
        var step = new Option<bool>("--step") { Description = "wait for Enter between steps" };
        var cmd = new Command("tour", "A guided tour of the DRM/dma-buf/RDMA path on a simulated machine") { machine, html, step };
        cmd.SetAction(pr => TourRun.Run(pr.GetValue(machine), pr.GetValue(html), pr.GetValue(step), TerminalView.ForConsole(), Console.In, Console.Error));
        return cmd;
    }
}
