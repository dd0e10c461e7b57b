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
        var seed = Conventions.Number("--seed", "SEED", "orders and samples the cases", 1, int.MinValue, int.MaxValue);
        var budget = Conventions.OptionalNumber("--budget-seconds", "SECONDS", "stop starting cases after this many seconds", "no limit", 1, 7 * 24 * 3600);
        var traces = new Option<bool>("--no-traces") { Description = "only the uAPI scenarios, not the public traces" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "one line per case: scenario, failing site, what the failing call returned" };
        var json = Conventions.Json("case");
        var shard = Conventions.Text("--shard", "K/N", "run only part K of N of the cases: case i goes to part i mod N + 1");
        var cmd = new Command("sweep", "Run every scenario once per allocation site with that site failing; report leaks, exceptions and state differences")
        {
            full, seed, budget, traces, verbose, json, shard,
        };
        cmd.SetAction(pr =>
        {
            Sim.Machine.Shard? part = null;
            if (pr.GetValue(shard) is { } text)
            {
                if (!Sim.Machine.Shard.TryParse(text, out var s, out string error))
                {
                    Console.Error.WriteLine($"dmabufsim sweep: {error}");
                    return 2;
                }
                part = s;
            }
            return SweepRun.Run(pr.GetValue(full), pr.GetValue(seed), pr.GetValue(budget), !pr.GetValue(traces), Console.Out, pr.GetValue(verbose),
                pr.GetValue(json), part, Conventions.CancelOnCtrlC());
        });
        return cmd;
    }
}
