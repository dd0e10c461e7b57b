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
        var timeline = new Option<string?>("--timeline") { Description = "one trace file only: write its timeline (FILE.json Trace Event Format, FILE.html page, other names both; - prints the summary)" };
        var cmd = new Command("replay", "Replay real-kernel traces and test vectors against the models and compare every result")
        {
            paths, json, verbose, allowSkipped, machine, timeline,
        };
        cmd.SetAction(pr => Run(pr.GetValue(paths) ?? [], pr.GetValue(json), pr.GetValue(verbose), pr.GetValue(allowSkipped), pr.GetValue(machine),
            pr.GetValue(timeline), Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>Runs the replay; with <paramref name="timeline"/>, records the one file's timeline and writes it.</summary>
    internal static int Run(string[] paths, bool json, bool verbose, bool allowSkipped, string? machine, string? timeline, TextWriter stdout, TextWriter stderr)
    {
        var observer = timeline is null ? null : new Sim.Timeline.ReplayTimelineObserver();
        int status = ReplayRun.Run(paths, json, verbose, allowSkipped, machine, stdout, stderr, observer);
        if (observer is { Timelines: [var tl, ..] } && !TimelineCommand.Write(tl, timeline!, "replay", stdout, stderr))
        {
            return 2;
        }
        return status;
    }
}
