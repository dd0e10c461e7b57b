using System.Diagnostics;
using System.Globalization;
using Sim.Core.Boot;
using Sim.RealKernel.DiffTest;

namespace Sim.RealKernel;

/// <summary>
/// <c>dmabufsim difftest [--kernel 6.1|6.12] --seed S --count N</c>: random call sequences (FsCheck generators) run on a
/// genuine Debian Linux 6.1 or 6.12 (the <c>realkernel</c> guest agent, one boot) and on the simulator (replay of the kernel's answer), compared result
/// for result; a differing sequence is shrunk to a minimal one and printed as a trace. Ends with
/// <c>N sequences, C calls, D differences</c>; exit 0 only when D is 0.
/// </summary>
public static class DiffTestRun
{
    /// <summary>The options of one campaign.</summary>
    public sealed class Settings
    {
        /// <summary>Random seed.</summary>
        public int Seed { get; init; } = 1;

        /// <summary>Sequences.</summary>
        public int Count { get; init; } = 20;

        /// <summary>First sequence index run (the ones before it are drawn but not run).</summary>
        public int From { get; init; }

        /// <summary>Most calls per sequence.</summary>
        public int Length { get; init; } = 30;

        /// <summary>The real kernel booted: <c>6.1</c> (default) or <c>6.12</c>.</summary>
        public string Kernel { get; init; } = "6.1";

        /// <summary>Families drawn from.</summary>
        public CallFamilies Families { get; init; } = CallFamilies.All;

        /// <summary>Record file, or null.</summary>
        public string? Record { get; init; }

        /// <summary>Recorded answers to use instead of QEMU, or null.</summary>
        public string? Answers { get; init; }

        /// <summary>Folder for minimal traces, or null.</summary>
        public string? OutDir { get; init; }

        /// <summary>Queries per shrink.</summary>
        public int ShrinkBudget { get; init; } = 200;

        /// <summary>Test-only: the <see cref="Mutations"/> name the simulator's machines are built with, or null.</summary>
        public string? Fault { get; init; }

        /// <summary>An already booted guest to use (the CI step shares one boot), or null.</summary>
        public GuestSession? Guest { get; init; }

        /// <summary>Run only this part of the sequences (<c>--shard K/N</c>: sequence k when k mod N = K - 1).</summary>
        public Sim.Machine.Shard Shard { get; init; } = Sim.Machine.Shard.All;

        /// <summary>
        /// <c>--script FILE</c>: run these scripts (agent lines <c>op key=value ...</c>, one call per line, <c>#</c>
        /// comments; <c>mapping=K</c> names the K-th mmap of the script, from 0) instead of drawn sequences, and
        /// print each one's real-kernel trace.
        /// </summary>
        public IReadOnlyList<string> Scripts { get; init; } = [];

        /// <summary><c>--json</c>: one object per sequence run on stdout, then the closing line; the rest goes to stderr.</summary>
        public bool Json { get; init; }
    }

    /// <summary>
    /// Parses <c>all</c> (every family <paramref name="kernel"/> supports: 6.12 adds <c>heap</c> and <c>udmabuf</c>,
    /// which Debian's 6.1 does not build) or a comma list of family names.
    /// </summary>
    public static CallFamilies ParseFamilies(string text, string kernel = "6.1")
    {
        var f = CallFamilies.None;
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (part.Equals("all", StringComparison.OrdinalIgnoreCase))
            {
                f |= kernel == "6.12" ? CallFamilies.All612 : CallFamilies.All;
                continue;
            }
            f |= Enum.TryParse<CallFamilies>(part, ignoreCase: true, out var one) && one != CallFamilies.All612 && Enum.IsDefined(one)
                ? one
                : throw new ArgumentException($"unknown call family '{part}' (all, files, dumb, gem, prime, sync, fence, badinput, heap, udmabuf)");
        }
        if (kernel != "6.12" && (f & (CallFamilies.Heap | CallFamilies.Udmabuf)) != 0)
        {
            throw new ArgumentException("families heap and udmabuf need --kernel 6.12 (Debian's 6.1 builds neither the DMA-BUF heaps nor udmabuf)");
        }
        return f;
    }

    /// <summary>
    /// Which guest a campaign of <paramref name="families"/> boots and what it draws, e.g. <c>families files, dumb, ...
    /// on one guest: Debian Linux 6.1 under QEMU -machine pc (TCG) with vgem reloaded per sequence</c>. Every family
    /// of today runs on that one guest (<c>all</c> boots only it).
    /// </summary>
    public static string GuestDescription(CallFamilies families, string kernel)
    {
        var names = Enum.GetValues<CallFamilies>()
            .Where(f => f != CallFamilies.None && f != CallFamilies.All && f != CallFamilies.All612 && families.HasFlag(f))
            .Select(f => f.ToString().ToLowerInvariant());
        return $"families {string.Join(", ", names)} on one guest: Debian Linux {kernel} under QEMU -machine pc (TCG) with vgem reloaded per sequence";
    }

    /// <summary>Runs a campaign; returns the exit status (0 = no difference, 1 = differences, 2 = could not run).</summary>
    public static int Run(Settings s, TextWriter stdout, TextWriter stderr)
    {
        GuestSession? owned = null;
        StreamWriter? recordWriter = null;
        try
        {
            IKernelOracle oracle;
            if (s.Answers is not null)
            {
                oracle = new RecordedOracle(s.Answers);
            }
            else
            {
                var guest = s.Guest;
                if (guest is null)
                {
                    var image = RealKernelImage.Locate(s.Kernel);
                    var prose = s.Json ? stderr : stdout;
                    image.Prepare(prose);
                    owned = guest = GuestSession.Boot(image);
                    prose.WriteLine($"difftest: booted {guest.KernelRelease} in {guest.BootTime.TotalSeconds:F1} s");
                    prose.WriteLine($"difftest: {GuestDescription(s.Families, s.Kernel)}");
                }
                oracle = new GuestOracle(guest);
            }
            if (s.Record is not null)
            {
                recordWriter = new StreamWriter(s.Record, append: true);
                oracle = new RecordingOracle(oracle, recordWriter);
            }
            return Campaign(s, oracle, stdout, s.Json ? stderr : null).Differences == 0 ? 0 : 1;
        }
        catch (RealKernelException ex)
        {
            stderr.WriteLine($"dmabufsim difftest: {ex.Message}");
            return 2;
        }
        catch (ArgumentException ex)
        {
            stderr.WriteLine($"dmabufsim difftest: {ex.Message}");
            return 2;
        }
        finally
        {
            recordWriter?.Dispose();
            owned?.Dispose();
        }
    }

    /// <summary>What a campaign found.</summary>
    /// <param name="Sequences">Sequences run.</param>
    /// <param name="Calls">Calls of those sequences (shrinking not counted).</param>
    /// <param name="Differences">Differing results.</param>
    /// <param name="Minimal">Each differing sequence shrunk, with its comparison.</param>
    public sealed record CampaignResult(int Sequences, long Calls, long Differences, List<(Call[] Sequence, Comparison Comparison)> Minimal);

    /// <summary>
    /// The campaign proper, on any oracle; prints as it goes and ends with the closing line. With
    /// <see cref="Settings.Json"/> stdout gets one object per sequence and the closing line, and the descriptions go
    /// to <paramref name="prose"/> (none when null).
    /// </summary>
    public static CampaignResult Campaign(Settings s, IKernelOracle oracle, TextWriter stdout, TextWriter? prose = null)
    {
        ArgumentNullException.ThrowIfNull(s);
        var text = s.Json ? prose ?? TextWriter.Null : stdout;
        var minimal = new List<(Call[], Comparison)>();
        var work = Path.Combine(Path.GetTempPath(), $"dmabufsim-difftest-{Environment.ProcessId}");
        var mutations = s.Fault is null ? Mutations.None : Mutations.Parse(s.Fault);
        var runner = new DiffRunner(oracle, work) { ShrinkBudget = s.ShrinkBudget, Mutations = mutations };
        var seqs = s.Scripts.Count > 0 ? s.Scripts.Select(ParseScript).ToArray() : CallGen.Draw(s.Families, s.Length, s.Seed, s.Count);
        var sw = Stopwatch.StartNew();
        long differences = 0, skipped = 0, calls = 0;
        int run = 0, differing = 0;
        for (int k = Math.Max(0, s.From); k < seqs.Length; k++)
        {
            if (!s.Shard.Contains(k))
            {
                continue;
            }
            var name = s.Scripts.Count > 0 ? Path.GetFileNameWithoutExtension(s.Scripts[k]) : $"seed{s.Seed}-seq{k}";
            var cmp = runner.Compare(seqs[k], name);
            run++;
            if (s.Scripts.Count > 0)
            {
                text.WriteLine($"difftest: {name}: the real kernel's trace:");
                text.Write(cmp.Trace);
            }
            calls += cmp.Lines.Count;
            skipped += cmp.Replay.Totals.Skipped;
            int shrunkTo = 0;
            if (cmp.Differences != 0)
            {
                differences += cmp.Differences;
                differing++;
                text.WriteLine($"difftest: {name}: {cmp.Differences} difference(s) in {cmp.Lines.Count} calls");
                text.Write(DiffRunner.Describe(cmp));
                var (min, minCmp) = runner.Shrink(seqs[k], cmp, name);
                shrunkTo = minCmp.Lines.Count;
                text.WriteLine($"difftest: {name}: shrunk to {minCmp.Lines.Count} call(s) ({runner.Queries} kernel queries so far); the real kernel's trace:");
                text.Write(minCmp.Trace);
                text.Write(DiffRunner.Describe(minCmp));
                if (s.OutDir is not null)
                {
                    Directory.CreateDirectory(s.OutDir);
                    var file = Path.Combine(s.OutDir, $"difftest-{name}.jsonl");
                    File.WriteAllText(file, minCmp.Trace);
                    text.WriteLine($"difftest: wrote {file}");
                }
                minimal.Add((min, minCmp));
            }
            if (s.Json)
            {
                stdout.WriteLine(JsonLine(name, cmp.Lines.Count, cmp.Differences, cmp.Replay.Totals.Skipped, shrunkTo));
            }
        }
        var secs = Math.Max(1e-9, sw.Elapsed.TotalSeconds);
        text.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"difftest: {runner.Queries} scripts, {calls} calls in {sw.Elapsed.TotalSeconds:F1} s ({calls / secs:F0} calls/s incl. shrinking), {skipped} results not modelled (skipped)"));
        stdout.WriteLine(s.Json
            ? Sim.Machine.VerbConventions.JsonSummary(run - differing, differing, 0, w =>
            {
                w.WriteNumber("sequences", run);
                w.WriteNumber("calls", calls);
                w.WriteNumber("differences", differences);
                w.WriteNumber("seed", s.Seed);
            })
            : $"{run} sequences, {calls} calls, {differences} differences");
        return new CampaignResult(run, calls, differences, minimal);
    }

    /// <summary>
    /// Reads a script file: one call per line in the agent's syntax (<c>op key=value ...</c>), blank lines and
    /// <c>#</c> comments skipped; <c>mapping=K</c> acts on the K-th mmap of the script.
    /// </summary>
    public static Call[] ParseScript(string path)
    {
        var calls = new List<Call>();
        int lineNo = 0;
        foreach (var raw in File.ReadLines(path))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var args = new List<KeyValuePair<string, string>>();
            int pick = -1;
            foreach (var kv in parts.Skip(1))
            {
                int eq = kv.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    throw new ArgumentException($"{path}:{lineNo}: expected key=value, got '{kv}'");
                }
                string key = kv[..eq], value = kv[(eq + 1)..];
                if (key == "mapping")
                {
                    pick = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int m)
                        ? m
                        : throw new ArgumentException($"{path}:{lineNo}: mapping={value}: expected the index of an earlier mmap (0, 1, ...)");
                    continue;
                }
                args.Add(new(key, value));
            }
            calls.Add(new Call(parts[0], args, pick));
        }
        return calls.Count > 0 ? [.. calls] : throw new ArgumentException($"{path}: no calls");
    }

    // {"case":"seed1-seq3","calls":n,"differences":d,"skipped":s,"shrunk_calls":m}
    private static string JsonLine(string name, long calls, long differences, long skipped, int shrunkTo)
    {
        using var ms = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("case", name);
            w.WriteNumber("calls", calls);
            w.WriteNumber("differences", differences);
            w.WriteNumber("skipped", skipped);
            w.WriteNumber("shrunk_calls", shrunkTo);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }
}
