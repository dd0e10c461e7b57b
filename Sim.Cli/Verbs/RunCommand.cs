using System.CommandLine;
using Sim.Run;

namespace Sim.Cli;

/// <summary>The <c>run</c> verb: its options, then <see cref="RunHost"/>.</summary>
internal static class RunCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var machine = Conventions.Machine("the run's machine (x86_64, 1 GiB, dma-direct, vgem, sw_sync)", "kvmfr kvmfr.static_size_mb=1,1");
        var timeout = new Option<double?>("--timeout") { Description = "wall-clock limit in seconds (the program is killed, status 124) [default: none]", HelpName = "SECONDS" };
        var check = new Option<bool>("--check") { Description = "report leaks (what only the exit released), WARNs, misuses and failed calls, each with the program's backtrace, at every process exit; status 99 when anything but notes was found" };
        var trace = Conventions.OutputFile("--trace", "write what the program and its child processes did as a trace (format version 2, as capture writes on the real kernel): replay, diff and show read it");
        var program = new Argument<string[]>("PROGRAM") { Description = "-- PROGRAM [ARGS...]", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("run", "Run a real, dynamically linked program with the simulated kernel as its kernel (DRM, dma-buf, sync_file, kvmfr devices; real shared memory)")
        {
            machine, check, trace, timeout, program,
        };
        cmd.SetAction(pr =>
        {
            var argv = pr.GetValue(program)!;
            try
            {
                return RunHost.Run(new RunOptions
                {
                    Machine = pr.GetValue(machine),
                    TimeoutSeconds = pr.GetValue(timeout),
                    Check = pr.GetValue(check),
                    Trace = pr.GetValue(trace),
                    Program = argv[0],
                    Arguments = argv[1..],
                }, Console.Error);
            }
            catch (RunException e)
            {
                Console.Error.WriteLine(e.Message);
                return 2;
            }
        });
        return cmd;
    }
}
