using System.CommandLine;
using Sim.RealKernel;

namespace Sim.Cli;

/// <summary>The <c>realkernel</c> verb: its options, then <see cref="RealKernelRun"/>.</summary>
internal static class RealKernelCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var prepareOnly = new Option<bool>("--prepare-only") { Description = "prepare the kernel, tools and initramfs, do not boot" };
        var mem = new Option<int>("--mem") { Description = "guest RAM in MiB", DefaultValueFactory = _ => 512 };
        var capture = new Option<string?>("--capture") { Description = "also record this example program under the tracer (tools/dmabufsim-trace/examples/NAME.c)" };
        var captureOut = new Option<string?>("--capture-out") { Description = "where to write the captured trace (default NAME.jsonl)" };
        var dtCount = new Option<int>("--difftest-count") { Description = "also run a differential campaign of this many sequences", DefaultValueFactory = _ => 0 };
        var dtSeed = new Option<int>("--difftest-seed") { Description = "its seed", DefaultValueFactory = _ => 1 };
        var dtLength = new Option<int>("--difftest-length") { Description = "most calls per sequence", DefaultValueFactory = _ => 30 };
        var dtMinCalls = new Option<int>("--difftest-min-calls") { Description = "the campaign must execute at least this many calls", DefaultValueFactory = _ => 0 };
        var families = new Option<string>("--families") { Description = "call families of the campaign", DefaultValueFactory = _ => "all" };
        var faultCheck = new Option<bool>("--fault-check") { Description = "check that a deliberately broken rule (bpp limit) is found and shrunk to <= 3 calls" };
        var cmd = new Command("realkernel", "Prepare and boot a genuine Linux 6.1 kernel under QEMU with the DmaBufSim guest agent")
        {
            prepareOnly, mem, capture, captureOut, dtCount, dtSeed, dtLength, dtMinCalls, families, faultCheck,
        };
        cmd.SetAction(pr => RealKernelRun.Run(new RealKernelRun.Options
        {
            PrepareOnly = pr.GetValue(prepareOnly),
            MemMib = pr.GetValue(mem),
            Capture = pr.GetValue(capture),
            CaptureOut = pr.GetValue(captureOut),
            DiffTestCount = pr.GetValue(dtCount),
            DiffTestSeed = pr.GetValue(dtSeed),
            DiffTestLength = pr.GetValue(dtLength),
            DiffTestMinCalls = pr.GetValue(dtMinCalls),
            Families = pr.GetValue(families) ?? "all",
            FaultCheck = pr.GetValue(faultCheck),
        }, Console.Out, Console.Error));
        return cmd;
    }
}
