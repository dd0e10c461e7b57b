using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;

namespace Sim.Core.Replay;

/// <summary>Counts of one op (or one file).</summary>
public sealed class OpCounts
{
    /// <summary>Events that matched Linux.</summary>
    public long Passed { get; set; }

    /// <summary>Events with at least one difference.</summary>
    public long Failed { get; set; }

    /// <summary>Events not modelled.</summary>
    public long Skipped { get; set; }

    /// <summary>All counted events.</summary>
    public long Total => Passed + Failed + Skipped;
}

/// <summary>The outcome of one replayed file.</summary>
public sealed class FileResult(string file)
{
    /// <summary>The file.</summary>
    public string File { get; } = file;

    /// <summary>Totals.</summary>
    public OpCounts Totals { get; } = new();

    /// <summary>Per-op counts, in first-seen order.</summary>
    public Dictionary<string, OpCounts> Ops { get; } = new(StringComparer.Ordinal);

    /// <summary>Every difference, in file order.</summary>
    public List<Difference> Differences { get; } = [];

    /// <summary>Skip reasons per op (first reason seen).</summary>
    public Dictionary<string, string> SkipReasons { get; } = new(StringComparer.Ordinal);

    /// <summary>Set when the file could not be read (exit status 2).</summary>
    public string? FormatError { get; set; }

    internal void Count(string op, ReplayCheck check)
    {
        if (!Ops.TryGetValue(op, out var c))
        {
            c = new OpCounts();
            Ops.Add(op, c);
        }
        if (check.Differences.Count > 0)
        {
            c.Failed++;
            Totals.Failed++;
            Differences.AddRange(check.Differences);
        }
        else if (check.Skipped)
        {
            c.Skipped++;
            Totals.Skipped++;
            SkipReasons.TryAdd(op, check.SkipReason!);
        }
        else
        {
            c.Passed++;
            Totals.Passed++;
        }
    }
}

/// <summary>
/// <c>dmabufsim replay</c>'s engine: each file on a fresh machine built by <see cref="MachineFactory"/> from
/// its header (plus overrides); every event executed by the handler registered for its op and compared;
/// ops nobody models are skipped under their name. Informational events (<c>note</c>,
/// <c>replacement_case</c>) are handed to a handler if one exists but never counted.
/// </summary>
public sealed class ReplayEngine(Func<MachineOptions, ServiceProvider> machineFactory)
{
    /// <summary>Events that are read but not counted.</summary>
    public static readonly IReadOnlySet<string> InformationalOps = new HashSet<string>(StringComparer.Ordinal) { "note", "replacement_case" };

    /// <summary>Builds a machine for a file.</summary>
    public Func<MachineOptions, ServiceProvider> MachineFactory { get; } = machineFactory;

    /// <summary>Options applied on top of every header (<c>--machine</c>), or null.</summary>
    public string? MachineOverrides { get; init; }

    /// <summary>
    /// Wraps each modelled event: called with the event, its check and the handler (which it may run more than
    /// once with other checks). The failure sweep uses it to retry an event whose allocation it failed.
    /// </summary>
    public Action<TraceEvent, ReplayCheck, Action<ReplayCheck>>? AroundEvent { get; init; }

    /// <summary>Watches every file replayed (a timeline recorder), or null.</summary>
    public IReplayObserver? Observer { get; init; }

    /// <summary>Expands files and directories (recursively, <c>*.jsonl</c>) in a stable order.</summary>
    public static List<string> ExpandPaths(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var p in paths)
        {
            if (Directory.Exists(p))
            {
                var found = Directory.GetFiles(p, "*.jsonl", SearchOption.AllDirectories);
                Array.Sort(found, StringComparer.Ordinal);
                files.AddRange(found);
            }
            else
            {
                files.Add(p);
            }
        }
        return files;
    }

    /// <summary>Replays one file. Unreadable input ends in <see cref="FileResult.FormatError"/>; nothing throws.</summary>
    public FileResult ReplayFile(string path, string? displayName = null, Action<long>? progress = null) =>
        ReplayFileCore(path, displayName, progress, stopAfter: null, atStop: null, out _);

    /// <summary>
    /// Replays one file up to and including the event whose <c>i</c> is <paramref name="stopAfter"/>, then hands the
    /// live machine (<see cref="ReplaySession.Machine"/>) and that event to <paramref name="atStop"/> before the machine
    /// is disposed (no exit steps run); a kernel-side event stops after the user event it happened in. When the file has
    /// no such event, <paramref name="atStop"/> is not called and
    /// <paramref name="lastIndex"/> says the last <c>i</c> the file has (-1 for none): <c>dmabufsim show --at N</c>.
    /// </summary>
    public FileResult ReplayFileUntil(string path, long stopAfter, Action<ReplaySession, TraceEvent> atStop, out long lastIndex,
        string? displayName = null) =>
        ReplayFileCore(path, displayName, null, stopAfter, atStop, out lastIndex);

    private FileResult ReplayFileCore(string path, string? displayName, Action<long>? progress, long? stopAfter,
        Action<ReplaySession, TraceEvent>? atStop, out long lastIndex)
    {
        lastIndex = -1;
        string name = displayName ?? path;
        var result = new FileResult(name);
        if (!System.IO.File.Exists(path))
        {
            result.FormatError = $"{name}: no such file";
            return result;
        }
        try
        {
            using var reader = new TraceReader(path, name);
            var options = reader.Kind == DataFileKind.Trace ? MachineOptions.FromHeader(reader.Header) : new MachineOptions();
            if (reader.Kind == DataFileKind.Trace && reader.Header.TryGetProperty("machine_config", out var mc) &&
                mc.TryGetProperty("kernel_cmdline", out var cl) && cl.ValueKind == JsonValueKind.String)
            {
                options.Apply(cl.GetString()!, strict: false);
            }
            if (MachineOverrides is { } o)
            {
                options.Apply(o, strict: true);
            }
            using var machine = MachineFactory(options);
            var table = ReplayOpTable.Build(machine.GetServices<IReplayOpProvider>());
            var ctx = new ReplaySession(path, reader.Kind, reader.Header, options, machine, reader.Version);
            foreach (var start in table.FileStart)
            {
                start(ctx);
            }
            ctx.StartTracedProcess();
            var observer = Observer;
            using var observed = observer is not null && machine.GetService(typeof(Debug.KernelTrace)) is Debug.KernelTrace kt
                ? kt.Subscribe(r => observer.KernelRecord(ctx, r)) : null;
            observer?.FileStarted(ctx);
            long n = 0;
            foreach (var ev in reader.Events())
            {
                var handler = table.Find(ev.Op);
                var check = new ReplayCheck(ev);
                ctx.EnterEvent(ev);
                observer?.EventStarting(ctx, ev, null);
                if (handler is null)
                {
                    check.Skip("not modelled");
                }
                else if (AroundEvent is { } around)
                {
                    Run(() => around(ev, check, c => handler(ctx, ev, c)), check);
                }
                else
                {
                    Run(() => handler(ctx, ev, check), check);
                }
                foreach (var after in table.AfterEventHandlers)
                {
                    Run(() => after(ctx, ev, check), check);
                }
                if (!InformationalOps.Contains(ev.Op))
                {
                    result.Count(ev.Op, check);
                }
                observer?.EventFinished(ctx, ev, null, check);
                if ((++n & 1023) == 0)
                {
                    progress?.Invoke(n);
                }
                lastIndex = ev.I;
                foreach (var k in ev.KernelSide)
                {
                    lastIndex = Math.Max(lastIndex, k.I);
                }
                // A kernel-side event (args.during = J) happened inside user event J: stopping at it stops after J.
                if (stopAfter is { } stop && (ev.I == stop || ev.KernelSide.Exists(k => k.I == stop)))
                {
                    atStop?.Invoke(ctx, ev);
                    observer?.FileFinished(ctx, result);
                    return result;
                }
            }
            if (stopAfter is not null)
            {
                observer?.FileFinished(ctx, result);
                return result;
            }
            foreach (var (stepName, action) in ctx.ExitSteps)
            {
                var exitEvent = new TraceEvent(name, 0, -1, "exit", default, default, default);
                var check = new ReplayCheck(exitEvent);
                observer?.EventStarting(ctx, exitEvent, stepName);
                Run(() => action(check), check);
                result.Count("exit", check);
                observer?.EventFinished(ctx, exitEvent, stepName, check);
            }
            observer?.FileFinished(ctx, result);
            progress?.Invoke(n);
        }
        catch (TraceFormatException ex)
        {
            result.FormatError = ex.Message;
        }
        catch (IOException ex)
        {
            result.FormatError = $"{name}: {ex.Message}";
        }
        catch (MachineOptionException ex)
        {
            result.FormatError = $"{name}: machine: {ex.Message}";
        }
        return result;
    }

    private static void Run(Action action, ReplayCheck check)
    {
        try
        {
            action();
        }
        catch (TraceFormatException)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A simulator bug: the event fails with the exception named, and the replay goes on.
            check.Fail("exception", "no exception", ex.GetType().Name + ": " + ex.Message);
        }
    }
}
