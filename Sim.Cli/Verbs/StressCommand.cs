using System.CommandLine;
using Sim.Reliability;

namespace Sim.Cli;

/// <summary>The <c>stress</c> verb: its options, then <see cref="StressRun"/>.</summary>
internal static class StressCommand
{
    /// <summary>The <c>stress</c> verb.</summary>
    internal static Command Create()
    {
        var ops = Conventions.Number("--ops", "N", "number of random operations", 100_000L, 1L, 1_000_000_000_000L);
        var seed = Conventions.Number("--seed", "SEED", "random seed (printed with every violation and in the closing line)", 1, int.MinValue, int.MaxValue);
        var timeline = Conventions.OutputFile("--timeline", "write the run's timeline: FILE.json (Trace Event Format), FILE.html (page), other names both, - the summary (use a small --ops)", allowDash: true);
        var json = Conventions.Json("violation and per operation kind");
        var cmd = new Command("stress", "Random use of the DRM/dma-buf uAPI with invariants checked after every step") { ops, seed, json, timeline };
        cmd.SetAction(pr => Run(pr.GetValue(ops), pr.GetValue(seed), pr.GetValue(json), pr.GetValue(timeline), Console.Out, Console.Error));
        return cmd;
    }

    /// <summary>Runs the stress; with <paramref name="timeline"/>, records every step on a timeline and writes it.</summary>
    internal static int Run(long ops, int seed, bool json, string? timeline, TextWriter stdout, TextWriter stderr)
    {
        var cancel = Conventions.CancelOnCtrlC();
        if (timeline is null)
        {
            return StressRun.Run(ops, seed, stdout, json, null, null, cancel);
        }
        Sim.Timeline.TimelineRecorder? rec = null;
        Sim.Timeline.Timeline? tl = null;
        long step = 0;
        int status = StressRun.Run(ops, seed, stdout, json, run =>
        {
            rec = new Sim.Timeline.TimelineRecorder(run.Machine, $"stress --ops {ops} --seed {seed}");
            run.StepStarting = (pid, comm) => rec.BeginCall(rec.ProcessTrack(pid, comm), "step", step++);
            run.StepFinished = (op, ok) =>
            {
                rec.Name(op);
                rec.Arg("succeeded", ok ? "true" : "false");
                rec.EndCall(!ok);
            };
        }, run =>
        {
            run.StepStarting = null;
            run.StepFinished = null;
            tl = rec!.Finish();
        }, cancel);
        return tl is not null && !TimelineCommand.Write(tl, timeline, "stress", stdout, stderr) ? 2 : status;
    }
}
