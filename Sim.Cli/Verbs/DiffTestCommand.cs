using System.CommandLine;
using Sim.RealKernel;
using Sim.RealKernel.DiffTest;

namespace Sim.Cli;

/// <summary>The <c>difftest</c> verb: its options, then <see cref="DiffTestRun"/>.</summary>
internal static class DiffTestCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var seed = Conventions.Number("--seed", "SEED", "random seed", 1, int.MinValue, int.MaxValue);
        var count = Conventions.Number("--count", "N", "number of sequences", 20, 1, 10_000_000);
        var from = Conventions.Number("--from", "INDEX", "run only the sequences from this index on (the draw is the same)", 0, 0, 10_000_000);
        var length = Conventions.Number("--length", "CALLS", "most calls per sequence", 30, 1, 10_000);
        var families = new Option<string>("--families") { Description = "call families: all (every family the booted kernel supports), or a comma list of files,dumb,gem,prime,sync,fence,badinput,heap,udmabuf (heap and udmabuf: --kernel 6.12)", HelpName = "FAMILIES", DefaultValueFactory = _ => "all" };
        var record = Conventions.Text("--record", "FILE", "append every script and the kernel's answer to this JSON-lines file");
        var answers = Conventions.Text("--answers", "FILE", "answer from a recorded set instead of booting QEMU");
        var outDir = Conventions.Text("--out", "FOLDER", "write each minimal differing sequence (the real kernel's trace) into this folder");
        var shrinkBudget = Conventions.Number("--shrink-budget", "N", "most kernel queries per shrink", 200, 0, 1_000_000);
        var fault = new Option<string?>("--fault") { Description = "test-only: break a simulator rule on purpose (bpp-limit)", Hidden = true };
        var json = Conventions.Json("sequence (descriptions go to stderr)");
        var shard = Conventions.Text("--shard", "K/N", "run only part K of N of the sequences: sequence k goes to part k mod N + 1");
        var script = new Option<string[]>("--script") { Description = "run these script files (agent lines: op key=value ...) on both sides instead of drawn sequences, printing each real-kernel trace", HelpName = "FILE", AllowMultipleArgumentsPerToken = true };
        var kernel = CaptureCommand.KernelOption();
        var cmd = new Command("difftest", "Differential test: random call sequences on a real Linux 6.1 or 6.12 kernel (QEMU) and on the simulator")
        {
            seed, count, from, length, families, record, answers, outDir, shrinkBudget, fault, json, shard, script, kernel,
        };
        cmd.SetAction(pr =>
        {
            var part = Sim.Machine.Shard.All;
            if (pr.GetValue(shard) is { } text && !Sim.Machine.Shard.TryParse(text, out part, out string error))
            {
                Console.Error.WriteLine($"dmabufsim difftest: {error}");
                return 2;
            }
            string k = pr.GetValue(kernel) ?? "6.1";
            CallFamilies fams;
            try
            {
                fams = DiffTestRun.ParseFamilies(pr.GetValue(families) ?? "all", k);
            }
            catch (ArgumentException ex)
            {
                Console.Error.WriteLine($"dmabufsim difftest: {ex.Message}");
                return 2;
            }
            return DiffTestRun.Run(new DiffTestRun.Settings
        {
            Kernel = k,
            Seed = pr.GetValue(seed),
            Count = pr.GetValue(count),
            From = pr.GetValue(from),
            Length = pr.GetValue(length),
            Families = fams,
            Record = pr.GetValue(record),
            Answers = pr.GetValue(answers),
            OutDir = pr.GetValue(outDir),
            ShrinkBudget = pr.GetValue(shrinkBudget),
            Fault = pr.GetValue(fault),
            Json = pr.GetValue(json),
            Shard = part,
            Scripts = pr.GetValue(script) ?? [],
        }, Console.Out, Console.Error);
        });
        return cmd;
    }
}
