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
        var jobs = new Option<int>("--jobs", "-j") { Description = "files replayed at once, each on its own machine (default: the number of cores); the output does not depend on it", DefaultValueFactory = _ => Environment.ProcessorCount };
        var shard = new Option<string?>("--shard") { Description = "replay only part K of N of the file list (K/N, e.g. 2/4): file i goes to part i mod N + 1" };
        var cmd = new Command("replay", "Replay real-kernel traces and test vectors against the models and compare every result")
        {
            paths, json, verbose, allowSkipped, machine, jobs, shard,
        };
        cmd.SetAction(pr =>
        {
            Shard? part = null;
            if (pr.GetValue(shard) is { } text)
            {
                if (!Shard.TryParse(text, out var s, out string error))
                {
                    Console.Error.WriteLine($"dmabufsim replay: {error}");
                    return 2;
                }
                part = s;
            }
            if (pr.GetValue(jobs) < 1)
            {
                Console.Error.WriteLine("dmabufsim replay: --jobs: expected at least 1");
                return 2;
            }
            return ReplayRun.Run(pr.GetValue(paths) ?? [], pr.GetValue(json), pr.GetValue(verbose), pr.GetValue(allowSkipped), pr.GetValue(machine),
                jobs: pr.GetValue(jobs), shard: part);
        });
        return cmd;
    }
}
