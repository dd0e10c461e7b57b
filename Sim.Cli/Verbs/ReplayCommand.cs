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
        var json = Conventions.Json("file (instead of the table)");
        var verbose = new Option<bool>("--verbose", "-v") { Description = "list every difference [default: up to 5 per file]" };
        var allowSkipped = new Option<bool>("--allow-skipped") { Description = "exit 0 when nothing failed, even if events were skipped" };
        var machine = Conventions.Machine("each file's machine (its header's machine_config, else the README defaults: x86_64, 1 GiB, dma-direct)", "mem=1T");
        var jobs = Conventions.OptionalNumber("--jobs", "N", "files replayed at once, each on its own machine; the output does not depend on it", "the number of cores", 1, 1024, "-j");
        var shard = Conventions.Text("--shard", "K/N", "replay only part K of N of the file list (e.g. 2/4): file i goes to part i mod N + 1");
        var timeline = Conventions.OutputFile("--timeline", "one trace file only: write its timeline (FILE.json Trace Event Format, FILE.html page, other names both; - prints the summary)", allowDash: true);
        var cmd = new Command("replay", "Replay real-kernel traces and test vectors against the models and compare every result")
        {
            paths, json, verbose, allowSkipped, machine, jobs, shard, timeline,
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
            if (pr.GetValue(timeline) is { } tl)
            {
                return Run(pr.GetValue(paths) ?? [], pr.GetValue(json), pr.GetValue(verbose), pr.GetValue(allowSkipped), pr.GetValue(machine),
                    tl, part, Console.Out, Console.Error);
            }
            return ReplayRun.Run(pr.GetValue(paths) ?? [], pr.GetValue(json), pr.GetValue(verbose), pr.GetValue(allowSkipped), pr.GetValue(machine),
                jobs: pr.GetValue(jobs) ?? Environment.ProcessorCount, shard: part);
        });
        return cmd;
    }

    /// <summary>Runs the replay; with <paramref name="timeline"/>, records the one file's timeline and writes it.</summary>
    internal static int Run(string[] paths, bool json, bool verbose, bool allowSkipped, string? machine, string timeline, Shard? shard,
        TextWriter stdout, TextWriter stderr)
    {
        var observer = new Sim.Timeline.ReplayTimelineObserver();
        int status = ReplayRun.Run(paths, json, verbose, allowSkipped, machine, stdout, stderr, jobs: 1, shard: shard, observer: observer);
        if (observer is { Timelines: [var tl, ..] } && !TimelineCommand.Write(tl, timeline, "replay", stdout, stderr))
        {
            return 2;
        }
        return status;
    }
}
