using System.CommandLine;
using Sim.Machine;

namespace Sim.Cli;

/// <summary>The <c>replay</c> verb: its options, then <see cref="ReplayRun"/>.</summary>
internal static class ReplayCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var paths = new Argument<string[]>("PATH") { Arity = ArgumentArity.ZeroOrMore, Description = "trace or vector files, or folders (recursively *.jsonl); none = the bundled data" };
        var json = new Option<bool>("--json") { Description = "one JSON object per file instead of the table" };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "list every difference (default: up to 5 per file)" };
        var allowSkipped = new Option<bool>("--allow-skipped") { Description = "exit 0 when nothing failed, even if events were skipped" };
        var machine = new Option<string?>("--machine") { Description = "machine options on top of each header, e.g. \"mem=1T\" or \"iommu=on\"" };
        var cmd = new Command("replay", "Replay real-kernel traces and test vectors against the models and compare every result")
        {
            paths, json, verbose, allowSkipped, machine,
        };
        cmd.SetAction(pr => ReplayRun.Run(pr.GetValue(paths) ?? [], pr.GetValue(json), pr.GetValue(verbose), pr.GetValue(allowSkipped), pr.GetValue(machine)));
        return cmd;
    }
}
