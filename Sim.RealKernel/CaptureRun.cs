
namespace Sim.RealKernel;

/// <summary>
/// <c>dmabufsim capture SCENARIO [--out FILE] [--kernel 6.1|6.12]</c> or <c>dmabufsim capture --program FILE.c</c>: runs
/// a C program on the real Debian Linux 6.1 (default) or 6.12 kernel (QEMU, a fresh vgem device) under the <c>dmabufsim-trace</c> LD_PRELOAD tracer and writes its
/// trace. Named scenarios are the example programs in <c>tools/dmabufsim-trace/examples/</c> (e.g. <c>dumb_prime</c>).
/// Programs are linked dynamically (LD_PRELOAD needs the dynamic loader); the initramfs carries the C library.
/// </summary>
public static class CaptureRun
{
    /// <summary>The named scenarios: the example programs.</summary>
    public static List<string> Scenarios(RealKernelImage image) =>
        [.. Directory.EnumerateFiles(Path.Combine(image.RepoDir, "tools", "dmabufsim-trace", "examples"), "*.c").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)];

    /// <summary>Runs the verb; returns the exit status (the program's own status is reported, not returned).</summary>
    public static int Run(string? scenario, string? program, string? output, TextWriter stdout, TextWriter stderr, GuestSession? guest = null, string kernel = "6.1")
    {
        try
        {
            var image = RealKernelImage.Locate(kernel);
            string source;
            if (program is not null)
            {
                source = Path.GetFullPath(program);
            }
            else if (scenario is not null)
            {
                source = Path.Combine(image.RepoDir, "tools", "dmabufsim-trace", "examples", scenario + ".c");
                if (!File.Exists(source))
                {
                    stderr.WriteLine($"dmabufsim capture: unknown scenario '{scenario}' (known: {string.Join(", ", Scenarios(image))})");
                    return 2;
                }
            }
            else
            {
                stderr.WriteLine($"dmabufsim capture: name a SCENARIO ({string.Join(", ", Scenarios(image))}) or --program FILE.c");
                return 2;
            }
            if (!File.Exists(source))
            {
                stderr.WriteLine($"dmabufsim capture: {source}: no such file");
                return 2;
            }
            var name = Path.GetFileNameWithoutExtension(source);
            GuestSession? owned = null;
            try
            {
                if (guest is null)
                {
                    RealKernelImage.EnsureHostPackages(stdout);
                    image.EnsureKernel(stdout);
                    image.BuildTools(stdout);
                    var binary = image.CompileProgram(source, stdout);
                    image.BuildInitramfs(stdout, [(name, binary)]);
                    owned = guest = GuestSession.Boot(image);
                    stdout.WriteLine($"capture: booted {guest.KernelRelease} in {guest.BootTime.TotalSeconds:F1} s");
                }
                var (status, trace, programOut, programErr) = guest.RunTraced($"/programs/{name}");
                // The program's own output, as it would have printed it: stdout here, stderr on stderr.
                stdout.Write(programOut);
                stderr.Write(programErr);
                var outPath = output ?? $"{name}.jsonl";
                File.WriteAllText(outPath, trace);
                int events = trace.Count(c => c == '\n') - 1;
                stdout.WriteLine($"capture: {name} exited {status}; {Math.Max(0, events)} events written to {outPath}");
                return trace.Length == 0 ? 1 : 0;
            }
            finally
            {
                owned?.Dispose();
            }
        }
        catch (RealKernelException ex)
        {
            stderr.WriteLine($"dmabufsim capture: {ex.Message}");
            return 2;
        }
    }
}
