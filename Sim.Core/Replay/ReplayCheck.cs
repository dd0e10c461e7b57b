using System.Globalization;
using System.Text.Json;
using Sim.Core.Uapi;

namespace Sim.Core.Replay;

/// <summary>One difference between what Linux returned and what the model returned.</summary>
public sealed record Difference(string File, long Line, long I, string Op, string Field, string Expected, string Actual)
{
    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line} i={I} {Op}: {Field}: expected {Expected}, got {Actual}";
}

/// <summary>
/// The verdict of one event under replay: handlers compare each result field they model against the trace
/// (<see cref="Equal(string, ulong, ulong)"/> and friends) and the event passes when nothing differed; a handler
/// that cannot model this event says <see cref="Skip"/> with the reason.
/// </summary>
public sealed class ReplayCheck(TraceEvent ev)
{
    private readonly List<Difference> _differences = [];

    /// <summary>The event under replay.</summary>
    public TraceEvent Event { get; } = ev;

    /// <summary>Differences found so far.</summary>
    public IReadOnlyList<Difference> Differences => _differences;

    /// <summary>Why the event was skipped, or null.</summary>
    public string? SkipReason { get; private set; }

    /// <summary>True when the model said it does not model this event.</summary>
    public bool Skipped => SkipReason is not null;

    /// <summary>True when nothing differed and nothing was skipped.</summary>
    public bool Passed => _differences.Count == 0 && SkipReason is null;

    /// <summary>Marks the event as not modelled (counted as skipped, with the reason).</summary>
    public void Skip(string reason) => SkipReason ??= reason;

    /// <summary>Records a difference.</summary>
    public void Fail(string field, string expected, string actual) =>
        _differences.Add(new Difference(Event.File, Event.Line, Event.I, Event.Op, field, expected, actual));

    /// <summary>Compares two unsigned values (printed in hex when large).</summary>
    public bool Equal(string field, ulong expected, ulong actual)
    {
        if (expected != actual)
        {
            Fail(field, Show(expected), Show(actual));
            return false;
        }
        return true;
    }

    /// <summary>
    /// Compares field <c>{prefix}[{index}].{name}</c> of a list (e.g. <c>result.entries[3].offset</c>); the field's
    /// name is only built when the values differ (building it per entry cost more than the comparison).
    /// </summary>
    public bool EqualAt(string prefix, int index, string name, ulong expected, ulong actual) =>
        expected == actual || Equal(FieldAt(prefix, index, name), expected, actual);

    /// <summary>Compares field <c>{prefix}[{index}].{name}</c> of a list, signed (see the unsigned overload).</summary>
    public bool EqualAt(string prefix, int index, string name, long expected, long actual) =>
        expected == actual || Equal(FieldAt(prefix, index, name), expected, actual);

    /// <summary>The name <c>{prefix}[{index}].{name}</c> of a list entry's field.</summary>
    public static string FieldAt(string prefix, int index, string name) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}[{index}].{name}");

    /// <summary>Compares two signed values (errno names printed beside negative returns).</summary>
    public bool Equal(string field, long expected, long actual)
    {
        if (expected != actual)
        {
            Fail(field, ShowSigned(expected), ShowSigned(actual));
            return false;
        }
        return true;
    }

    /// <summary>Compares two booleans.</summary>
    public bool Equal(string field, bool expected, bool actual)
    {
        if (expected != actual)
        {
            Fail(field, expected ? "true" : "false", actual ? "true" : "false");
            return false;
        }
        return true;
    }

    /// <summary>Compares two strings (null = absent).</summary>
    public bool Equal(string field, string? expected, string? actual)
    {
        if (!string.Equals(expected, actual, StringComparison.Ordinal))
        {
            Fail(field, expected is null ? "null" : JsonSerializer.Serialize(expected), actual is null ? "null" : JsonSerializer.Serialize(actual));
            return false;
        }
        return true;
    }

    /// <summary>Compares <c>result.ret</c> (and so <c>errno_name</c>) with the model's return value.</summary>
    public bool Ret(long actual) => Equal("result.ret", Event.Ret, actual);

    /// <summary>Compares an integer result field if the trace has it (a trace that omits it asks nothing).</summary>
    public bool ResultU64(string name, ulong actual)
    {
        if (!Event.Result.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (!TraceNumber.TryGetU64(e, out ulong expected))
        {
            throw new TraceFormatException(Event.File, Event.Line, $"not an integer: {e.GetRawText()}", "result." + name);
        }
        return Equal("result." + name, expected, actual);
    }

    /// <summary>Compares a signed integer result field if the trace has it.</summary>
    public bool ResultI64(string name, long actual)
    {
        if (!Event.Result.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (!TraceNumber.TryGetI64(e, out long expected))
        {
            throw new TraceFormatException(Event.File, Event.Line, $"not an integer: {e.GetRawText()}", "result." + name);
        }
        return Equal("result." + name, expected, actual);
    }

    /// <summary>Compares a boolean result field if the trace has it.</summary>
    public bool ResultBool(string name, bool actual)
    {
        if (!Event.Result.TryGetProperty(name, out var e) || e.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            return true;
        }
        return Equal("result." + name, e.ValueKind == JsonValueKind.True, actual);
    }

    /// <summary>Compares a string result field if the trace has it.</summary>
    public bool ResultString(string name, string? actual)
    {
        if (!Event.Result.TryGetProperty(name, out var e) || e.ValueKind != JsonValueKind.String)
        {
            return true;
        }
        return Equal("result." + name, e.GetString(), actual);
    }

    /// <summary>Prints a value the way kernel people read it: decimal when small, 0x hex otherwise.</summary>
    public static string Show(ulong v) => v < 65536 ? v.ToString(CultureInfo.InvariantCulture) : "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static string ShowSigned(long v) => v < 0 ? ErrnoNames.Format(v) : Show((ulong)v);
}
