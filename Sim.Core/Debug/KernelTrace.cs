// Models the kernel's tracing sink (kernel/trace/trace.c, include/linux/tracepoint.h): tracepoints and kprobe
// events the model emits, in kernel order, for whoever listens (the replay compares them with a trace's
// kernel-side events, args.during = J).
using System.Globalization;
using System.Text;

namespace Sim.Core.Debug;

/// <summary>One field of a kernel trace record: a name and an integer, boolean, string or null value.</summary>
public readonly record struct KernelTraceField(string Name, object? Value)
{
    /// <inheritdoc/>
    public override string ToString() => Name + "=" + KernelTraceRecord.Format(Value);
}

/// <summary>
/// One tracepoint or kprobe hit, as the trace files spell it: <see cref="Op"/> is the event name
/// (<c>cma_alloc_start</c>, <c>cma_alloc_finish</c>, <c>cma_release</c>, <c>drm_gem_dma_create:return</c>, ...) and
/// <see cref="Fields"/> are the traced fields under the names the trace uses (in <c>args</c> or <c>result</c>).
/// </summary>
public sealed class KernelTraceRecord(string op, params KernelTraceField[] fields)
{
    /// <summary>The event name.</summary>
    public string Op { get; } = op;

    /// <summary>The traced fields in print order.</summary>
    public IReadOnlyList<KernelTraceField> Fields { get; } = fields;

    /// <summary>The value of field <paramref name="name"/>, or null when the record has no such field.</summary>
    public object? this[string name]
    {
        get
        {
            foreach (var f in Fields)
            {
                if (f.Name == name)
                {
                    return f.Value;
                }
            }
            return null;
        }
    }

    /// <summary>True if the record has a field called <paramref name="name"/>.</summary>
    public bool Has(string name)
    {
        foreach (var f in Fields)
        {
            if (f.Name == name)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>An integer field as <c>ulong</c> (negative values as their two's complement).</summary>
    public ulong U64(string name) => this[name] switch
    {
        ulong u => u,
        long l => unchecked((ulong)l),
        int i => unchecked((ulong)i),
        uint u32 => u32,
        var v => throw new InvalidOperationException($"{Op}: field {name} is not an integer ({Format(v)})"),
    };

    /// <summary>An integer field as <c>long</c>.</summary>
    public long I64(string name) => unchecked((long)U64(name));

    /// <summary>Prints a value as the trace would (numbers in decimal, booleans lower case).</summary>
    public static string Format(object? v) => v switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => "\"" + s + "\"",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder(Op);
        foreach (var f in Fields)
        {
            sb.Append(' ').Append(f.ToString());
        }
        return sb.ToString();
    }
}

/// <summary>
/// The machine's trace sink. Models call <see cref="Emit"/> (cheaply guarded by <see cref="Enabled"/>, like a
/// tracepoint's static key) at the point where the kernel fires the tracepoint; subscribers receive the records
/// synchronously, in kernel order. <see cref="Record"/> gives a recorder that collects them in a list.
/// </summary>
[Kernel("trace_event_buffer_commit", "kernel/trace/trace_events.c")]
public sealed class KernelTrace
{
    private readonly List<Action<KernelTraceRecord>> _subscribers = [];

    /// <summary>True when anyone listens (the tracepoint is "enabled"); models skip building records otherwise.</summary>
    public bool Enabled => _subscribers.Count > 0;

    /// <summary>Adds a subscriber; dispose the result to remove it.</summary>
    public IDisposable Subscribe(Action<KernelTraceRecord> subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        _subscribers.Add(subscriber);
        return new Subscription(this, subscriber);
    }

    /// <summary>Delivers <paramref name="record"/> to every subscriber, in subscription order.</summary>
    public void Emit(KernelTraceRecord record)
    {
        for (int i = 0; i < _subscribers.Count; i++)
        {
            _subscribers[i](record);
        }
    }

    /// <summary>Starts collecting every record into <see cref="KernelTraceRecorder.Records"/> until disposed.</summary>
    public KernelTraceRecorder Record() => new(this);

    private sealed class Subscription(KernelTrace trace, Action<KernelTraceRecord> subscriber) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                trace._subscribers.Remove(subscriber);
            }
        }
    }
}

/// <summary>Collects the records of a <see cref="KernelTrace"/> (like reading <c>trace_pipe</c>).</summary>
public sealed class KernelTraceRecorder : IDisposable
{
    private readonly List<KernelTraceRecord> _records = [];
    private readonly IDisposable _subscription;

    internal KernelTraceRecorder(KernelTrace trace) => _subscription = trace.Subscribe(_records.Add);

    /// <summary>The records collected so far (not yet drained).</summary>
    public IReadOnlyList<KernelTraceRecord> Records => _records;

    /// <summary>Returns and forgets the records collected so far (a read of <c>trace_pipe</c>).</summary>
    public List<KernelTraceRecord> Drain()
    {
        var copy = new List<KernelTraceRecord>(_records);
        _records.Clear();
        return copy;
    }

    /// <summary>
    /// Returns and forgets the records collected so far, keeping those whose op is in <paramref name="ops"/>
    /// (the replay's per-event drain: no copy of the whole list when most records are of other ops).
    /// </summary>
    public List<KernelTraceRecord> Drain(IReadOnlySet<string> ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        var kept = new List<KernelTraceRecord>();
        foreach (var r in _records)
        {
            if (ops.Contains(r.Op))
            {
                kept.Add(r);
            }
        }
        _records.Clear();
        return kept;
    }

    /// <summary>Stops collecting.</summary>
    public void Dispose() => _subscription.Dispose();
}
