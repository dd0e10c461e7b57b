using System.CommandLine;
using Sim.Reliability;

namespace Sim.Cli;

/// <summary>The <c>stress</c> verb: its options, then <see cref="StressRun"/>.</summary>
internal static class StressCommand
{
    /// <summary>The <c>stress</c> verb.</summary>
    internal static Command Create()
    {
        var ops = new Option<long>("--ops") { Description = "number of random operations", DefaultValueFactory = _ => 100_000 };
        var seed = new Option<int>("--seed") { Description = "random seed", DefaultValueFactory = _ => 1 };
        var cmd = new Command("stress", "Random use of the DRM/dma-buf uAPI with invariants checked after every step") { ops, seed };
        cmd.SetAction(pr => StressRun.Run(pr.GetValue(ops), pr.GetValue(seed), Console.Out));
        return cmd;
    }
}
