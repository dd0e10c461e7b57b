using System.CommandLine;
using Sim.RealKernel;

namespace Sim.Cli;

/// <summary>The <c>capture</c> verb: its options, then <see cref="CaptureRun"/>.</summary>
internal static class CaptureCommand
{
    /// <summary>
    /// <c>--kernel 6.1|6.12</c> of the real-kernel verbs: Debian's 6.1 (default) or its 6.12.118
    /// (<c>linux-image-6.12.118+deb12-amd64-unsigned</c>).
    /// </summary>
    internal static Option<string> KernelOption()
    {
        var o = new Option<string>("--kernel") { Description = "the real kernel booted: 6.1 (Debian's current 6.1) or 6.12 (Debian's 6.12.118)", HelpName = "KERNEL", DefaultValueFactory = _ => "6.1" };
        o.AcceptOnlyFromAmong(RealKernelImage.Kernels);
        return o;
    }

    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var scenario = new Argument<string?>("SCENARIO") { Arity = ArgumentArity.ZeroOrOne, Description = "an example program name (tools/dmabufsim-trace/examples/NAME.c)" };
        var program = Conventions.Text("--program", "FILE", "a C source file to compile and run under the tracer instead");
        var output = Conventions.OutputFile("--out", "trace file to write", defaultText: "NAME.jsonl", aliases: "-o");
        var kernel = KernelOption();
        var cmd = new Command("capture", "Run a program on the real Linux 6.1 or 6.12 kernel (QEMU) under the tracer and write its trace")
        {
            scenario, program, output, kernel,
        };
        cmd.SetAction(pr => CaptureRun.Run(pr.GetValue(scenario), pr.GetValue(program), pr.GetValue(output), Console.Out, Console.Error, kernel: pr.GetValue(kernel) ?? "6.1"));
        return cmd;
    }
}
