// The fuzz harness of the trace and vector readers: every input must read cleanly or end as a TraceFormatException
// naming the file and the line (Sim.Reliability.TraceFuzzTarget). Modes:
//   Fuzz                 AFL++ (SharpFuzz out-of-process; run under afl-fuzz after `sharpfuzz Sim.Core.dll`)
//   Fuzz libfuzzer       libFuzzer (SharpFuzz in-process; run under libfuzzer-dotnet)
//   Fuzz replay PATH...  run files or folders (a corpus, AFL's crashes/) through the target and report each
using SharpFuzz;
using Sim.Reliability;

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
