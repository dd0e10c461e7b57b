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
        var at = new Option<long>("--at") { Description = "the event index i to stop after", Required = true };
        var html = new Option<string?>("--html") { Description = "also write a self-contained HTML page" };
        var cmd = new Command("show", "Replay a trace up to an event and draw the machine's state") { trace, at, html };
        cmd.SetAction(pr => ShowRun.Run(pr.GetValue(trace)!, pr.GetValue(at), pr.GetValue(html), TerminalView.ForConsole(), Console.Error));
        return cmd;
    }
}
