// Kernel-side events under replay (data/traces/README.md, "Kernel-side events (during)"): the model's own
// tracepoint/kprobe records fired while it executes user event J must equal the traced events with during = J.
using System.Text.Json;
using Sim.Core.Debug;

namespace Sim.Core.Replay;

/// <summary>
/// Per-file collector of the machine's <see cref="KernelTrace"/> records, drained after each event and compared
/// with the event's <see cref="TraceEvent.KernelSide"/>.
/// </summary>
public sealed class KernelSideState : IDisposable
{
    /// <summary>
    /// The events the cma-arm capture enabled (the <c>cma:*</c> tracepoints and the <c>drmcma</c> kprobes): only
    /// these model records are compared; others (fired for other families' ftrace files) are ignored here.
    /// </summary>
    public static readonly IReadOnlySet<string> CapturedOps = new HashSet<string>(StringComparer.Ordinal)
    {
        "cma_alloc_start", "cma_alloc_finish", "cma_alloc_busy_retry", "cma_release",
        "drm_gem_dma_create", "drm_gem_dma_create:return", "drm_gem_dma_free",
    };

    private KernelTraceRecorder? _recorder;

    /// <summary>True once a trace sink is attached.</summary>
    public bool Attached => _recorder is not null;

    /// <summary>
    /// The first event with traced CMA activity (<c>cma_*</c> kernel-side events) whose handler skipped it: from
    /// then on the model's CMA state lacks that allocation or release, and reads of it are not comparable.
    /// </summary>
    public long? FirstUnmodelledCmaEvent { get; set; }

    /// <summary>True when this file compares kernel-side events (it has a CMA area, or one was traced).</summary>
    public bool Compares { get; set; }

    /// <summary>Starts collecting from <paramref name="trace"/>.</summary>
    public void Attach(KernelTrace trace)
    {
        ArgumentNullException.ThrowIfNull(trace);
        _recorder ??= trace.Record();
    }

    /// <summary>The captured-op records fired since the last drain.</summary>
    public List<KernelTraceRecord> Drain()
    {
        return _recorder?.Drain(CapturedOps) ?? [];
    }

    /// <summary>Stops collecting.</summary>
    public void Dispose() => _recorder?.Dispose();

    /// <summary>
    /// Compares the model's <paramref name="records"/> with <paramref name="traced"/> (op by op, in order; every
    /// field the model fired against the traced <c>args</c>/<c>result</c> field of the same name). A missing,
    /// extra or reordered event or a differing field fails the user event.
    /// </summary>
    public static void Compare(ReplayCheck check, IReadOnlyList<TraceEvent> traced, IReadOnlyList<KernelTraceRecord> records)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(traced);
        ArgumentNullException.ThrowIfNull(records);
        int n = Math.Max(traced.Count, records.Count);
        for (int k = 0; k < n; k++)
        {
            if (k >= traced.Count)
            {
                check.Fail($"kernel_side[{k}]", "no event", records[k].ToString());
                return;
            }
            var t = traced[k];
            if (k >= records.Count)
            {
                check.Fail($"kernel_side[{k}]", $"{t.Op} (i={t.I})", "no event");
                return;
            }
            var r = records[k];
            if (!check.Equal($"kernel_side[{k}].op", t.Op, r.Op))
            {
                return;
            }
            foreach (var f in r.Fields)
            {
                JsonElement e;
                if (!t.Args.TryGetProperty(f.Name, out e) && !t.Result.TryGetProperty(f.Name, out e))
                {
                    check.Fail($"kernel_side[{k}].{t.Op}.{f.Name}", "absent", KernelTraceRecord.Format(f.Value));
                    continue;
                }
                CompareField(check, $"kernel_side[{k}].{t.Op}.{f.Name}", e, f.Value);
            }
        }
    }

    private static void CompareField(ReplayCheck check, string field, JsonElement e, object? v)
    {
        switch (v)
        {
            case null:
                if (e.ValueKind != JsonValueKind.Null)
                {
                    check.Fail(field, e.GetRawText(), "null");
                }
                break;
            case bool b:
                check.Equal(field, e.ValueKind == JsonValueKind.True ? "true" : e.ValueKind == JsonValueKind.False ? "false" : e.GetRawText(), b ? "true" : "false");
                break;
            case string s:
                check.Equal(field, e.ValueKind == JsonValueKind.String ? e.GetString() : e.GetRawText(), s);
                break;
            case long l:
                if (TraceNumber.TryGetI64(e, out long el))
                {
                    check.Equal(field, el, l);
                }
                else
                {
                    check.Fail(field, e.GetRawText(), l.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                break;
            default:
                ulong u = Convert.ToUInt64(v, System.Globalization.CultureInfo.InvariantCulture);
                if (TraceNumber.TryGetU64(e, out ulong eu))
                {
                    check.Equal(field, eu, u);
                }
                else
                {
                    check.Fail(field, e.GetRawText(), ReplayCheck.Show(u));
                }
                break;
        }
    }
}

/// <summary>
/// Registers the kernel-side comparison: at file start the per-file <see cref="KernelSideState"/> listens to the
/// machine's <see cref="KernelTrace"/>; after every event its records are drained and, unless the event's
/// handler skipped it, compared with the event's traced kernel-side events.
/// </summary>
public sealed class KernelSideReplayOps : IReplayOpProvider
{
    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.OnFileStart(ctx =>
        {
            var state = ctx.State<KernelSideState>();
            if (ctx.Machine.GetService(typeof(KernelTrace)) is KernelTrace trace)
            {
                state.Attach(trace);
            }
            state.Compares = ctx.Options.CmaBytes is not null;
        });
        table.AfterEvent((ctx, ev, check) =>
        {
            var state = ctx.State<KernelSideState>();
            var records = state.Drain();
            if (ev.KernelSide.Count > 0)
            {
                state.Compares = true;
            }
            if (check.Skipped && state.FirstUnmodelledCmaEvent is null && ev.KernelSide.Exists(k => k.Op.StartsWith("cma_", StringComparison.Ordinal)))
            {
                state.FirstUnmodelledCmaEvent = ev.I;
            }
            if (!state.Compares || check.Skipped || ReplayEngine.InformationalOps.Contains(ev.Op))
            {
                return;
            }
            KernelSideState.Compare(check, ev.KernelSide, records);
        });
    }
}
