using System.Text.Json;
using Sim.Core.Boot;
using Sim.Core.Replay;
using Spectre.Console;

namespace Sim.Machine;

/// <summary><c>dmabufsim replay [--json] [--verbose] [--allow-skipped] [--machine OPTIONS] [PATH...]</c>.</summary>
public static class ReplayRun
{
    /// <summary>Runs a replay and prints the report; returns the exit status (0, 1, or 2 for unusable input).</summary>
    public static int Run(string[] paths, bool json, bool verbose, bool allowSkipped, string? machine,
        TextWriter? stdout = null, TextWriter? stderr = null)
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
                stderr.WriteLine("dmabufsim replay: no PATH given and the bundled data/ folder was not found (set DMABUFSIM_DATA)");
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
        var engine = new ReplayEngine(Composition.BuildMachine) { MachineOverrides = machine };
        var results = new List<FileResult>();
        bool showProgress = !json && !Console.IsErrorRedirected && !Console.IsOutputRedirected && ReferenceEquals(stdout, Console.Out);
        if (showProgress)
        {
            var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            err.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(p =>
                {
                    var task = p.AddTask("replay", maxValue: files.Count);
                    foreach (var f in files)
                    {
                        task.Description = Markup.Escape(Path.GetFileName(f));
                        results.Add(engine.ReplayFile(f, DataLocator.DisplayName(f)));
                        task.Increment(1);
                    }
                });
        }
        else
        {
            foreach (var f in files)
            {
                results.Add(engine.ReplayFile(f, DataLocator.DisplayName(f)));
            }
        }
        return Report(results, json, verbose, allowSkipped, stdout, stderr);
    }

    private static int Report(List<FileResult> results, bool json, bool verbose, bool allowSkipped, TextWriter stdout, TextWriter stderr)
    {
        long passed = 0, failed = 0, skipped = 0;
        bool unusable = false;
        foreach (var r in results)
        {
            passed += r.Totals.Passed;
            failed += r.Totals.Failed;
            skipped += r.Totals.Skipped;
            if (r.FormatError is not null)
            {
                unusable = true;
                stderr.WriteLine(r.FormatError);
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
        stdout.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
        if (unusable)
        {
            return 2;
        }
        return failed > 0 || (skipped > 0 && !allowSkipped) ? 1 : 0;
    }

    /// <summary>The <c>--json</c> line of one file.</summary>
    public static string ToJson(FileResult r)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("file", r.File);
            w.WriteNumber("passed", r.Totals.Passed);
            w.WriteNumber("failed", r.Totals.Failed);
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
        table.AddColumn(new TableColumn("events").RightAligned());
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
