using System.Text.Json;

namespace Sim.Core.Replay;

/// <summary>
/// One event of a trace (or one case of a vector file): <c>{"i":n,"op":...,"fd":F,"request":R,"args":{...},
/// "result":{...}}</c>. Kernel-side events that happened during it (<c>args.during</c> = its <c>i</c>) are in
/// <see cref="KernelSide"/>. The JSON is owned by the reader and valid while the event is being replayed;
/// a handler that keeps data for later copies it (<see cref="JsonElement.Clone"/>).
/// </summary>
public sealed class TraceEvent
{
    private static readonly JsonElement s_empty = JsonDocument.Parse("{}").RootElement.Clone();

    internal TraceEvent(string file, long line, long i, string op, JsonElement root)
    {
        File = file;
        Line = line;
        I = i;
        Op = op;
        Root = root;
        Args = root.TryGetProperty("args", out var a) && a.ValueKind == JsonValueKind.Object ? a : s_empty;
        Result = root.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object ? r : s_empty;
    }

    internal TraceEvent(string file, long line, long i, string op, JsonElement root, JsonElement args, JsonElement result)
    {
        File = file;
        Line = line;
        I = i;
        Op = op;
        Root = root;
        Args = args;
        Result = result;
    }

    /// <summary>The file it came from.</summary>
    public string File { get; }

    /// <summary>1-based line number in the file.</summary>
    public long Line { get; }

    /// <summary>The event index <c>i</c> (vector files: the 0-based case number).</summary>
    public long I { get; }

    /// <summary>The op (<c>DRM_IOCTL_MODE_CREATE_DUMB</c>, <c>dma_map_sgtable</c>, <c>sg_trim</c>, ...).</summary>
    public string Op { get; }

    /// <summary>The whole line.</summary>
    public JsonElement Root { get; }

    /// <summary><c>args</c> (vector files: the whole case).</summary>
    public JsonElement Args { get; }

    /// <summary><c>result</c> (vector files: <c>expect</c>).</summary>
    public JsonElement Result { get; }

    /// <summary>Kernel-side events with <c>args.during</c> = this event's <c>i</c>, in file order.</summary>
    public List<TraceEvent> KernelSide { get; } = [];

    /// <summary>The <c>during</c> index of a kernel-side event, or null.</summary>
    public long? During => Args.TryGetProperty("during", out var d) && TraceNumber.TryGetI64(d, out long v) ? v : null;

    /// <summary>Top-level <c>fd</c>, or null.</summary>
    public long? Fd => Root.TryGetProperty("fd", out var f) && TraceNumber.TryGetI64(f, out long v) ? v : null;

    /// <summary>Top-level <c>pid</c> (version 2: the process that made the call), or null.</summary>
    public int? Pid => Root.ValueKind == JsonValueKind.Object && Root.TryGetProperty("pid", out var f) && TraceNumber.TryGetI64(f, out long v) ? (int)v : null;

    /// <summary>Top-level <c>tid</c> (version 2: the thread that made the call), or null.</summary>
    public int? Tid => Root.ValueKind == JsonValueKind.Object && Root.TryGetProperty("tid", out var f) && TraceNumber.TryGetI64(f, out long v) ? (int)v : null;

    /// <summary>Top-level ioctl <c>request</c>, or null.</summary>
    public ulong? Request => Root.TryGetProperty("request", out var f) && TraceNumber.TryGetU64(f, out ulong v) ? v : null;

    /// <summary>True if <c>args</c> has the field.</summary>
    public bool HasArg(string name) => Args.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null;

    /// <summary>True if <c>result</c> has the field.</summary>
    public bool HasResult(string name) => Result.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null;

    /// <summary>An integer argument; throws <see cref="TraceFormatException"/> naming file, line and field when missing.</summary>
    public ulong ArgU64(string name) => GetU64(Args, name, "args.");

    /// <summary>A signed integer argument.</summary>
    public long ArgI64(string name) => GetI64(Args, name, "args.");

    /// <summary>An integer argument, or <paramref name="fallback"/> when absent.</summary>
    public ulong ArgU64(string name, ulong fallback) => Args.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? GetU64(Args, name, "args.") : fallback;

    /// <summary>A signed integer argument, or <paramref name="fallback"/> when absent.</summary>
    public long ArgI64(string name, long fallback) => Args.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? GetI64(Args, name, "args.") : fallback;

    /// <summary>A string argument or null.</summary>
    public string? ArgString(string name) => Args.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    /// <summary>An integer result field.</summary>
    public ulong ResultU64(string name) => GetU64(Result, name, "result.");

    /// <summary>A signed integer result field.</summary>
    public long ResultI64(string name) => GetI64(Result, name, "result.");

    /// <summary><c>result.ret</c> (0 when absent).</summary>
    public long Ret => Result.TryGetProperty("ret", out var e) && TraceNumber.TryGetI64(e, out long v) ? v : 0;

    private ulong GetU64(JsonElement obj, string name, string prefix)
    {
        if (!obj.TryGetProperty(name, out var e))
        {
            throw new TraceFormatException(File, Line, "missing", prefix + name);
        }
        if (!TraceNumber.TryGetU64(e, out ulong v))
        {
            throw new TraceFormatException(File, Line, $"not an integer: {e.GetRawText()}", prefix + name);
        }
        return v;
    }

    private long GetI64(JsonElement obj, string name, string prefix)
    {
        if (!obj.TryGetProperty(name, out var e))
        {
            throw new TraceFormatException(File, Line, "missing", prefix + name);
        }
        if (!TraceNumber.TryGetI64(e, out long v))
        {
            throw new TraceFormatException(File, Line, $"not an integer: {e.GetRawText()}", prefix + name);
        }
        return v;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{File}:{Line} i={I} {Op}";
}
