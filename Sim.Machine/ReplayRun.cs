using System.Text.Json;
using Sim.Core.Boot;
using Sim.Core.Replay;
using Spectre.Console;

namespace Sim.Machine;

/// <summary><c>dmabufsim replay [--json] [--verbose] [--allow-skipped] [--machine OPTIONS] [--jobs N] [--shard K/N] [PATH...]</c>.</summary>
public static class ReplayRun
{
    /// <summary>
    /// Runs a replay and prints the report; returns the exit status (0, 1, or 2 for unusable input).
    /// <paramref name="jobs"/> files replay at once, each on its own machine (the report is the same for any
    /// number: results are printed in file order once all are in); <paramref name="shard"/> keeps only that part
    /// of the file list.
    /// </summary>
    public static int Run(string[] paths, bool json, bool verbose, bool allowSkipped, string? machine,
        TextWriter? stdout = null, TextWriter? stderr = null, int jobs = 1, Shard? shard = null, IReplayObserver? observer = null)
    {
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        if (machine is not null)
        {
            try
            {
                Composition.ParseMachine(machine);
            }
            catch (MachineOptionException ex)
            {
                stderr.WriteLine($"dmabufsim replay: --machine: {ex.Message}");
                return 2;
            }
        }
        List<string> inputs;
        if (paths.Length == 0)
        {
            var data = DataLocator.FindDataDir();
            if (data is null)
            {
                stderr.WriteLine("dmabufsim replay: no PATH given and " + DataLocator.NotFoundHint);
                return 2;
            }
            inputs = DataLocator.DefaultReplayPaths(data);
        }
        else
        {
            inputs = [.. paths];
        }
        foreach (var p in inputs)
        {
            if (!File.Exists(p) && !Directory.Exists(p))
            {
                stderr.WriteLine($"dmabufsim replay: {p}: no such file or directory");
                return 2;
            }
        }
        var files = ReplayEngine.ExpandPaths(inputs);
        if (files.Count == 0)
        {
            // Never succeed on nothing: a folder without traces is a mistake (replay docs), not a pass.
            return VerbConventions.UsageError(stderr, "replay", $"no *.jsonl trace or vector file in {string.Join(", ", inputs.Select(DataLocator.DisplayName))}");
        }
        if (shard is { } part)
        {
            files = part.Select(files);
        }
        if (observer is not null && files.Count != 1)
        {
            stderr.WriteLine($"dmabufsim replay: --timeline needs exactly one trace file ({files.Count} given)");
            return 2;
        }
        var engine = new ReplayEngine(Composition.BuildMachine) { MachineOverrides = machine, Observer = observer };
        var results = new FileResult[files.Count];
        bool showProgress = !json && !Console.IsErrorRedirected && !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out);
        if (showProgress)
        {
            var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            err.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(p =>
                {
                    var task = p.AddTask("replay", maxValue: files.Count);
                    ReplayAll(engine, files, results, jobs, f =>
                    {
                        lock (task)
                        {
                            task.Description = Markup.Escape(Path.GetFileName(f));
                            task.Increment(1);
                        }
                    });
                });
        }
        else
        {
            ReplayAll(engine, files, results, jobs, null);
        }
        return Report([.. results], json, verbose, allowSkipped, stdout, stderr);
    }

    // Replays files[i] into results[i] on `jobs` threads that take the next file in list order; each file gets
    // its own machine, so the threads share nothing but the list.
    private static void ReplayAll(ReplayEngine engine, List<string> files, FileResult[] results, int jobs, Action<string>? done)
    {
        int next = -1;
        void Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < files.Count)
            {
                results[i] = engine.ReplayFile(files[i], DataLocator.DisplayName(files[i]));
                done?.Invoke(files[i]);
            }
        }
        int threads = Math.Clamp(jobs, 1, Math.Max(1, files.Count));
        if (threads == 1)
        {
            Worker();
            return;
        }
        var pool = new Thread[threads - 1];
        for (int t = 0; t < pool.Length; t++)
        {
            // The replay recurses as deep as the models do: the same stack as the main thread.
            pool[t] = new Thread(Worker, 16 << 20) { IsBackground = true, Name = $"replay-{t + 1}" };
            pool[t].Start();
        }
        Worker();
        foreach (var t in pool)
        {
            t.Join();
        }
    }

    private static int Report(List<FileResult> results, bool json, bool verbose, bool allowSkipped, TextWriter stdout, TextWriter stderr)
    {
        long passed = 0, failed = 0, skipped = 0;
        bool unusable = false;
        int empty = 0;
        foreach (var r in results)
        {
            passed += r.Totals.Passed;
            failed += Failed(r);
            skipped += r.Totals.Skipped;
            if (r.FormatError is not null)
            {
                unusable = true;
                stderr.WriteLine(VerbConventions.Prefix("replay") + r.FormatError);
            }
            else if (r.Totals.Total == 0)
            {
                empty++;
                stderr.WriteLine(VerbConventions.Prefix("replay") + $"{r.File}: a header and no events");
            }
        }
        if (json)
        {
            foreach (var r in results)
            {
                stdout.WriteLine(ToJson(r));
            }
        }
        else
        {
            WriteTable(results, verbose, stdout);
        }
        stdout.WriteLine(json ? VerbConventions.JsonSummary(passed, failed, skipped, w => w.WriteNumber("files", results.Count))
            : VerbConventions.ClosingLine(passed, failed, skipped));
        if (unusable)
        {
            return VerbConventions.Usage;
        }
        if (results.Count > 0 && empty == results.Count)
        {
            return VerbConventions.UsageError(stderr, "replay", "nothing was replayed: no file holds an event");
        }
        return failed > 0 || (skipped > 0 && !allowSkipped) ? 1 : 0;
    }

    // An unreadable file counts as one failure (its events could not be compared).
    private static long Failed(FileResult r) => r.Totals.Failed + (r.FormatError is null ? 0 : 1);

    /// <summary>The <c>--json</c> line of one file.</summary>
    public static string ToJson(FileResult r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("file", r.File);
            w.WriteNumber("passed", r.Totals.Passed);
            w.WriteNumber("failed", Failed(r));
            w.WriteNumber("skipped", r.Totals.Skipped);
            if (r.FormatError is not null)
            {
                w.WriteString("error", r.FormatError);
            }
            w.WriteStartObject("ops");
            foreach (var (op, c) in r.Ops)
            {
                w.WriteStartObject(op);
                w.WriteNumber("passed", c.Passed);
                w.WriteNumber("failed", c.Failed);
                w.WriteNumber("skipped", c.Skipped);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteTable(List<FileResult> results, bool verbose, TextWriter stdout)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!ReferenceEquals(stdout, Console.Out) || Console.IsOutputRedirected)
        {
            console.Profile.Width = 200;
        }
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("file");
        table.AddColumn(new TableColumn("user events").RightAligned());
        table.AddColumn(new TableColumn("passed").RightAligned());
        table.AddColumn(new TableColumn("failed").RightAligned());
        table.AddColumn(new TableColumn("skipped").RightAligned());
        foreach (var r in results)
        {
            string failedCell = r.FormatError is not null ? "[red]unreadable[/]" : r.Totals.Failed > 0 ? $"[red]{r.Totals.Failed}[/]" : "0";
            string skippedCell = r.Totals.Skipped > 0 ? $"[yellow]{r.Totals.Skipped}[/]" : "0";
            table.AddRow(Markup.Escape(r.File), r.Totals.Total.ToString(System.Globalization.CultureInfo.InvariantCulture),
                r.Totals.Passed.ToString(System.Globalization.CultureInfo.InvariantCulture), failedCell, skippedCell);
        }
        console.Write(table);
        console.WriteLine("user events: the calls the trace records (each compared with the kernel-side records inside it), the exit and the leak check; show --at counts every line's i");
        foreach (var r in results)
        {
            if (r.Differences.Count > 0)
            {
                console.MarkupLine($"[bold]{Markup.Escape(r.File)}[/]: {r.Differences.Count} difference(s)");
                int shown = 0;
                foreach (var d in r.Differences)
                {
                    if (!verbose && shown == 5)
                    {
                        console.MarkupLine($"  ... {r.Differences.Count - 5} more (--verbose lists all)");
                        break;
                    }
                    console.WriteLine($"  {d}");
                    shown++;
                }
            }
        }
        var skippedOps = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var r in results)
        {
            foreach (var (op, c) in r.Ops)
            {
                if (c.Skipped > 0)
                {
                    skippedOps[op] = skippedOps.GetValueOrDefault(op) + c.Skipped;
                }
            }
        }
        if (skippedOps.Count > 0)
        {
            console.WriteLine("skipped (not modelled yet), by op:");
            foreach (var (op, n) in skippedOps)
            {
                console.WriteLine($"  {op}: {n}");
            }
        }
    }
}
