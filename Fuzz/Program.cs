// The fuzz harness of the trace and vector readers: every input must read cleanly or end as a TraceFormatException
// naming the file and the line (Sim.Reliability.TraceFuzzTarget). And of the `dmabufsim run` protocol decoder:
// every input decodes or is refused with a reason (Sim.Run.RunProtocolFuzzTarget). Modes:
//   Fuzz                 AFL++ (SharpFuzz out-of-process; run under afl-fuzz after `sharpfuzz Sim.Core.dll`)
//   Fuzz libfuzzer       libFuzzer (SharpFuzz in-process; run under libfuzzer-dotnet)
//   Fuzz replay PATH...  run files or folders (a corpus, AFL's crashes/) through the target and report each
//   Fuzz run-protocol [libfuzzer | replay PATH...]   the same for the run protocol (after `sharpfuzz Sim.Run.dll`)
using SharpFuzz;
using Sim.Reliability;
using Sim.Run;

if (args.Length > 0 && args[0] == "run-protocol")
{
    if (args.Length > 1 && args[1] == "replay")
    {
        int found = 0, inputs = 0;
        foreach (var path in args.Skip(2))
        {
            var files = Directory.Exists(path) ? Directory.GetFiles(path, "*", SearchOption.AllDirectories) : [path];
            Array.Sort(files, StringComparer.Ordinal);
            foreach (var f in files)
            {
                inputs++;
                if (RunProtocolFuzzTarget.Check(File.ReadAllBytes(f)) is { } e)
                {
                    found++;
                    Console.WriteLine($"{f}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        Console.WriteLine($"{inputs} inputs, {found} findings");
        return found == 0 ? 0 : 1;
    }
    if (args.Length > 1 && args[1] == "libfuzzer")
    {
        Fuzzer.LibFuzzer.Run(span => RunProtocolFuzzTarget.Run(span));
        return 0;
    }
    Fuzzer.OutOfProcess.Run(stream =>
    {
        using var ms = new MemoryStream();
        stream.CopyTo(ms);
        RunProtocolFuzzTarget.Run(ms.ToArray());
    });
    return 0;
}

if (args.Length > 0 && args[0] == "replay")
{
    int bad = 0, total = 0;
    foreach (var path in args.Skip(1))
    {
        var files = Directory.Exists(path) ? Directory.GetFiles(path, "*", SearchOption.AllDirectories) : [path];
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var f in files)
        {
            total++;
            try
            {
                TraceFuzzTarget.Run(File.ReadAllBytes(f));
            }
            catch (InvalidOperationException e)
            {
                bad++;
                Console.WriteLine($"{f}: {e.Message}");
            }
        }
    }
    Console.WriteLine($"{total} inputs, {bad} escaped as other exceptions");
    return bad == 0 ? 0 : 1;
}

if (args.Length > 0 && args[0] == "libfuzzer")
{
    Fuzzer.LibFuzzer.Run(span => TraceFuzzTarget.Run(span));
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var ms = new MemoryStream();
    stream.CopyTo(ms);
    TraceFuzzTarget.Run(ms.ToArray());
});
return 0;
