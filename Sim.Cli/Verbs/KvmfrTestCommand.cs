using System.CommandLine;
using Sim.Machine;

namespace Sim.Cli;

/// <summary>The <c>kvmfr-test</c> verb: its options, then <see cref="KvmfrTest"/>.</summary>
internal static class KvmfrTestCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var sizes = Conventions.Text("--static-size-mb", "MIB,...", "kvmfr's static_size_mb parameter, e.g. 1,1,1", "none: the module is loaded without devices, and test.c prints the design notes' first transcript (Size: 17592186044415 MiB, ioctl: Invalid argument, exit 255), a failure on purpose");
        var json = new Option<bool>("--json") { Description = "JSON Lines: one summary object {\"passed\":N,\"failed\":M,\"skipped\":0,...} with test.c's exit status and output" };
        var cmd = new Command("kvmfr-test", "Run Looking Glass's kvmfr test program (module/test.c) on a simulated machine; without --static-size-mb it shows the design notes' first transcript, a failure on purpose") { sizes, json };
        cmd.SetAction(pr => pr.GetValue(json) ? KvmfrTest.RunJson(pr.GetValue(sizes), Console.Out) : KvmfrTest.Run(pr.GetValue(sizes), Console.Out, Console.Error));
        return cmd;
    }
}
