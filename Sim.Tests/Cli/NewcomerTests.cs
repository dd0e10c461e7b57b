using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sim.Core.Boot;
using Sim.Machine;
using Sim.Reliability;
using Sim.Teaching;
using Xunit;

namespace Sim.Tests.Cli;

/// <summary>
/// Issue 20, a newcomer's first hour: no silent success, no wrong numbers, one convention for every verb. The verbs run
/// in-process (their library entry points) or as the built <c>dmabufsim</c> program (what the command line parser
/// decides: unknown verbs and options, number ranges, help text), and each test checks the exit status and the message.
/// </summary>
public sealed partial class NewcomerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dmabufsim-newcomer").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string DataDir = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");

    private string Write(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    private static (int Code, string Out, string Err) Replay(bool json, params string[] paths)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ReplayRun.Run(paths, json, verbose: false, allowSkipped: false, machine: null, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static (int Code, string Out, string Err) Tour(string? machine, string? html = null, bool json = false)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = TourRun.Run(machine, html, false, TerminalView.Plain(o), new StringReader(""), e, json ? o : null);
        return (code, o.ToString(), e.ToString());
    }

    // ---- the built program, for what the command line parser decides ----------------------------------------------

    private static readonly Lazy<string> Program = new(FindProgram);

    // Sim.Cli/bin/<configuration>/net10.0/dmabufsim.dll beside this test assembly's configuration; built when missing
    // (dotnet test of the solution builds it first; dotnet test Sim.Tests alone does not).
    private static string FindProgram()
    {
        var testBin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Simulator.sln")))
        {
            root = root.Parent;
        }
        Assert.NotNull(root);
        string dll = Path.Combine(root!.FullName, "Sim.Cli", "bin", configuration, testBin.Name, "dmabufsim.dll");
        if (!File.Exists(dll))
        {
            var build = Process.Start(new ProcessStartInfo("dotnet", $"build \"{Path.Combine(root.FullName, "Sim.Cli")}\" -c {configuration} --nologo -v q")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            build.StandardOutput.ReadToEnd();
            build.WaitForExit();
        }
        Assert.True(File.Exists(dll), $"{dll} not found: build Sim.Cli");
        return dll;
    }

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, WorkingDirectory = DataDir };
        psi.ArgumentList.Add(Program.Value);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment.Remove("COLUMNS");
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(120_000), "dmabufsim " + string.Join(' ', args) + " did not finish");
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    // ---- never succeed on nothing, never accept nonsense ---------------------------------------------------------

    [Fact]
    public void Replay_of_a_folder_without_traces_says_so_and_exits_2()
    {
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "docs")).FullName;
        File.WriteAllText(Path.Combine(empty, "README.md"), "# not a trace\n");
        var (code, stdout, err) = Replay(false, empty);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("dmabufsim replay: no *.jsonl trace or vector file in ", err, StringComparison.Ordinal);
    }

    [Fact]
    public void A_header_only_file_is_said_in_one_line_and_counted_as_a_file()
    {
        var header = Write("header-only.jsonl", "{\"format\":\"dmabuf-trace\",\"version\":1}\n");
        var (code, stdout, err) = Replay(false, header);
        Assert.Equal(2, code); // nothing at all was replayed
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains("header-only.jsonl: a header and no events", StringComparison.Ordinal));
        Assert.Contains("header-only.jsonl", stdout, StringComparison.Ordinal);
        // Beside a file with events, it is a row of the table and a note, and the run passes.
        var prime = Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "prime.jsonl");
        var (code2, stdout2, err2) = Replay(true, header, prime);
        Assert.Equal(0, code2);
        Assert.Contains("a header and no events", err2, StringComparison.Ordinal);
        var lines = stdout2.TrimEnd('\n').Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal(2, JsonDocument.Parse(lines[^1]).RootElement.GetProperty("files").GetInt32());
    }

    [Theory]
    [InlineData("stress", "--ops", "-5", "dmabufsim stress: --ops -5: expected a whole number from 1 to 1000000000000")]
    [InlineData("sweep", "--budget-seconds", "-1", "dmabufsim sweep: --budget-seconds -1: expected a whole number from 1 to 604800")]
    [InlineData("replay", "--jobs", "0", "dmabufsim replay: --jobs 0: expected a whole number from 1 to 1024")]
    [InlineData("difftest", "--count", "-3", "dmabufsim difftest: --count -3: expected a whole number from 1 to 10000000")]
    [InlineData("show", "--at", "-1", "dmabufsim show: --at -1: expected a whole number of at least 0")]
    [InlineData("importer-test", "--width", "abc", "dmabufsim importer-test: --width abc: expected a whole number from 0 to 4294967295")]
    [InlineData("importer-test", "--bpp", "99999999999", "dmabufsim importer-test: --bpp 99999999999: expected a whole number from 0 to 4294967295")]
    public void Out_of_range_and_unconvertible_numbers_are_usage_errors_naming_the_option_and_range(string verb, string option, string value, string message)
    {
        string[] args = verb == "show" ? [verb, "traces/linux-6.1-cma-arm/prime.jsonl", option, value] : [verb, option, value];
        var (code, stdout, err) = Cli(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal(message, err.TrimEnd('\n'));
        Assert.DoesNotContain("System.", err, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_of_range_numbers_are_refused_by_the_libraries_too()
    {
        Assert.Equal(2, StressRun.Run(-5, 1, TextWriter.Null));
        Assert.Equal(2, SweepRun.Run(false, 1, -1, false, TextWriter.Null));
    }

    [Fact]
    public void A_cma_area_larger_than_memory_is_refused_with_the_kernels_reason()
    {
        // mm/cma.c, cma_declare_contiguous_nid: limit = memblock_end_of_DRAM() (1 GiB); base + size > limit ->
        // pr_err("Size (%pa) of region at %pa exceeds limit (%pa)"), then "Failed to reserve %ld MiB", -EINVAL.
        var (code, _, err) = Tour("board=pc cma=2G vgem");
        Assert.Equal(2, code);
        Assert.Contains("dmabufsim tour: --machine: cma=2048M: Linux cannot reserve a 2048 MiB CMA area in 1024 MiB of RAM", err, StringComparison.Ordinal);
        Assert.Contains("cma: Size (0x0000000080000000) of region at 0x0000000000000000 exceeds limit (0x0000000040000000)", err, StringComparison.Ordinal);
        Assert.Contains("cma: Failed to reserve 2048 MiB", err, StringComparison.Ordinal);
        // On the board (512 MiB), the same request finds no room: -ENOMEM.
        var (code2, _, err2) = Tour("cma=2G");
        Assert.Equal(2, code2);
        Assert.Contains("Failed to reserve 2048 MiB", err2, StringComparison.Ordinal);
        Assert.Throws<MachineOptionException>(() => Composition.ParseMachine("mem=1G cma=1G"));
        Assert.Equal(16UL << 20, Composition.ParseMachine("mem=1G cma=16M").CmaBytes);
    }

    [Fact]
    public void An_unknown_option_is_not_taken_as_a_path_and_gets_a_suggestion()
    {
        var (code, stdout, err) = Cli("replay", "--jsn");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Equal("dmabufsim replay: unknown option '--jsn' (did you mean --json?); see dmabufsim replay --help", err.TrimEnd('\n'));
        var (code2, _, err2) = Cli("stress", "--sed", "3");
        Assert.Equal(2, code2);
        Assert.StartsWith("dmabufsim stress: unknown option '--sed' (did you mean --seed?)", err2, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_verb_gets_a_suggestion_and_the_list_of_verbs()
    {
        var (code, _, err) = Cli("replya");
        Assert.Equal(2, code);
        var lines = err.TrimEnd('\n').Split('\n');
        Assert.Equal("dmabufsim: unknown verb 'replya' (did you mean replay?)", lines[0]);
        foreach (var verb in new[] { "replay", "tour", "show", "importer-test", "kvmfr-test", "stress", "sweep", "difftest", "capture", "realkernel", "diff-kernels" })
        {
            Assert.Contains(lines, l => l.StartsWith($"  {verb} ", StringComparison.Ordinal));
        }
        var (code2, _, err2) = Cli();
        Assert.Equal(2, code2);
        Assert.StartsWith("dmabufsim: no verb given", err2, StringComparison.Ordinal);
        Assert.Contains("  replay ", err2, StringComparison.Ordinal);
    }

    [Fact]
    public void A_binary_or_non_json_file_is_named_in_the_projects_words_and_counted_as_failed()
    {
        var binary = Path.Combine(_dir, "binary.jsonl");
        File.WriteAllBytes(binary, [0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, (byte)'\n']);
        var text = Write("prose.jsonl", "hello, I am not a trace\n");
        var (code, stdout, err) = Replay(false, binary);
        Assert.Equal(2, code);
        Assert.Contains("binary.jsonl:1: bad JSON: binary data where a JSON object was expected", err, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", err, StringComparison.Ordinal);
        Assert.DoesNotContain("BytePositionInLine", err, StringComparison.Ordinal);
        Assert.Equal("0 passed, 1 failed, 0 skipped", stdout.TrimEnd('\n').Split('\n')[^1]);
        var (code2, json, err2) = Replay(true, text);
        Assert.Equal(2, code2);
        Assert.Contains("prose.jsonl:1: bad JSON at column 1: expected one JSON object per line ('h' is an invalid start of a value)", err2, StringComparison.Ordinal);
        var lines = json.TrimEnd('\n').Split('\n');
        Assert.Equal(1, JsonDocument.Parse(lines[0]).RootElement.GetProperty("failed").GetInt32());
        Assert.Equal(1, JsonDocument.Parse(lines[^1]).RootElement.GetProperty("failed").GetInt32());
    }

    [Fact]
    public void Html_to_an_empty_name_or_a_folder_is_a_clear_usage_error()
    {
        var (code, _, err) = Tour(null, html: "");
        Assert.Equal(2, code);
        Assert.Equal("dmabufsim tour: --html: expected a file name, got an empty one", err.TrimEnd('\n'));
        var (code2, _, err2) = Tour(null, html: _dir);
        Assert.Equal(2, code2);
        Assert.StartsWith($"dmabufsim tour: --html {_dir}: is a folder; give a file name", err2, StringComparison.Ordinal);
        var e = new StringWriter();
        var prime = Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "prime.jsonl");
        Assert.Equal(2, ShowRun.Run(prime, 10, "", TerminalView.Plain(new StringWriter()), e));
        Assert.Equal("dmabufsim show: --html: expected a file name, got an empty one", e.ToString().TrimEnd('\n'));
        // The parser refuses them before any work, without a stack trace.
        var (code3, _, err3) = Cli("tour", "--html", "");
        Assert.Equal(2, code3);
        Assert.Equal("dmabufsim tour: --html: expected a file name, got an empty one", err3.TrimEnd('\n'));
        var (code4, _, err4) = Cli("show", "traces/linux-6.1-cma-arm/prime.jsonl", "--at", "10", "--html", "/tmp");
        Assert.Equal(2, code4);
        Assert.StartsWith("dmabufsim show: --html /tmp: is a folder", err4, StringComparison.Ordinal);
    }

    [Fact]
    public void Importer_test_enomem_carries_the_cma_reason()
    {
        // 4000 x 4000 x 32 bpp = 64,000,000 bytes = 15,625 pages against the board's 16 MiB area (4,096 pages, 64 taken
        // by the atomic pool): cma_alloc returns NULL before searching (bitmap_count > bitmap_maxno).
        var e = new StringWriter();
        Assert.Equal(1, ImporterTest.Run("cma", 4000, 4000, 32, TextWriter.Null, e));
        var lines = e.ToString().TrimEnd('\n').Split('\n');
        Assert.Equal("dmabufsim importer-test: DRM_IOCTL_MODE_CREATE_DUMB: -ENOMEM", lines[0]);
        Assert.StartsWith("note: the buffer needs 15625 contiguous pages (64000000 bytes) and the CMA area \"reserved\" of 16 MiB holds 4096 pages, 4032 free", lines[1], StringComparison.Ordinal);
    }

    // ---- numbers that were wrong -----------------------------------------------------------------------------------

    [Fact]
    public void Tour_captions_have_no_empty_range_underflow()
    {
        var (code, text, _) = Tour("board=pc cma=16M vgem");
        Assert.Equal(0, code);
        Assert.Contains("CMA taken at boot  0 pages (every bitmap bit clear)", text, StringComparison.Ordinal);
        Assert.DoesNotContain("18446744073709551615", text, StringComparison.Ordinal);
        Assert.DoesNotContain("..-1", text, StringComparison.Ordinal);
        var html = HtmlOf("board=pc cma=16M vgem");
        Assert.DoesNotContain("18446744073709551615", html, StringComparison.Ordinal);
    }

    private string HtmlOf(string? machine)
    {
        var path = Path.Combine(_dir, "tour.html");
        var (code, _, err) = Tour(machine, path);
        Assert.True(code == 0, err);
        return File.ReadAllText(path);
    }

    [Fact]
    public void Stress_counts_the_successes_of_every_operation()
    {
        var json = new StringWriter();
        Assert.Equal(0, StressRun.Run(4000, 1, json, json: true));
        var ops = json.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(o => o.TryGetProperty("type", out var t) && t.GetString() == "op")
            .ToDictionary(o => o.GetProperty("op").GetString()!, o => (Calls: o.GetProperty("calls").GetInt64(), Ok: o.GetProperty("succeeded").GetInt64()));
        // Every kind that does not go through the ioctl helper: close of an open fd, munmap of a mapping, lseek of an
        // open file and exit succeed on Linux, so each must have successes.
        foreach (var op in new[] { "close", "munmap", "lseek/fstat", "exit", "open", "dup" })
        {
            Assert.True(ops.ContainsKey(op), op);
            Assert.True(ops[op].Ok > 0, $"{op}: {ops[op].Calls} calls, 0 succeeded");
            Assert.True(ops[op].Ok <= ops[op].Calls, op);
        }
        Assert.Equal(ops["exit"].Calls, ops["exit"].Ok);
    }

    [Fact]
    public void Replay_and_show_count_the_same_user_events()
    {
        var prime = Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "prime.jsonl");
        var (_, table, _) = Replay(false, prime);
        Assert.Contains("user events", table, StringComparison.Ordinal);
        var (_, json, _) = Replay(true, prime);
        long replayed = JsonDocument.Parse(json.Split('\n')[0]).RootElement.GetProperty("passed").GetInt64();
        long last = File.ReadLines(prime).Count() - 2; // i of the last line: the header is line 1, i starts at 0
        var o = new StringWriter();
        Assert.Equal(0, ShowRun.Run(prime, last, null, TerminalView.Plain(new StringWriter()), TextWriter.Null, o));
        var s = JsonDocument.Parse(o.ToString()).RootElement;
        // show counts the same user events as replay, less the two that only a whole replay has (the exit and the leak check).
        Assert.Equal(replayed - 2, s.GetProperty("user_events").GetInt64());
        Assert.Equal(last + 1, s.GetProperty("user_events").GetInt64() + s.GetProperty("other_lines").GetInt64());
        var text = new StringWriter();
        ShowRun.Run(prime, 40, null, TerminalView.Plain(text), TextWriter.Null);
        Assert.Contains("replayed i=0..40: 32 user events (9 other lines are kernel-side records inside them or notes): 32 passed", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Kvmfr_test_default_transcript_is_explained_in_help_and_readme()
    {
        var (code, stdout, _) = Cli("kvmfr-test");
        Assert.Equal(255, code);
        Assert.Equal("Size: 17592186044415 MiB", stdout.TrimEnd('\n'));
        var (_, help, _) = Cli("kvmfr-test", "--help");
        Assert.Contains("first transcript", help, StringComparison.Ordinal);
        Assert.Contains("17592186044415", help, StringComparison.Ordinal);
        var readme = File.ReadAllText(Path.Combine(DataDir, "..", "README.md"));
        Assert.Contains("17592186044415", readme, StringComparison.Ordinal);
    }

    // ---- one convention for every verb -----------------------------------------------------------------------------

    [Fact]
    public void Machine_adds_to_the_tours_default_board_and_a_step_that_cannot_run_is_an_error()
    {
        var (code, text, _) = Tour("iommu=on");
        Assert.Equal(0, code);
        Assert.Contains("dmabufsim tour on ", text, StringComparison.Ordinal);
        Assert.Contains("tour on arm ", text.Split('\n')[0], StringComparison.Ordinal); // still the board
        var (code2, _, err2) = Tour("board=pc iommu=on");
        Assert.Equal(1, code2);
        Assert.Contains("dmabufsim tour: step 2 could not run: the machine has no DRM device", err2, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"<([^>]+)>")]
    private static partial Regex Placeholder();

    [Fact]
    public void Help_shows_placeholders_defaults_and_optional_paths_one_way()
    {
        var (code, top, _) = Cli("--help");
        Assert.Equal(0, code);
        Assert.Contains("  replay [PATH...] ", top, StringComparison.Ordinal);
        Assert.Contains("  show <TRACE> ", top, StringComparison.Ordinal);
        foreach (var verb in new[] { "replay", "diff-kernels", "kvmfr-test", "run", "importer-test", "tour", "show", "realkernel", "difftest", "capture", "stress", "sweep" })
        {
            var (c, help, _) = Cli(verb, "--help");
            Assert.Equal(0, c);
            Assert.DoesNotContain("(default", help, StringComparison.Ordinal);
            Assert.DoesNotContain("default:", help.Replace("[default:", "", StringComparison.Ordinal), StringComparison.Ordinal);
            foreach (Match m in Placeholder().Matches(help))
            {
                // An option's placeholder says what goes there, in capitals (<EVENT>, <FILE>, <OPTIONS>), never the option's own name.
                Assert.True(m.Groups[1].Value == m.Groups[1].Value.ToUpperInvariant(), $"{verb}: placeholder {m.Value}");
            }
            Assert.All(help.Split('\n'), l => Assert.Equal(l.TrimEnd(), l));
        }
        var (_, show, _) = Cli("show", "--help");
        Assert.Contains("--at <EVENT>", show, StringComparison.Ordinal);
        Assert.Contains("--html <FILE>", show, StringComparison.Ordinal);
        var (_, tour, _) = Cli("tour", "--help");
        Assert.Contains("--machine <OPTIONS>", tour, StringComparison.Ordinal);
        var (_, stress, _) = Cli("stress", "--help");
        Assert.Contains("[default: 100000]", stress, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_output_is_json_lines_ending_in_the_summary_object()
    {
        static void Check(string output, string what)
        {
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.NotEmpty(lines);
            foreach (var l in lines)
            {
                using var doc = JsonDocument.Parse(l); // every line is one object
                Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            }
            var last = JsonDocument.Parse(lines[^1]).RootElement;
            Assert.True(last.TryGetProperty("passed", out _) && last.TryGetProperty("failed", out _) && last.TryGetProperty("skipped", out _), what);
        }
        Check(Replay(true, Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "prime.jsonl")).Out, "replay");
        var stress = new StringWriter();
        StressRun.Run(300, 3, stress, json: true);
        Check(stress.ToString(), "stress");
        var importer = new StringWriter();
        ImporterTest.Run("cma", 640, 480, 32, importer, TextWriter.Null, json: true);
        Check(importer.ToString(), "importer-test");
        var kvmfr = new StringWriter();
        Assert.Equal(0, KvmfrTest.RunJson("1,1", kvmfr));
        Check(kvmfr.ToString(), "kvmfr-test");
        var (tourCode, tour, _) = Tour(null, json: true);
        Assert.Equal(0, tourCode);
        Check(tour, "tour");
        Assert.Equal(8, JsonDocument.Parse(tour.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement.GetProperty("passed").GetInt32());
        var show = new StringWriter();
        ShowRun.Run(Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "prime.jsonl"), 40, null, TerminalView.Plain(new StringWriter()), TextWriter.Null, show);
        Check(show.ToString(), "show");
        var sweep = new StringWriter();
        SweepRun.Print(new SweepReport { Sites = [] }, 1, sweep, verbose: false, json: true);
        Check(sweep.ToString(), "sweep");
    }

    [Fact]
    public void Errors_of_every_verb_carry_one_prefix()
    {
        foreach (var args in new[]
        {
            new[] { "replay", "--shard", "5/4" }, ["show", "nope.jsonl", "--at", "1"], ["tour", "--machine", "mem=banana"],
            ["diff-kernels", "nope.jsonl"], ["stress", "--ops", "0"], ["sweep", "--shard", "x"],
        })
        {
            var (code, _, err) = Cli(args);
            Assert.Equal(2, code);
            Assert.All(err.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.StartsWith($"dmabufsim {args[0]}: ", l, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Text_for_a_pipe_is_not_cut_and_has_no_trailing_blanks_nor_colour_words()
    {
        var (_, text, _) = Tour(null);
        var lines = text.Split('\n');
        Assert.All(lines, l => Assert.Equal(l.TrimEnd(), l));
        Assert.Contains(lines, l => l.Length > 100); // kernel trace records keep their full text
        Assert.DoesNotContain(lines, l => l.StartsWith("  ", StringComparison.Ordinal) && l.EndsWith("...", StringComparison.Ordinal) && l.Length == 100);
        using var tour = new Tour(Sim.Teaching.Tour.DefaultMachine());
        foreach (var s in tour.Run())
        {
            foreach (var caption in s.Figures.Select(f => f.Caption).Concat(s.Notes))
            {
                Assert.DoesNotMatch(@"\b(red|green|blue|yellow|grey|gray|orange|purple)\b", caption);
            }
        }
    }

    // ---- pictures ---------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(null)]
    [InlineData("board=pc mem=1G iommu=on vgem")]
    public void Tour_pages_are_small_with_unique_ids_meaningful_titles_and_uncut_labels(string? machine)
    {
        var html = HtmlOf(machine);
        Assert.True(html.Length < 300_000, $"{html.Length} bytes");
        var ids = Regex.Matches(html, @"\bid=""([^""]+)""").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain("<title></title>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("\u2026", html, StringComparison.Ordinal); // no label cut with an ellipsis
        foreach (Match m in Regex.Matches(html, @"url\(#([^)]+)\)"))
        {
            Assert.Contains(m.Groups[1].Value, ids);
        }
    }

    [Fact]
    public void Reference_graph_nodes_carry_their_full_text_as_hover_titles()
    {
        var prime = Path.Combine(DataDir, "traces", "linux-6.1-cma-arm", "prime.jsonl");
        var path = Path.Combine(_dir, "prime.html");
        Assert.Equal(0, ShowRun.Run(prime, 20, path, TerminalView.Plain(new StringWriter()), TextWriter.Null));
        var html = File.ReadAllText(path);
        // The exported buffer at i=20: the GEM object's refcount and the dma-buf's f_count, in full, in hover titles.
        Assert.Contains("<title>drm_gem_object: size 0x12c000, refcount 2, handles 1</title>", html, StringComparison.Ordinal);
        Assert.Contains("<title>dma_buf (ino 1): \"drm\" 0x12c000, f_count 5</title>", html.Replace("&quot;", "\"", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.DoesNotContain("\u2026", html, StringComparison.Ordinal);
    }

    // ---- the benchmarks' native yardstick is the project's own -------------------------------------------------------

    [Fact]
    public void The_native_yardstick_builds_from_the_clone_and_prints_the_report_csv()
    {
        string root = Path.GetFullPath(Path.Combine(DataDir, ".."));
        string script = File.ReadAllText(Path.Combine(root, "Benchmarks", "run-sgtrim.sh"));
        Assert.Contains("Benchmarks/native/sgtrim.c", script, StringComparison.Ordinal);
        Assert.DoesNotContain("$repo/../shared", script, StringComparison.Ordinal);
        Assert.Contains("NativeYardstick.md", File.ReadAllText(Path.Combine(root, "Benchmarks", "results", "SgTrim.md")), StringComparison.Ordinal);
        string exe = Path.Combine(_dir, "sgtrim");
        var gcc = Process.Start(new ProcessStartInfo("gcc", ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-o", exe, Path.Combine(root, "Benchmarks", "native", "sgtrim.c")])
        { RedirectStandardError = true })!;
        string warnings = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        Assert.True(gcc.ExitCode == 0, warnings);
        var run = Process.Start(new ProcessStartInfo(exe, ["--reps", "1"]) { RedirectStandardOutput = true })!;
        var lines = run.StandardOutput.ReadToEnd().TrimEnd('\n').Split('\n');
        run.WaitForExit();
        Assert.Equal(0, run.ExitCode); // every map was undone: the table is as built
        Assert.Equal("kind,build,layout,N,window,method,walked,median_ns,min_ns,max_ns", lines[0]);
        Assert.Equal(4 * 4 * 2, lines.Length - 1);
        // The walk visits what the kernel loop visits: first-page stops at entry 0, last-page and whole walk all N.
        Assert.Contains(lines, l => l.StartsWith("trim,o2,scatter,1024,first-page,walk,1,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("trim,o2,scatter,1048576,last-page,walk,1048576,", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("trim,o2,scatter,65536,whole,walk,65536,", StringComparison.Ordinal));
    }

    [Fact]
    public void Long_stress_on_a_terminal_draws_one_progress_line_on_stderr_and_clears_it_but_a_pipe_gets_none()
    {
        // On a terminal (util-linux `script` gives the program a pseudo-terminal for stdin, stdout and stderr), a run
        // over 100,000 ops redraws one line in place ("\r" before each, never "\n") and blanks it before the summary.
        Assert.True(File.Exists("/usr/bin/script"), "util-linux's script(1) is needed to give dmabufsim a terminal (apt-get install bsdutils)");
        string command = $"dotnet \"{Program.Value}\" stress --ops 150000 --seed 3";
        var psi = new ProcessStartInfo("/usr/bin/script", ["-qfec", command, "/dev/null"])
        {
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            WorkingDirectory = DataDir,
        };
        psi.Environment.Remove("COLUMNS");
        psi.Environment["TERM"] = "dumb";
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        string tty = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "stress under script did not finish");
        Assert.Equal(0, p.ExitCode);
        var drawn = Regex.Matches(tty, @"\rstress: (\d+) of 150000 ops \((\d+)%\), \d+ s; Ctrl-C stops with a partial summary *");
        Assert.NotEmpty(drawn);
        Assert.Equal("0", drawn[0].Groups[1].Value); // the first report is drawn at once
        long previous = -1;
        foreach (Match m in drawn)
        {
            long done = long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(done > previous && done < 150_000, $"progress went from {previous} to {done}");
            Assert.Equal((int)Math.Round(100.0 * done / 150_000), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
            previous = done;
        }
        int summary = tty.IndexOf("150000 ops, ", StringComparison.Ordinal);
        Assert.True(summary > 0, tty);
        Assert.Matches(@"\r +\r", tty[drawn[^1].Index..summary]); // the line is blanked before the table is printed
        Assert.DoesNotContain("\n", drawn[^1].Value, StringComparison.Ordinal);
        Assert.Contains("0 invariant violations (seed 3)", tty, StringComparison.Ordinal);

        var piped = Cli("stress", "--ops", "150000", "--seed", "3");
        Assert.Equal(0, piped.Code);
        Assert.Equal("", piped.Err);
        Assert.DoesNotContain("\r", piped.Out, StringComparison.Ordinal);
        Assert.EndsWith("0 invariant violations (seed 3)\n", piped.Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Ctrl_c_in_stress_prints_the_partial_summary_with_the_seed_and_exits_130()
    {
        using var cts = new CancellationTokenSource();
        var o = new StringWriter();
        int steps = 0;
        int code = StressRun.Run(100_000, 7, o, false, run => run.StepFinished = (_, _) =>
        {
            if (++steps == 500)
            {
                cts.Cancel();
            }
        }, null, cts.Token);
        Assert.Equal(130, code);
        var lines = o.ToString().TrimEnd('\n').Split('\n');
        Assert.StartsWith("500 ops, ", lines[^2], StringComparison.Ordinal);
        Assert.EndsWith("invariant violations (seed 7)", lines[^2], StringComparison.Ordinal);
        Assert.Equal("interrupted after 500 of 100000 ops: the summary above is partial; stress --ops 500 --seed 7 repeats it", lines[^1]);
        var json = new StringWriter();
        Assert.Equal(130, StressRun.Run(100_000, 7, json, true, null, null, new CancellationToken(canceled: true)));
        var summary = JsonDocument.Parse(json.ToString().TrimEnd('\n').Split('\n')[^1]).RootElement;
        Assert.True(summary.GetProperty("interrupted").GetBoolean());
        Assert.Equal(7, summary.GetProperty("seed").GetInt32());
    }

    [Fact]
    public void Ctrl_c_in_sweep_prints_the_partial_summary_with_the_seed_and_exits_130()
    {
        var o = new StringWriter();
        Assert.Equal(130, SweepRun.Run(false, 5, null, withTraces: false, o, cancel: new CancellationToken(canceled: true)));
        Assert.EndsWith("(seed 5)", o.ToString().TrimEnd('\n'), StringComparison.Ordinal);
        Assert.Contains("not run: interrupted", o.ToString(), StringComparison.Ordinal);
    }
}
