using System.CommandLine;
using Sim.Core.Boot;
using Sim.Machine;

namespace Sim.Cli;

/// <summary><c>dmabufsim diff-kernels TRACE [--machine OPTIONS]</c>: the results that differ between the 6.1 and 6.12 profiles.</summary>
internal static class DiffKernelsCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var trace = new Argument<string>("TRACE") { Description = "one trace file" };
        var machine = Conventions.Machine("the trace header's machine (the kernel= option is set by the verb)", "iommu=on");
        var json = Conventions.Json("differing result");
        var cmd = new Command("diff-kernels", "Replay one trace on the 6.1 and the 6.12 kernel profiles and print every result that differs")
        {
            trace, machine, json,
        };
        cmd.SetAction(pr => Run(pr.GetValue(trace)!, pr.GetValue(machine), Console.Out, Console.Error, pr.GetValue(json)));
        return cmd;
    }

    internal static int Run(string trace, string? machine, TextWriter stdout, TextWriter stderr, bool json = false)
    {
        if (!File.Exists(trace))
        {
            stderr.WriteLine($"dmabufsim diff-kernels: {trace}: no such file");
            return 2;
        }
        try
        {
            Composition.ParseMachine(machine);
        }
        catch (MachineOptionException ex)
        {
            stderr.WriteLine($"dmabufsim diff-kernels: --machine: {ex.Message}");
            return 2;
        }
        var (rows, on61, on612) = KernelDiff.Compare(trace, machine);
        if (on61.FormatError is not null)
        {
            stderr.WriteLine(on61.FormatError);
            return 2;
        }
        if (json)
        {
            KernelDiff.WriteJson(DataLocator.DisplayName(trace), rows, on61, on612, stdout);
            return 0;
        }
        KernelDiff.Write(DataLocator.DisplayName(trace), rows, on61, on612, stdout);
        return 0;
    }
}
