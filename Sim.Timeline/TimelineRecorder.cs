// Records a timeline from one machine: calls from whoever drives it (the replay engine's observer, the stress
// loop, later `run`), kernel trace records, dma_fence tracepoints, live-object lifetimes and counters.
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.DmaBufs;
using Sim.Drm;

namespace Sim.Timeline;

/// <summary>
/// The recorder of one machine's timeline. A driver brackets each user-visible call with <see cref="BeginCall"/> and
/// <see cref="EndCall"/> (nothing else is needed: the machine's own hooks give the rest). Time is simulated: every
/// call costs <see cref="CallCostNs"/> plus the simulated time its waits took (ktime alone advances only in waits);
/// kernel records inside a call are spread over its first half in firing order. <see cref="AddAnchor"/> ties a
/// simulated instant to a capture's own timestamp; with anchors the finished timeline is on the capture's clock.
/// </summary>
public sealed class TimelineRecorder : IDisposable
{
    /// <summary>What one call costs on the simulated axis: 10 µs (documented in the README), plus its waits.</summary>
    public const long CallCostNs = 10_000;

    private const long Half = CallCostNs / 2;
    private const int KernelPid = 0;

    private readonly Timeline _tl;
    private readonly Ktime? _clock;
    private readonly Warnings? _warnings;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly Dictionary<(int Pid, int Tid), int> _trackOf = [];
    private readonly FenceTracker _fences;
    private readonly BufferTracker _buffers;
    private readonly TimelineCounters _counters;
    private readonly List<(long Sim, long Capture)> _anchors = [];
    private readonly List<(string Op, long Ts)> _callRecords = [];
    private readonly TimelineArgWriter _callArgs = new();
    private readonly TimelineArgWriter _otherArgs = new();
    private long _cursor;
    private int _call = -1;
    private int _callTrack = -1;
    private long _callKtime;
    private int _callRecordsSeen;
    private int _warnSeen;
    private bool _finished;

    /// <summary>Starts recording <paramref name="machine"/> (its boot state is the counters' first sample).</summary>
    public TimelineRecorder(IServiceProvider machine, string title)
    {
        ArgumentNullException.ThrowIfNull(machine);
        _tl = new Timeline { Title = title, TimeBase = "simulated" };
        _clock = machine.GetService<Ktime>();
        _warnings = machine.GetService<Warnings>();
        _warnSeen = _warnings?.Count ?? 0;
        _fences = new FenceTracker(this);
        _buffers = new BufferTracker(this);
        _counters = new TimelineCounters(machine, _tl);
        if (machine.GetService<DmaFenceTrace>() is { } ft)
        {
            ft.Emitted += _fences.OnRecord;
            _subscriptions.Add(new Unsubscribe(() => ft.Emitted -= _fences.OnRecord));
        }
        if (machine.GetService<LiveObjects>() is { } live)
        {
            live.Changed += OnLive;
            _subscriptions.Add(new Unsubscribe(() => live.Changed -= OnLive));
        }
        _counters.Sample(0);
    }

    internal Timeline Tl => _tl;

    /// <summary>The arguments of the call in progress (write more with it), or null when no call is open.</summary>
    public TimelineArgWriter? CallArgs => _call >= 0 ? _callArgs : null;

    /// <summary>A writer for the arguments of a slice or instant written in one go (not the call's).</summary>
    internal TimelineArgWriter OtherArgs => _otherArgs;

    /// <summary>The slice of the call in progress, or -1.</summary>
    public int CurrentCall => _call;

    /// <summary>The track of the call in progress, or -1.</summary>
    internal int CurrentTrack => _callTrack;

    /// <summary>The track of a process's thread, created on first use.</summary>
    public int ProcessTrack(int pid, string comm, int tid = -1)
    {
        if (tid < 0)
        {
            tid = pid;
        }
        if (!_trackOf.TryGetValue((pid, tid), out int id))
        {
            id = _tl.Tracks.Count;
            string name = tid == pid ? comm : string.Create(CultureInfo.InvariantCulture, $"{comm} thread {tid}");
            _tl.Tracks.Add(new TimelineTrack(id, pid, tid, string.Create(CultureInfo.InvariantCulture, $"{comm} (pid {pid})"), name, TimelineTrackKind.Process));
            _trackOf.Add((pid, tid), id);
        }
        return id;
    }

    internal int KernelTrack(string name, TimelineTrackKind kind)
    {
        int tid = 1_000_000 + _tl.Tracks.Count;
        int id = _tl.Tracks.Count;
        _tl.Tracks.Add(new TimelineTrack(id, KernelPid, tid, "kernel (simulated)", name, kind));
        return id;
    }

    /// <summary>Opens a call on <paramref name="track"/>: its slice starts now.</summary>
    public int BeginCall(int track, string name, long index, string category = "syscall")
    {
        if (_call >= 0)
        {
            EndCall(false);
        }
        var s = new TimelineSlice { Track = track, Name = name, Category = category, Start = _cursor, Index = index, Store = _tl.ArgStore };
        _callArgs.Begin();
        _call = _tl.Slices.Count;
        _tl.Slices.Add(s);
        _callTrack = track;
        _callKtime = _clock?.NowNs ?? 0;
        _callRecordsSeen = 0;
        _callRecords.Clear();
        return _call;
    }

    /// <summary>Names the call in progress (when its name is known only at its end).</summary>
    public void Name(string name)
    {
        if (_call >= 0)
        {
            _tl.Slices[_call].Name = name;
        }
    }

    /// <summary>Adds an argument to the call in progress.</summary>
    public void Arg(string key, string value, bool quoted = false)
    {
        if (_call >= 0)
        {
            if (quoted)
            {
                _callArgs.String(key, value);
            }
            else
            {
                _callArgs.Raw(key, value);
            }
        }
    }

    /// <summary>The time of something happening now: inside a call, after its waits so far, in firing order.</summary>
    public long Now()
    {
        if (_call < 0)
        {
            return _cursor;
        }
        long waited = (_clock?.NowNs ?? 0) - _callKtime;
        int k = _callRecordsSeen++;
        long offset = Half - (k >= 62 ? 0 : Half >> (k + 1));
        return _tl.Slices[_call].Start + waited + offset;
    }

    /// <summary>Closes the call in progress (its WARNs become instants; buffers and counters are brought up to date).</summary>
    public void EndCall(bool error)
    {
        if (_call < 0)
        {
            return;
        }
        var s = _tl.Slices[_call];
        long waited = (_clock?.NowNs ?? 0) - _callKtime;
        s.Dur = CallCostNs + waited;
        s.Error = error;
        s.ArgRange = _callArgs.Commit(_tl.ArgStore);
        if (_warnings is { } w && w.Count > _warnSeen)
        {
            long ts = s.Start + waited + Half + (Half / 2);
            for (int k = _warnSeen; k < w.Count; k++)
            {
                var r = w.Records[k];
                _otherArgs.Begin().String("function"u8, r.Function);
                _tl.Instants.Add(new TimelineInstant(_callTrack, "WARN_ON(" + r.Condition + ")", "warn", ts, _call, _tl.ArgStore, _otherArgs.Commit(_tl.ArgStore)));
            }
            _warnSeen = w.Count;
        }
        _buffers.EndCall(_call);
        _cursor = s.End;
        _counters.Sample(_cursor);
        _call = -1;
        _callTrack = -1;
    }

    /// <summary>A note of the trace (what the capture program said it was doing): an instant on <paramref name="track"/>.</summary>
    public void Note(int track, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _otherArgs.Begin().String("text"u8, text);
        _tl.Instants.Add(new TimelineInstant(track, text.Length > 60 ? text[..60] + "…" : text, "note", _cursor, -1, _tl.ArgStore, _otherArgs.Commit(_tl.ArgStore)));
    }

    /// <summary>A kernel trace record (tracepoint or kprobe) fired now: an instant on the calling track.</summary>
    public void KernelRecord(KernelTraceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        long ts = Now();
        _callRecords.Add((record.Op, ts));
        if (_call < 0)
        {
            return;
        }
        var a = _otherArgs.Begin();
        var w = a.Json;
        var fields = record.Fields;
        for (int k = 0; k < fields.Count; k++)
        {
            var f = fields[k];
            switch (f.Value)
            {
                case string str:
                    w.WriteString(f.Name, str);
                    break;
                case ulong u:
                    w.WriteNumber(f.Name, u);
                    break;
                case long l:
                    w.WriteNumber(f.Name, l);
                    break;
                case int i32:
                    w.WriteNumber(f.Name, i32);
                    break;
                case uint u32:
                    w.WriteNumber(f.Name, u32);
                    break;
                case bool b:
                    w.WriteBoolean(f.Name, b);
                    break;
                case null:
                    w.WriteNull(f.Name);
                    break;
                default:
                    w.WriteString(f.Name, KernelTraceRecord.Format(f.Value));
                    break;
            }
            a.Counted();
        }
        _tl.Instants.Add(new TimelineInstant(_callTrack, record.Op, "kernel", ts, _call, _tl.ArgStore, a.Commit(_tl.ArgStore)));
    }

    /// <summary>
    /// Ties the call in progress to a capture's clock: <paramref name="traced"/> are the capture's kernel-side
    /// events of this call (op and timestamp, ns), matched in order with the records the models fired.
    /// </summary>
    public void AnchorCall(IReadOnlyList<(string Op, long CaptureNs)> traced)
    {
        ArgumentNullException.ThrowIfNull(traced);
        if (_call < 0 || traced.Count == 0)
        {
            return;
        }
        var s = _tl.Slices[_call];
        const long Pad = 1_000;
        AddAnchor(s.Start, traced[0].CaptureNs - Pad);
        int r = 0;
        foreach (var (op, ns) in traced)
        {
            while (r < _callRecords.Count && _callRecords[r].Op != op)
            {
                r++;
            }
            if (r < _callRecords.Count)
            {
                AddAnchor(_callRecords[r].Ts, ns);
                r++;
            }
        }
        long waited = (_clock?.NowNs ?? 0) - _callKtime;
        AddAnchor(s.Start + waited + CallCostNs, traced[^1].CaptureNs + Pad);
    }

    /// <summary>Ties simulated instant <paramref name="simNs"/> to the capture's <paramref name="captureNs"/>.</summary>
    public void AddAnchor(long simNs, long captureNs)
    {
        if (_anchors.Count > 0 && (simNs <= _anchors[^1].Sim || captureNs <= _anchors[^1].Capture))
        {
            return; // keep the map strictly increasing: a later anchor that would fold time back is dropped
        }
        _anchors.Add((simNs, captureNs));
    }

    private void OnLive(LiveObject o, bool alive)
    {
        _counters.OnLive(o, alive);
        _buffers.OnLive(o, alive);
    }

    /// <summary>Ends the recording: open fences end here, flows are built, the axis is mapped. Idempotent.</summary>
    public Timeline Finish()
    {
        if (_finished)
        {
            return _tl;
        }
        EndCall(false);
        _finished = true;
        Dispose();
        _fences.Finish(_cursor);
        _buffers.Finish(_cursor);
        _tl.Begin = 0;
        _tl.End = _cursor;
        if (_anchors.Count > 0)
        {
            return Remap();
        }
        return _tl;
    }

    private Timeline Remap()
    {
        var map = new TimeMap(_anchors);
        var tl = new Timeline { Title = _tl.Title, TimeBase = "capture", ArgStore = _tl.ArgStore };
        tl.Tracks.AddRange(_tl.Tracks);
        foreach (var s in _tl.Slices)
        {
            long a = map.Map(s.Start);
            long b = map.Map(s.End);
            s.Start = a;
            s.Dur = b - a;
            tl.Slices.Add(s);
        }
        foreach (var i in _tl.Instants)
        {
            i.Ts = map.Map(i.Ts);
            tl.Instants.Add(i);
        }
        tl.Flows.AddRange(_tl.Flows);
        foreach (var c in _tl.Counters)
        {
            for (int k = 0; k < c.Samples.Count; k++)
            {
                c.Samples[k] = (map.Map(c.Samples[k].Ts), c.Samples[k].Value);
            }
            tl.Counters.Add(c);
        }
        foreach (var b in _tl.Buffers)
        {
            b.Created = map.Map(b.Created);
            b.Released = b.Released is { } r ? map.Map(r) : null;
            tl.Buffers.Add(b);
        }
        tl.Begin = map.Map(_tl.Begin);
        tl.End = map.Map(_tl.End);
        return tl;
    }

    /// <summary>Stops listening to the machine.</summary>
    public void Dispose()
    {
        foreach (var s in _subscriptions)
        {
            s.Dispose();
        }
        _subscriptions.Clear();
    }

    private sealed class Unsubscribe(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}

/// <summary>Piecewise-linear map from simulated to capture time through strictly increasing anchors; 1:1 outside them.</summary>
internal sealed class TimeMap(List<(long Sim, long Capture)> anchors)
{
    public long Map(long sim)
    {
        if (sim <= anchors[0].Sim)
        {
            return anchors[0].Capture - (anchors[0].Sim - sim);
        }
        if (sim >= anchors[^1].Sim)
        {
            return anchors[^1].Capture + (sim - anchors[^1].Sim);
        }
        int lo = 0;
        int hi = anchors.Count - 1;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) >>> 1;
            if (anchors[mid].Sim <= sim)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        var (s0, c0) = anchors[lo];
        var (s1, c1) = anchors[hi];
        return c0 + (long)((double)(sim - s0) * (c1 - c0) / (s1 - s0));
    }
}
