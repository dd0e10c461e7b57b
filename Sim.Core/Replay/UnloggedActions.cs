using System.Text.Json;

namespace Sim.Core.Replay;

/// <summary>
/// One file's vocabulary of the replayer's actions for <c>result.unlogged_before</c> / <c>result.unlogged_after</c>
/// entries (<c>{"call": NAME, ...}</c>, see data/traces/README.md "Unlogged actions"): the families register the
/// calls they model at file start (<c>session.Unlogged.Register("dma_buf_put", ...)</c>), and a handler runs an
/// event's entries with <see cref="RunBefore"/> / <see cref="RunAfter"/>. An entry whose value refers to the event
/// (<c>"args.vgem_buffer"</c>) is resolved through <see cref="Current"/>.
/// </summary>
public sealed class UnloggedActions
{
    private readonly ReplaySession _session;
    private readonly Dictionary<string, Action<ReplaySession, JsonElement>> _actions = new(StringComparer.Ordinal);

    internal UnloggedActions(ReplaySession session) => _session = session;

    /// <summary>The registered actions by <c>call</c>.</summary>
    public IReadOnlyDictionary<string, Action<ReplaySession, JsonElement>> Actions => _actions;

    /// <summary>The event whose entries are being performed (null outside <see cref="RunBefore"/>/<see cref="RunAfter"/>).</summary>
    public TraceEvent? Current { get; private set; }

    /// <summary>Registers (or replaces) the action of <paramref name="call"/>.</summary>
    public void Register(string call, Action<ReplaySession, JsonElement> action) => _actions[call] = action;

    /// <summary>Registers the action of <paramref name="call"/> unless one is registered already (a fallback).</summary>
    public void TryRegister(string call, Action<ReplaySession, JsonElement> action) => _actions.TryAdd(call, action);

    /// <summary>
    /// Performs <c>result.unlogged_before</c> of <paramref name="ev"/> in order. Returns false (and marks the event
    /// skipped) when an entry has no registered action; nothing after it is performed.
    /// </summary>
    public bool RunBefore(TraceEvent ev, ReplayCheck check) => Run(ev, check, "unlogged_before");

    /// <summary>Performs <c>result.unlogged_after</c> of <paramref name="ev"/> in order (as <see cref="RunBefore"/>).</summary>
    public bool RunAfter(TraceEvent ev, ReplayCheck check) => Run(ev, check, "unlogged_after");

    private bool Run(TraceEvent ev, ReplayCheck check, string field)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(check);
        if (ev.Result.ValueKind != JsonValueKind.Object || !ev.Result.TryGetProperty(field, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return true;
        }
        foreach (var entry in list.EnumerateArray())
        {
            string call = entry.TryGetProperty("call", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "?";
            if (!_actions.TryGetValue(call, out var action))
            {
                check.Skip($"{field}: no action registered for \"{call}\"");
                return false;
            }
            var outer = Current;
            Current = ev;
            try
            {
                action(_session, entry);
            }
            finally
            {
                Current = outer;
            }
        }
        return true;
    }
}
