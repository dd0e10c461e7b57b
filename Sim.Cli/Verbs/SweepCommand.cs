using System.CommandLine;
using Sim.Reliability;

namespace Sim.Cli;

/// <summary>The <c>sweep</c> verb: its options, then <see cref="SweepRun"/>.</summary>
internal static class SweepCommand
{
    /// <summary>The <c>sweep</c> verb.</summary>
    internal static Command Create()
    {
        var full = new Option<bool>("--full") { Description = "fail every n-th allocation of each scenario (fail-nth), not once per site" };
        var seed = new Option<int>("--seed") { Description = "orders and samples the cases", DefaultValueFactory = _ => 1 };
        var budget = new Option<int?>("--budget-seconds") { Description = "stop starting cases after this many seconds" };
        var traces = new Option<bool>("--no-traces") { Description = "only the uAPI scenarios, not the public traces" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "one line per case: scenario, failing site, what the failing call returned" };
        var cmd = new Command("sweep", "Run every scenario once per allocation site with that site failing; report leaks, exceptions and state differences")
        {
            full, seed, budget, traces, verbose,
        };
        cmd.SetAction(pr => SweepRun.Run(pr.GetValue(full), pr.GetValue(seed), pr.GetValue(budget), !pr.GetValue(traces), Console.Out, pr.GetValue(verbose)));
        return cmd;
    }
}
