// The replay engine feeds a timeline through its one observation point (IReplayObserver).
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Sim.Core.Debug;
using Sim.Core.Replay;
using Sim.Core.Uapi;

namespace Sim.Timeline;

/// <summary>
/// Records a timeline of every file a <see cref="ReplayEngine"/> replays: each user event is a call on the traced
/// process's track (its important args and result, errno by name), each end-of-file step a call named
/// <c>exit: ...</c>; <c>note</c> events become instants. Where the trace has kernel-side events with a
/// timestamp (<c>args.ts</c>, cma-arm), the timeline is put on the capture's clock.
/// </summary>
public sealed class ReplayTimelineObserver : IReplayObserver
{
    private const int MaxArgs = 16;
    private const int MaxString = 80;
    private TimelineRecorder? _rec;
    private Sim.Core.Kernel.Process? _proc;
    private int _track = -1;
    private bool _open;

    /// <summary>The timelines of the files replayed so far, in order.</summary>
    public List<Timeline> Timelines { get; } = [];

    /// <inheritdoc/>
    public void FileStarted(ReplaySession context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _rec?.Dispose();
        _rec = new TimelineRecorder(context.Machine, Path.GetFileName(context.File));
        _proc = null;
        _track = -1;
    }

    private int Track(ReplaySession ctx)
    {
        var p = ctx.TracedProcessOrNull;
        if (_track < 0 || !ReferenceEquals(p, _proc))
        {
            _proc = p;
            _track = p is null ? _rec!.ProcessTrack(1, "traced") : _rec!.ProcessTrack(p.Pid, p.Comm);
        }
        return _track;
    }

    /// <inheritdoc/>
    public void EventStarting(ReplaySession context, TraceEvent ev, string? exitStep)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(ev);
        if (_rec is null)
        {
            return;
        }
        _open = false;
        if (exitStep is not null)
        {
            _rec.BeginCall(Track(context), "exit: " + exitStep, -1, "exit");
            _open = true;
            return;
        }
        if (ReplayEngine.InformationalOps.Contains(ev.Op))
        {
            return;
        }
        _rec.BeginCall(Track(context), ev.Op, ev.I);
        _open = true;
        var a = _rec.CallArgs!;
        a.Number("i"u8, ev.I);
        if (ev.Fd is { } fd)
        {
            a.Number("fd"u8, fd);
        }
        Scalars(a, "args."u8, ev.Args);
    }

    // The scalar members of an object as prefix.name arguments, copied as UTF-8 from the parsed line (no strings
    // built: names and values are the trace's own bytes; only strings over MaxString are decoded to be cut).
    private static void Scalars(TimelineArgWriter a, ReadOnlySpan<byte> prefix, JsonElement obj)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        Span<byte> key = stackalloc byte[128];
        Span<char> text = stackalloc char[32];
        prefix.CopyTo(key);
        var w = a.Json;
        int n = 0;
        foreach (var p in obj.EnumerateObject())
        {
            if (n++ >= MaxArgs)
            {
                break;
            }
            var kind = p.Value.ValueKind;
            if (kind is not (JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.String or JsonValueKind.Array))
            {
                continue;
            }
            var rawName = JsonMarshal.GetRawUtf8PropertyName(p);
            if (rawName.Length <= key.Length - prefix.Length && rawName.IndexOf((byte)'\\') < 0)
            {
                rawName.CopyTo(key[prefix.Length..]);
                w.WritePropertyName(key[..(prefix.Length + rawName.Length)]);
            }
            else
            {
                w.WritePropertyName(Encoding.UTF8.GetString(prefix) + p.Name);
            }
            switch (kind)
            {
                case JsonValueKind.String:
                    var raw = JsonMarshal.GetRawUtf8Value(p.Value);
                    if (raw.Length - 2 <= MaxString)
                    {
                        w.WriteRawValue(raw, skipInputValidation: true); // at most MaxString bytes: at most MaxString chars
                    }
                    else
                    {
                        string s = p.Value.GetString()!;
                        w.WriteStringValue(s.Length > MaxString ? string.Concat(s.AsSpan(0, MaxString), "…") : s);
                    }
                    break;
                case JsonValueKind.Array:
                    text.TryWrite(CultureInfo.InvariantCulture, $"[{p.Value.GetArrayLength()} items]", out int len);
                    w.WriteStringValue(text[..len]);
                    break;
                default:
                    w.WriteRawValue(JsonMarshal.GetRawUtf8Value(p.Value), skipInputValidation: true);
                    break;
            }
            a.Counted();
        }
    }

    /// <inheritdoc/>
    public void KernelRecord(ReplaySession context, KernelTraceRecord record) => _rec?.KernelRecord(record);

    /// <inheritdoc/>
    public void EventFinished(ReplaySession context, TraceEvent ev, string? exitStep, ReplayCheck check)
    {
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(check);
        if (_rec is null)
        {
            return;
        }
        if (!_open)
        {
            if (exitStep is null && ev.Op == "note" && ev.ArgString("text") is { } text)
            {
                _rec.Note(Track(context), text);
            }
            return;
        }
        bool error = false;
        if (exitStep is null)
        {
            Scalars(_rec.CallArgs!, "result."u8, ev.Result);
            long ret = ev.Ret;
            string? errno = ev.Result.TryGetProperty("errno_name", out var en) && en.ValueKind == JsonValueKind.String ? en.GetString() : null;
            if (errno is null && ret < 0 && ret >= -4095)
            {
                errno = ErrnoNames.NameOf(ret);
            }
            error = ret < 0 || errno is not null;
            if (errno is not null)
            {
                _rec.CallArgs!.String("errno"u8, errno);
            }
            if (ev.KernelSide.Count > 0)
            {
                Anchor(ev);
            }
        }
        _rec.CallArgs!.String("replay"u8, check.Differences.Count > 0 ? "failed" : check.Skipped ? "skipped" : "passed");
        _rec.EndCall(error);
        _open = false;
    }

    private void Anchor(TraceEvent ev)
    {
        List<(string, long)>? traced = null;
        foreach (var k in ev.KernelSide)
        {
            if (k.Args.TryGetProperty("ts", out var ts) && ts.ValueKind == JsonValueKind.Number)
            {
                (traced ??= []).Add((k.Op, (long)Math.Round(ts.GetDouble() * 1e9)));
            }
        }
        if (traced is not null)
        {
            _rec!.AnchorCall(traced);
        }
    }

    /// <inheritdoc/>
    public void FileFinished(ReplaySession context, FileResult result)
    {
        if (_rec is null)
        {
            return;
        }
        Timelines.Add(_rec.Finish());
        _rec = null;
    }
}
