using System.Diagnostics;
using System.Globalization;
using Sim.RealKernel.DiffTest;

namespace Sim.RealKernel;

/// <summary>
/// <c>dmabufsim realkernel [--prepare-only] [--mem MIB] [--capture NAME --capture-out FILE] [--difftest-count N ...]
/// [--fault-check] [--kernel 6.1|6.12]</c>: prepares a genuine Debian Linux 6.1 or 6.12 (kernel package, modules, busybox, the guest agent, an
/// initramfs), boots it once under QEMU (TCG), runs a smoke script through the agent and reports the boot time; then,
/// in the same boot, optionally records an example program under the tracer, runs a differential campaign and checks
/// that a deliberately broken simulator rule is found, and runs the kernel's own selftests (<c>--selftests</c>). Prints one <c>check NAME: ok|FAILED</c> line per check.
/// </summary>
public static class RealKernelRun
{
    /// <summary>What the verb does.</summary>
    public sealed class Options
    {
        /// <summary>Prepare only.</summary>
        public bool PrepareOnly { get; init; }

        /// <summary>Guest RAM.</summary>
        public int MemMib { get; init; } = 512;

        /// <summary>Example program to record, or null.</summary>
        public string? Capture { get; init; }

        /// <summary>Its trace file.</summary>
        public string? CaptureOut { get; init; }

        /// <summary>A C program (any path) to record under the tracer too, or null.</summary>
        public string? Program { get; init; }

        /// <summary>Its trace file (its stdout goes beside it, <c>FILE.stdout</c>).</summary>
        public string? ProgramOut { get; init; }

        /// <summary>Campaign sequences (0: none).</summary>
        public int DiffTestCount { get; init; }

        /// <summary>Campaign seed.</summary>
        public int DiffTestSeed { get; init; } = 1;

        /// <summary>Most calls per sequence.</summary>
        public int DiffTestLength { get; init; } = 30;

        /// <summary>Calls the campaign must reach.</summary>
        public int DiffTestMinCalls { get; init; }

        /// <summary>Campaign families.</summary>
        public string Families { get; init; } = "all";

        /// <summary>The kernel booted: <c>6.1</c> (default) or <c>6.12</c>.</summary>
        public string Kernel { get; init; } = "6.1";

        /// <summary>Run the fault check.</summary>
        public bool FaultCheck { get; init; }

        /// <summary>Run the kernel's selftests of the features this kernel builds (<see cref="GuestSelftests"/>).</summary>
        public bool Selftests { get; init; }
        /// <summary>
        /// <c>--family-campaigns LIST</c>: after the main campaign, a short campaign of each of these families alone
        /// (<see cref="FamilyCampaignCount"/> sequences, same seed), each its own check <c>difftest-FAMILY</c>.
        /// </summary>
        public string FamilyCampaigns { get; init; } = "";

        /// <summary>Sequences of each family campaign.</summary>
        public int FamilyCampaignCount { get; init; } = 20;
    }

    /// <summary>The smoke script: open card0, VERSION, one dumb buffer, close.</summary>
    public static readonly string[] SmokeScript =
    [
        "openat path=/dev/dri/card0 flags=524290",
        "DRM_IOCTL_VERSION on=4 name_len=63 date_len=63 desc_len=255",
        "DRM_IOCTL_MODE_CREATE_DUMB on=4 height=64 width=64 bpp=32",
        "close fd=4",
    ];

    /// <summary>Runs the verb; returns 0 when every check passed, 1 when one failed, 2 when the kernel could not run.</summary>
    public static int Run(Options o, TextWriter stdout, TextWriter stderr)
    {
        int failed = 0;
        void Check(string name, bool ok, string detail)
        {
            stdout.WriteLine(ok ? $"check {name}: ok ({detail})" : $"check {name}: FAILED ({detail})");
            if (!ok)
            {
                failed++;
            }
        }
        try
        {
            var sw = Stopwatch.StartNew();
            var image = RealKernelImage.Locate(o.Kernel);
            RealKernelImage.EnsureHostPackages(stdout);
            image.EnsureKernel(stdout);
            image.BuildTools(stdout);
            var programs = new List<(string, string)>();
            if (o.Capture is not null)
            {
                var src = Path.Combine(image.RepoDir, "tools", "dmabufsim-trace", "examples", o.Capture + ".c");
                if (!File.Exists(src))
                {
                    throw new RealKernelException($"{src}: no such example program");
                }
                programs.Add((o.Capture, image.CompileProgram(src, stdout)));
            }
            if (o.Selftests)
            {
                programs.AddRange(GuestSelftests.Build(image, o.Kernel, stdout));
            }
            string? programName = null;
            if (o.Program is not null)
            {
                var src = Path.GetFullPath(o.Program);
                if (!File.Exists(src))
                {
                    throw new RealKernelException($"{src}: no such program");
                }
                programName = Path.GetFileNameWithoutExtension(src);
                programs.Add((programName, image.CompileProgram(src, stdout)));
            }
            image.BuildInitramfs(stdout, programs);
            stdout.WriteLine($"realkernel: prepared {image.KernelPackage} in {sw.Elapsed.TotalSeconds:F1} s (cache {image.CacheDir})");
            if (o.PrepareOnly)
            {
                return 0;
            }
            using var guest = GuestSession.Boot(image, o.MemMib);
            stdout.WriteLine($"realkernel: booted {guest.KernelRelease} in {guest.BootTime.TotalSeconds:F1} s (QEMU TCG, {o.MemMib} MiB)");
            var t = Stopwatch.StartNew();
            var answer = guest.RunScript("smoke", SmokeScript);
            stdout.Write(answer.Trace);
            Check("boot", answer.Events == SmokeScript.Length && answer.RmmodResult == 0 && answer.Trace.Contains("\"name\":\"vgem\"", StringComparison.Ordinal),
                string.Create(CultureInfo.InvariantCulture, $"{guest.KernelRelease}, boot {guest.BootTime.TotalSeconds:F1} s, smoke script {answer.Events} calls in {t.Elapsed.TotalMilliseconds:F0} ms"));
            if (o.Capture is not null)
            {
                var (status, trace, _, _) = guest.RunTraced($"/programs/{o.Capture}");
                var outPath = o.CaptureOut ?? $"{o.Capture}.jsonl";
                File.WriteAllText(outPath, trace);
                int events = Math.Max(0, trace.Count(c => c == '\n') - 1);
                Check("capture", status == 0 && events > 0, $"{o.Capture} exited {status}, {events} events in {outPath}");
            }
            if (programName is not null)
            {
                var run = guest.RunTraced($"/programs/{programName}");
                var outPath = o.ProgramOut ?? $"{programName}.jsonl";
                File.WriteAllText(outPath, run.Trace);
                File.WriteAllText(outPath + ".stdout", run.Stdout);
                int events = Math.Max(0, run.Trace.Count(c => c == '\n') - 1);
                Check("program-capture", run.Status == 0 && events > 0, $"{programName} exited {run.Status}, {events} events in {outPath}");
            }
            if (o.DiffTestCount > 0)
            {
                var settings = new DiffTestRun.Settings
                {
                    Seed = o.DiffTestSeed,
                    Count = o.DiffTestCount,
                    Length = o.DiffTestLength,
                    Families = DiffTestRun.ParseFamilies(o.Families, o.Kernel),
                    Kernel = o.Kernel,
                    Guest = guest,
                };
                var d = Stopwatch.StartNew();
                var r = DiffTestRun.Campaign(settings, new GuestOracle(guest), stdout);
                Check("difftest", r.Differences == 0 && r.Calls >= o.DiffTestMinCalls,
                    string.Create(CultureInfo.InvariantCulture, $"{r.Sequences} sequences, {r.Calls} calls, {r.Differences} differences, {r.Calls / Math.Max(1e-9, d.Elapsed.TotalSeconds):F0} calls/s"));
            }
            foreach (var family in o.FamilyCampaigns.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var settings = new DiffTestRun.Settings
                {
                    Seed = o.DiffTestSeed,
                    Count = o.FamilyCampaignCount,
                    Length = o.DiffTestLength,
                    Families = DiffTestRun.ParseFamilies(family, o.Kernel),
                    Kernel = o.Kernel,
                    Guest = guest,
                };
                var d = Stopwatch.StartNew();
                var r = DiffTestRun.Campaign(settings, new GuestOracle(guest), stdout);
                Check("difftest-" + family, r.Differences == 0 && r.Sequences == o.FamilyCampaignCount,
                    string.Create(CultureInfo.InvariantCulture, $"--families {family} --seed {o.DiffTestSeed}: {r.Sequences} sequences, {r.Calls} calls, {r.Differences} differences, {d.Elapsed.TotalSeconds:F0} s"));
            }
            if (o.FaultCheck)
            {
                // seed 1, sequence 141 of the dumb family draws a bpp above U32_MAX - 8 (the same sequence as the
                // recorded answer set of Sim.Tests/Cli/DiffTestTests)
                var settings = new DiffTestRun.Settings { Seed = 1, From = 141, Count = 142, Length = 10, Families = CallFamilies.Dumb, ShrinkBudget = 30, Fault = "bpp-limit" };
                var r = DiffTestRun.Campaign(settings, new GuestOracle(guest), TextWriter.Null);
                int shortest = r.Minimal.Count == 0 ? 0 : r.Minimal.Min(m => m.Comparison.Lines.Count);
                Check("fault-found", r.Differences > 0 && r.Minimal.Count > 0 && r.Minimal.All(m => m.Comparison.Lines.Count <= 3),
                    $"broken bpp-limit rule: {r.Differences} difference(s), shrunk to {shortest} call(s)");
            }
            if (o.Selftests)
            {
                GuestSelftests.Run(guest, o.Kernel, Check, stdout);
            }
            stdout.WriteLine($"realkernel: {guest.ScriptsRun} scripts in one boot, {sw.Elapsed.TotalSeconds:F1} s in all");
            return failed == 0 ? 0 : 1;
        }
        catch (RealKernelException ex)
        {
            stderr.WriteLine($"dmabufsim realkernel: {ex.Message}");
            return 2;
        }
    }
}
