using System.CommandLine;
using Sim.Machine;

namespace Sim.Cli;

/// <summary>The <c>kvmfr-test</c> verb: its options, then <see cref="KvmfrTest"/>.</summary>
internal static class KvmfrTestCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var sizes = new Option<string?>("--static-size-mb") { Description = "kvmfr's static_size_mb parameter, e.g. 1,1 (none: loaded without devices)" };
        var cmd = new Command("kvmfr-test", "Run Looking Glass's kvmfr test program (module/test.c) on a simulated machine") { sizes };
        cmd.SetAction(pr => KvmfrTest.Run(pr.GetValue(sizes), Console.Out, Console.Error));
        return cmd;
    }
}
