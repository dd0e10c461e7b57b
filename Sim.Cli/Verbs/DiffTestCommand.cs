using System.CommandLine;
using Sim.RealKernel;

namespace Sim.Cli;

/// <summary>The <c>difftest</c> verb: its options, then <see cref="DiffTestRun"/>.</summary>
internal static class DiffTestCommand
{
    /// <summary>Builds the verb.</summary>
    internal static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "random seed", DefaultValueFactory = _ => 1 };
        var count = new Option<int>("--count") { Description = "number of sequences", DefaultValueFactory = _ => 20 };
        var from = new Option<int>("--from") { Description = "run only the sequences from this index on (the draw is the same)", DefaultValueFactory = _ => 0 };
        var length = new Option<int>("--length") { Description = "most calls per sequence", DefaultValueFactory = _ => 30 };
        var families = new Option<string>("--families") { Description = "call families: all, or a comma list of files,dumb,gem,prime,sync,fence", DefaultValueFactory = _ => "all" };
        var record = new Option<string?>("--record") { Description = "append every script and the kernel's answer to this JSON-lines file" };
        var answers = new Option<string?>("--answers") { Description = "answer from a recorded set instead of booting QEMU" };
        var outDir = new Option<string?>("--out") { Description = "write each minimal differing sequence (the real kernel's trace) into this folder" };
        var shrinkBudget = new Option<int>("--shrink-budget") { Description = "most kernel queries per shrink", DefaultValueFactory = _ => 200 };
        var fault = new Option<string?>("--fault") { Description = "test-only: break a simulator rule on purpose (bpp-limit)", Hidden = true };
        var cmd = new Command("difftest", "Differential test: random call sequences on a real Linux 6.1 kernel (QEMU) and on the simulator")
        {
            seed, count, from, length, families, record, answers, outDir, shrinkBudget, fault,
        };
        cmd.SetAction(pr => DiffTestRun.Run(new DiffTestRun.Settings
        {
            Seed = pr.GetValue(seed),
            Count = pr.GetValue(count),
            From = pr.GetValue(from),
            Length = pr.GetValue(length),
            Families = DiffTestRun.ParseFamilies(pr.GetValue(families) ?? "all"),
            Record = pr.GetValue(record),
            Answers = pr.GetValue(answers),
            OutDir = pr.GetValue(outDir),
            ShrinkBudget = pr.GetValue(shrinkBudget),
            Fault = pr.GetValue(fault),
        }, Console.Out, Console.Error));
        return cmd;
    }
}
