using System.CommandLine;
using Sim.RealKernel;

namespace Sim.Cli;

/// <summary>The <c>capture</c> verb: its options, then <see cref="CaptureRun"/>.</summary>
internal static class CaptureCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var scenario = new Argument<string?>("SCENARIO") { Arity = ArgumentArity.ZeroOrOne, Description = "an example program name (tools/dmabufsim-trace/examples/NAME.c)" };
        var program = Conventions.Text("--program", "FILE", "a C source file to compile and run under the tracer instead");
        var output = Conventions.OutputFile("--out", "trace file to write", defaultText: "NAME.jsonl", aliases: "-o");
        var cmd = new Command("capture", "Run a program on the real Linux 6.1 kernel (QEMU) under the tracer and write its trace")
        {
            scenario, program, output,
        };
        cmd.SetAction(pr => CaptureRun.Run(pr.GetValue(scenario), pr.GetValue(program), pr.GetValue(output), Console.Out, Console.Error));
        return cmd;
    }
}
