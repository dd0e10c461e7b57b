using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Replay;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>A public trace's user calls replayed through the <see cref="ReplayEngine"/> with the injector armed.</summary>
public sealed class ReplayScenario(string path, string name) : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => name;

    /// <inheritdoc/>
    public override bool Repeatable => false;

    /// <summary>The file replayed.</summary>
    public string Path { get; } = path;

    /// <summary>The machine the last run used (built by the engine from the trace header).</summary>
    public ServiceProvider? LastMachine { get; private set; }

    /// <summary>The services of <see cref="LastMachine"/>, resolved before the engine disposes it.</summary>
    public SweepServices? LastView { get; private set; }

    /// <summary>Arms the injector of each machine the engine builds (null: a baseline run that only records).</summary>
    public Action<FaultInject>? Arm { get; set; }

    /// <summary>The engine's result for the last run.</summary>
    public FileResult? LastResult { get; private set; }

    /// <summary>The injector of the last run's machine.</summary>
    public FaultInject? LastInjector { get; private set; }

    /// <summary>The event whose allocation failed in the last run, and what it returned (its first difference).</summary>
    public string FailedAt { get; private set; } = "";

    /// <summary>What the failing call returned, as its check saw it (empty: the same as the trace).</summary>
    public string FailedResult { get; private set; } = "";

    /// <summary>The differences the replay has without any failure (the model's known gaps), as text.</summary>
    public HashSet<string> BaselineDifferences { get; } = new(StringComparer.Ordinal);

    /// <summary>Whether the last run's failure hit a step the capture did not log.</summary>
    public bool Unlogged { get; private set; }

    /// <summary>Whether the last run's failure was absorbed by the kernel path (the call still succeeded).</summary>
    public bool Absorbed { get; private set; }

    /// <summary>Problems seen at the failing event: an exception, or a retry that did not give the trace's result.</summary>
    public List<string> EventProblems { get; } = [];

    /// <inheritdoc/>
    public override ServiceProvider Build() => Composition.BuildMachine(new MachineOptions());

    /// <summary>
    /// Replays the file. Each event runs once; when the injector failed an allocation during it, the attempt's
    /// result is kept aside, the injector disarmed, and the event run again (the same call repeated without the
    /// failure), which must give the trace's result so the replay goes on in step with the trace.
    /// </summary>
    public FileResult Replay()
    {
        FaultInject? inj = null;
        FaultInject.Scope scope = default;
        bool armed = false;
        Unlogged = false;
        Absorbed = false;
        FailedAt = "";
        FailedResult = "";
        EventProblems.Clear();
        var engine = new ReplayEngine(o =>
        {
            var m = Composition.BuildMachine(o);
            LastMachine = m;
            LastView = new SweepServices(m);
            inj = m.GetRequiredService<FaultInject>();
            scope = inj.Activate();
            armed = false;
            return m;
        })
        {
            AroundEvent = (ev, check, run) =>
            {
                if (!armed)
                {
                    // Armed at the first user call: the machine's own setup (boot, the trace's file-start steps) is not swept.
                    armed = true;
                    Arm?.Invoke(inj!);
                }
                int before = inj!.Injected.Count;
                var attempt = new ReplayCheck(ev);
                Exception? thrown = null;
                try
                {
                    run(attempt);
                }
                catch (Exception e) when (e is not OutOfMemoryException and not TraceFormatException)
                {
                    thrown = e;
                }
                if (inj.Injected.Count == before)
                {
                    if (thrown is not null)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(thrown).Throw();
                    }
                    foreach (var d in attempt.Differences)
                    {
                        check.Fail(d.Field, d.Expected, d.Actual);
                    }
                    if (attempt.SkipReason is { } why)
                    {
                        check.Skip(why);
                    }
                    return;
                }
                FailedAt = ev.ToString();
                FailedResult = attempt.Differences.Count > 0 ? $"{attempt.Differences[0].Field} {attempt.Differences[0].Actual} (trace {attempt.Differences[0].Expected})" : "";
                inj.Disarm();
                if (thrown is InvalidOperationException &&
                    (thrown.Message.StartsWith("unlogged", StringComparison.Ordinal) ||
                     thrown.TargetSite?.DeclaringType?.Namespace?.EndsWith(".Replay", StringComparison.Ordinal) == true))
                {
                    // The failure hit a step the capture did not log (the replay performs it to rebuild state, or a
                    // vector's fixture): no traced call returned the error, and the replay cannot go on with the trace.
                    Unlogged = true;
                    FailedResult = thrown.Message;
                    check.Fail("exception", "no exception", thrown.GetType().Name + ": " + thrown.Message);
                    return;
                }
                if (thrown is not null)
                {
                    EventProblems.Add($"exception at the failing call {ev}: {thrown.GetType().Name}: {thrown.Message}");
                }
                if (ev.Result.ValueKind == System.Text.Json.JsonValueKind.Object && ev.Result.TryGetProperty("unlogged_before", out var unloggedBefore) &&
                    unloggedBefore.ValueKind == System.Text.Json.JsonValueKind.Array && unloggedBefore.GetArrayLength() > 0)
                {
                    // Repeating this event repeats its unlogged steps (a second buffer, a second attachment): the
                    // replay goes on, but what it leaves is the harness's, not the failing call's.
                    Unlogged = true;
                    FailedResult += " (the event carries unlogged steps; repeating it repeats them)";
                }
                bool failed = thrown is not null;
                foreach (var d in attempt.Differences)
                {
                    failed |= d.Field is "result.ret" or "ret" && d.Actual.StartsWith('-');
                }
                if (!failed)
                {
                    // The kernel path absorbed the failure (a retry or a fallback): the call succeeded, maybe with
                    // another result (an IOVA from another range); that attempt stands.
                    Absorbed = true;
                    foreach (var d in attempt.Differences)
                    {
                        check.Fail(d.Field, d.Expected, d.Actual);
                    }
                    return;
                }
                run(check);
                foreach (var d in check.Differences)
                {
                    if (!BaselineDifferences.Contains(d.ToString()))
                    {
                        EventProblems.Add($"repeated without the failure, {d}");
                        break;
                    }
                }
            },
        };
        try
        {
            // The engine disposes its machine at the end of the file; the model objects stay readable.
            LastResult = engine.ReplayFile(Path, Name);
        }
        finally
        {
            scope.Dispose();
        }
        LastInjector = inj ?? new FaultInject();
        return LastResult;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine) => throw new NotSupportedException("replay scenarios run through Replay");
}
