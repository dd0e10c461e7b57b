// A recorded timeline: what Perfetto's trace processor would hold after importing a DRM/dma-buf ftrace, built
// from the simulator's own hooks instead (slices per call, fence slices, flows along buffers, counters).
namespace Sim.Timeline;

/// <summary>What a track shows.</summary>
public enum TimelineTrackKind
{
    /// <summary>A simulated process (one thread): a slice per call.</summary>
    Process,

    /// <summary>A fence context (<c>fence-&lt;timeline&gt;-&lt;context&gt;</c>, one lane of it): a slice per fence from init to signal.</summary>
    Fence,
}

/// <summary>One track: a (pid, tid) pair in the Trace Event Format.</summary>
public sealed record TimelineTrack(int Id, int Pid, int Tid, string ProcessName, string Name, TimelineTrackKind Kind);

/// <summary>A key and its printed value.</summary>
public readonly record struct TimelineArg(string Key, string Value, bool Quoted);

/// <summary>One slice: a call, a wait inside a call, a fence or a fence's signal.</summary>
public sealed class TimelineSlice
{
    /// <summary>The track's id.</summary>
    public int Track { get; init; }

    /// <summary>The name (the call's op, <c>wait</c>, the fence's <c>context:seqno</c>).</summary>
    public required string Name { get; set; }

    /// <summary><c>syscall</c>, <c>exit</c>, <c>wait</c>, <c>fence</c>, <c>signal</c>.</summary>
    public required string Category { get; init; }

    /// <summary>Start, ns on the timeline's axis.</summary>
    public long Start { get; set; }

    /// <summary>Duration, ns.</summary>
    public long Dur { get; set; }

    /// <summary>End, ns.</summary>
    public long End => Start + Dur;

    /// <summary>The enclosing slice's index, or -1.</summary>
    public int Parent { get; init; } = -1;

    /// <summary>The trace event's <c>i</c> for a call (-1 for exit steps and kernel slices).</summary>
    public long Index { get; init; } = -1;

    /// <summary>True when the call failed (negative return, an errno).</summary>
    public bool Error { get; set; }

    /// <summary>Where the slice's arguments are in <see cref="Store"/>.</summary>
    public TimelineArgRange ArgRange { get; set; }

    /// <summary>The store holding the arguments (the timeline's).</summary>
    public TimelineArgStore? Store { get; set; }

    /// <summary>True when the slice has arguments.</summary>
    public bool HasArgs => !ArgRange.IsEmpty;

    /// <summary>The slice's arguments, decoded (a new list each time: for the page and the summary, not a hot path).</summary>
    public List<TimelineArg> Args => Store is { } st ? st.Decode(ArgRange) : [];
}

/// <summary>An instant on a track (a WARN, a kernel trace record).</summary>
public sealed class TimelineInstant(int track, string name, string category, long ts, int slice, TimelineArgStore store, TimelineArgRange args)
{
    /// <summary>The track's id.</summary>
    public int Track { get; } = track;

    /// <summary>The name.</summary>
    public string Name { get; } = name;

    /// <summary><c>warn</c>, <c>kernel</c>, <c>note</c>.</summary>
    public string Category { get; } = category;

    /// <summary>The time, ns (settable for the time map).</summary>
    public long Ts { get; set; } = ts;

    /// <summary>The enclosing call's slice, or -1.</summary>
    public int Slice { get; } = slice;

    /// <summary>Where the arguments are in <see cref="Store"/>.</summary>
    public TimelineArgRange ArgRange { get; } = args;

    /// <summary>The store holding the arguments.</summary>
    public TimelineArgStore Store { get; } = store;

    /// <summary>The arguments, decoded (a new list each time).</summary>
    public List<TimelineArg> Args => Store.Decode(ArgRange);
}

/// <summary>A flow: arrows through slices in order (waiter to signal, or along a buffer's life).</summary>
public sealed class TimelineFlow
{
    /// <summary>Unique id.</summary>
    public long Id { get; init; }

    /// <summary>The flow's name.</summary>
    public required string Name { get; init; }

    /// <summary><c>fence</c> or <c>buffer</c>.</summary>
    public required string Category { get; init; }

    /// <summary>The slices it passes, in order (at least two).</summary>
    public List<int> Slices { get; } = [];

    /// <summary>What happened at each slice.</summary>
    public List<string> Labels { get; } = [];
}

/// <summary>A counter track: samples where its value changed.</summary>
public sealed class TimelineCounter(string name, string unit)
{
    /// <summary>The counter's name.</summary>
    public string Name { get; } = name;

    /// <summary>The unit (<c>pages</c>, <c>objects</c>, <c>bytes</c>, <c>slots</c>).</summary>
    public string Unit { get; } = unit;

    /// <summary>Samples (time ns, value), the first at boot.</summary>
    public List<(long Ts, long Value)> Samples { get; } = [];

    /// <summary>True for the materialised-RAM counter (it may keep what it gained).</summary>
    public bool MayGrow { get; init; }

    internal void Sample(long ts, long value)
    {
        if (Samples.Count > 0 && Samples[^1].Value == value)
        {
            return;
        }
        if (Samples.Count > 0 && Samples[^1].Ts == ts)
        {
            Samples[^1] = (ts, value);
            return;
        }
        Samples.Add((ts, value));
    }
}

/// <summary>A buffer's life as the summary shows it.</summary>
public sealed class TimelineBuffer
{
    /// <summary>Number from 1 in creation order.</summary>
    public int Id { get; init; }

    /// <summary>What it is (<c>vgem gem object 4096 B</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Created at, ns.</summary>
    public long Created { get; set; }

    /// <summary>Released at (last object gone), ns, or null when alive at the end.</summary>
    public long? Released { get; set; }

    /// <summary>The tracks (processes) that acted on it.</summary>
    public SortedSet<string> Holders { get; } = new(StringComparer.Ordinal);

    /// <summary>Slices of its life and what happened there.</summary>
    public List<(int Slice, string Label)> Steps { get; } = [];
}

/// <summary>A whole timeline of one replay or run.</summary>
public sealed class Timeline
{
    /// <summary>A title (the trace's name).</summary>
    public required string Title { get; init; }

    /// <summary>
    /// <c>capture</c>: the axis is the capture's own clock (kernel-side <c>ts</c>), calls between anchors
    /// interpolated; <c>simulated</c>: every call costs <see cref="TimelineRecorder.CallCostNs"/> plus its waits.
    /// </summary>
    public required string TimeBase { get; init; }

    /// <summary>The arguments of every slice and instant.</summary>
    public TimelineArgStore ArgStore { get; init; } = new();

    /// <summary>Tracks by id.</summary>
    public List<TimelineTrack> Tracks { get; } = [];

    /// <summary>Slices (a parent before its children).</summary>
    public List<TimelineSlice> Slices { get; } = [];

    /// <summary>Instants.</summary>
    public List<TimelineInstant> Instants { get; } = [];

    /// <summary>Flows.</summary>
    public List<TimelineFlow> Flows { get; } = [];

    /// <summary>Counters.</summary>
    public List<TimelineCounter> Counters { get; } = [];

    /// <summary>Buffers.</summary>
    public List<TimelineBuffer> Buffers { get; } = [];

    /// <summary>The first time on the axis, ns.</summary>
    public long Begin { get; set; }

    /// <summary>The last time on the axis, ns.</summary>
    public long End { get; set; }

    /// <summary>
    /// Where a flow binds to a slice: a point inside it before any child or instant starts, so the slice that
    /// encloses it most deeply is that slice (Trace Event Format flows bind to the enclosing slice).
    /// </summary>
    public long AnchorOf(int slice)
    {
        _anchors ??= ComputeAnchors();
        return _anchors[slice];
    }

    private long[]? _anchors;

    private long[] ComputeAnchors()
    {
        var first = new long[Slices.Count];
        for (int k = 0; k < Slices.Count; k++)
        {
            first[k] = Slices[k].End;
        }
        for (int k = 0; k < Slices.Count; k++)
        {
            int p = Slices[k].Parent;
            if (p >= 0)
            {
                first[p] = Math.Min(first[p], Slices[k].Start);
            }
        }
        foreach (var i in Instants)
        {
            if (i.Slice >= 0)
            {
                first[i.Slice] = Math.Min(first[i.Slice], i.Ts);
            }
        }
        var a = new long[Slices.Count];
        for (int k = 0; k < Slices.Count; k++)
        {
            a[k] = Slices[k].Start + Math.Min((first[k] - Slices[k].Start) / 2, TimelineRecorder.CallCostNs / 8);
        }
        return a;
    }
}
