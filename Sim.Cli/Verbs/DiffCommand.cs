using System.CommandLine;
using Sim.Machine;

namespace Sim.Cli;

/// <summary><c>dmabufsim diff A.jsonl B.jsonl [--max N] [--json]</c>: two traces compared event by event (<see cref="TraceDiff"/>).</summary>
internal static class DiffCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var a = new Argument<string>("A") { Description = "the first trace (e.g. a capture on the real kernel)" };
        var b = new Argument<string>("B") { Description = "the second trace (e.g. dmabufsim run --trace of the same program)" };
        var max = Conventions.Number("--max", "<N>", "how many differences to print", 20, 1, 1_000_000);
        var json = Conventions.Json("difference");
        var cmd = new Command("diff", "Compare two traces event by event, with the traces README's rules for nondeterministic fields (exit 1 when they differ)")
        {
            a, b, max, json,
        };
        cmd.SetAction(pr => TraceDiffRun.Run(pr.GetValue(a)!, pr.GetValue(b)!, pr.GetValue(max), pr.GetValue(json), Console.Out, Console.Error));
        return cmd;
    }
}
