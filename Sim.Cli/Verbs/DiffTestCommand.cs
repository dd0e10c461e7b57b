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
        var families = new Option<string>("--families") { Description = "call families: all, or a comma list of files,dumb,gem,prime,sync,fence,badinput", DefaultValueFactory = _ => "all" };
        var record = new Option<string?>("--record") { Description = "append every script and the kernel's answer to this JSON-lines file" };
        var answers = new Option<string?>("--answers") { Description = "answer from a recorded set instead of booting QEMU" };
        var outDir = new Option<string?>("--out") { Description = "write each minimal differing sequence (the real kernel's trace) into this folder" };
        var shrinkBudget = new Option<int>("--shrink-budget") { Description = "most kernel queries per shrink", DefaultValueFactory = _ => 200 };
        var fault = new Option<string?>("--fault") { Description = "test-only: break a simulator rule on purpose (bpp-limit)", Hidden = true };
        var json = new Option<bool>("--json") { Description = "one JSON object per sequence, then the closing line (descriptions go to stderr)" };
        var shard = new Option<string?>("--shard") { Description = "run only part K of N of the sequences (K/N): sequence k goes to part k mod N + 1" };
        var script = new Option<string[]>("--script") { Description = "run these script files (agent lines: op key=value ...) on both sides instead of drawn sequences, printing each real-kernel trace", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("difftest", "Differential test: random call sequences on a real Linux 6.1 kernel (QEMU) and on the simulator")
        {
            seed, count, from, length, families, record, answers, outDir, shrinkBudget, fault, json, shard, script,
        };
        cmd.SetAction(pr =>
        {
            var part = Sim.Machine.Shard.All;
            if (pr.GetValue(shard) is { } text && !Sim.Machine.Shard.TryParse(text, out part, out string error))
            {
                Console.Error.WriteLine($"dmabufsim difftest: {error}");
                return 2;
            }
            return DiffTestRun.Run(new DiffTestRun.Settings
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
            Json = pr.GetValue(json),
            Shard = part,
            Scripts = pr.GetValue(script) ?? [],
        }, Console.Out, Console.Error);
        });
        return cmd;
    }
}
