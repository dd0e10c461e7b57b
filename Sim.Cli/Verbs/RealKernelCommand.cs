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
        var mem = Conventions.Number("--mem", "MIB", "guest RAM in MiB", 512, 64, 65_536);
        var capture = Conventions.Text("--capture", "NAME", "also record this example program under the tracer (tools/dmabufsim-trace/examples/NAME.c)");
        var captureOut = Conventions.OutputFile("--capture-out", "where to write the captured trace", defaultText: "NAME.jsonl");
        var program = Conventions.Text("--program", "SOURCE", "also record this C program under the tracer (its stdout is written beside the trace)");
        var programOut = Conventions.OutputFile("--program-out", "where to write that program's trace (its stdout: FILE.stdout)", defaultText: "NAME.jsonl");
        var dtCount = Conventions.Number("--difftest-count", "N", "also run a differential campaign of this many sequences", 0, 0, 10_000_000);
        var dtSeed = Conventions.Number("--difftest-seed", "SEED", "its seed", 1, int.MinValue, int.MaxValue);
        var dtLength = Conventions.Number("--difftest-length", "CALLS", "most calls per sequence", 30, 1, 10_000);
        var dtMinCalls = Conventions.Number("--difftest-min-calls", "CALLS", "the campaign must execute at least this many calls", 0, 0, int.MaxValue);
        var families = new Option<string>("--families") { Description = "call families of the campaign", HelpName = "FAMILIES", DefaultValueFactory = _ => "all" };
        var faultCheck = new Option<bool>("--fault-check") { Description = "check that a deliberately broken rule (bpp limit) is found and shrunk to at most 3 calls" };
        var familyCampaigns = Conventions.Text("--family-campaigns", "FAMILIES", "after the campaign, a short campaign of each of these families alone (comma list), one check each");
        var familyCampaignCount = Conventions.Number("--family-campaign-count", "N", "sequences of each family campaign", 20, 1, 10_000_000);
        var selftests = new Option<bool>("--selftests") { Description = "also run the kernel's own selftests of what the booted kernel builds (6.12: dmabuf-heap, udmabuf; give --mem 3072: udmabuf's maps 2 GiB of huge pages)" };
        var kernel = CaptureCommand.KernelOption();
        var cmd = new Command("realkernel", "Prepare and boot a genuine Linux 6.1 or 6.12 kernel under QEMU with the DmaBufSim guest agent")
        {
            prepareOnly, mem, capture, captureOut, program, programOut, dtCount, dtSeed, dtLength, dtMinCalls, families, faultCheck, familyCampaigns, familyCampaignCount, selftests, kernel,
        };
        cmd.SetAction(pr => RealKernelRun.Run(new RealKernelRun.Options
        {
            PrepareOnly = pr.GetValue(prepareOnly),
            MemMib = pr.GetValue(mem),
            Capture = pr.GetValue(capture),
            CaptureOut = pr.GetValue(captureOut),
            Program = pr.GetValue(program),
            ProgramOut = pr.GetValue(programOut),
            DiffTestCount = pr.GetValue(dtCount),
            DiffTestSeed = pr.GetValue(dtSeed),
            DiffTestLength = pr.GetValue(dtLength),
            DiffTestMinCalls = pr.GetValue(dtMinCalls),
            Families = pr.GetValue(families) ?? "all",
            FaultCheck = pr.GetValue(faultCheck),
            Selftests = pr.GetValue(selftests),
            FamilyCampaigns = pr.GetValue(familyCampaigns) ?? "",
            FamilyCampaignCount = pr.GetValue(familyCampaignCount),
            Kernel = pr.GetValue(kernel) ?? "6.1",
        }, Console.Out, Console.Error));
        return cmd;
    }
}
