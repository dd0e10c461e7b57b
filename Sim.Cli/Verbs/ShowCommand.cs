using System.CommandLine;
using Sim.Teaching;

namespace Sim.Cli;

/// <summary>The <c>show</c> verb: its options, then <see cref="ShowRun"/>.</summary>
internal static class ShowCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var trace = new Argument<string>("TRACE") { Description = "a trace file (.jsonl)" };
        var at = Conventions.OptionalNumber("--at", "EVENT", "stop after the user event whose i is EVENT (the kernel-side records inside it included) and draw the machine", null, 0L, long.MaxValue);
        var html = Conventions.OutputFile("--html", "also write a self-contained HTML page");
        var timeline = Conventions.OutputFile("--timeline", "the whole trace's timeline: FILE.json (Trace Event Format), FILE.html (page), other names both, - the summary tables", allowDash: true);
        var json = new Option<bool>("--json") { Description = "with --at: one summary object {\"passed\":N,\"failed\":M,\"skipped\":K,...} instead of the drawing" };
        var cmd = new Command("show", "Replay a trace up to an event and draw the machine's state, or draw its timeline") { trace, at, html, timeline, json };
        cmd.SetAction(pr => Run(pr.GetValue(trace)!, pr.GetValue(at), pr.GetValue(html), pr.GetValue(timeline), Console.Out, Console.Error, pr.GetValue(json)));
        return cmd;
    }

    /// <summary>
    /// <c>show TRACE --at N</c> draws the machine after event N; <c>show TRACE --timeline FILE</c> (no <c>--at</c>
    /// needed) replays the whole trace and writes its timeline. Both may be given.
    /// </summary>
    internal static int Run(string trace, long? at, string? html, string? timeline, TextWriter stdout, TextWriter stderr, bool json = false)
    {
        if (at is null && timeline is null)
        {
            stderr.WriteLine("dmabufsim show: give --at EVENT (the machine after the event whose i is EVENT) or --timeline FILE (the whole trace over time)");
            return 2;
        }
        if (at is { } n)
        {
            int status = ShowRun.Run(trace, n, html, TerminalView.ForConsole(), stderr, json ? stdout : null);
            if (status != 0 || timeline is null)
            {
                return status;
            }
        }
        if (!File.Exists(trace))
        {
            stderr.WriteLine($"dmabufsim show: {trace}: no such file");
            return 2;
        }
        var observer = new Sim.Timeline.ReplayTimelineObserver();
        var engine = new Sim.Core.Replay.ReplayEngine(Sim.Machine.Composition.BuildMachine) { Observer = observer };
        var result = engine.ReplayFile(trace, Sim.Machine.DataLocator.DisplayName(trace));
        if (result.FormatError is not null)
        {
            stderr.WriteLine($"dmabufsim show: {result.FormatError}");
            return 2;
        }
        return TimelineCommand.Write(observer.Timelines[0], timeline!, "show", stdout, stderr) ? 0 : 2;
    }
}
