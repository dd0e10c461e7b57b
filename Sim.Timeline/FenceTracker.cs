// Fence tracks from the dma_fence tracepoints (include/trace/events/dma_fence.h), the way Perfetto's DRM tracker
// draws them from ftrace: a slice per fence from dma_fence_init to dma_fence_signaled on its context's track.
using System.Globalization;
using Sim.DmaBufs;

namespace Sim.Timeline;

/// <summary>
/// Turns <see cref="DmaFenceTraceRecord"/>s into fence slices (one track per context, split into lanes where
/// fences of one context overlap without nesting), wait slices inside the waiting call, and a flow from each
/// wait on an unsignalled fence to that fence's signal.
/// </summary>
internal sealed class FenceTracker(TimelineRecorder rec)
{
    private sealed class Open
    {
        public required DmaFenceTraceRecord Init;
        public long Start;
        public List<int> Waiters { get; } = [];
    }

    private sealed class Lane
    {
        public int Track;
        public long LastEnd;
    }

    private readonly Dictionary<(uint Context, uint Seqno), Open> _open = [];
    private readonly Dictionary<(uint Context, uint Seqno), (long Start, int Call)> _waiting = [];
    private readonly Dictionary<uint, List<Lane>> _lanes = [];
    private long _nextFlow = 1;

    public void OnRecord(DmaFenceTraceRecord r)
    {
        var key = (r.Context, r.Seqno);
        switch (r.Event)
        {
            case DmaFenceTraceEvent.dma_fence_init:
                _open[key] = new Open { Init = r, Start = rec.Now() };
                break;
            case DmaFenceTraceEvent.dma_fence_wait_start:
                if (_open.ContainsKey(key) && rec.CurrentCall >= 0)
                {
                    _waiting[key] = (rec.Now(), rec.CurrentCall);
                }
                break;
            case DmaFenceTraceEvent.dma_fence_wait_end:
                if (_waiting.Remove(key, out var w) && w.Call == rec.CurrentCall)
                {
                    long end = rec.Now();
                    var tl = rec.Tl;
                    int slice = tl.Slices.Count;
                    var s = new TimelineSlice
                    {
                        Track = tl.Slices[w.Call].Track, Name = "wait " + Name(r), Category = "wait", Start = w.Start,
                        Dur = end - w.Start, Parent = w.Call, Store = tl.ArgStore,
                    };
                    var a = rec.OtherArgs.Begin();
                    a.String("driver"u8, r.Driver);
                    a.Number("waited_ns"u8, end - w.Start);
                    s.ArgRange = a.Commit(tl.ArgStore);
                    tl.Slices.Add(s);
                    if (_open.TryGetValue(key, out var o))
                    {
                        o.Waiters.Add(slice);
                    }
                    else if (_signalSlice.TryGetValue(key, out int sig))
                    {
                        AddFlow(r, slice, sig); // signalled while the call waited (a timer fired during the wait)
                    }
                }
                break;
            case DmaFenceTraceEvent.dma_fence_signaled:
                if (_open.Remove(key, out var open))
                {
                    Close(open, rec.Now(), signalled: true);
                }
                break;
            default:
                break;
        }
    }

    private readonly Dictionary<(uint, uint), int> _signalSlice = [];

    private static string Name(DmaFenceTraceRecord r) => string.Create(CultureInfo.InvariantCulture, $"{r.Context}:{r.Seqno}");

    private void Close(Open o, long end, bool signalled)
    {
        var r = o.Init;
        var tl = rec.Tl;
        if (!_lanes.TryGetValue(r.Context, out var lanes))
        {
            lanes = [];
            _lanes.Add(r.Context, lanes);
        }
        Lane? lane = null;
        foreach (var l in lanes)
        {
            if (o.Start >= l.LastEnd)
            {
                lane = l;
                break;
            }
        }
        if (lane is null)
        {
            string name = string.Create(CultureInfo.InvariantCulture, $"fence-{r.Timeline}-{r.Context}");
            if (lanes.Count > 0)
            {
                name += string.Create(CultureInfo.InvariantCulture, $" ({lanes.Count + 1})");
            }
            lane = new Lane { Track = rec.KernelTrack(name, TimelineTrackKind.Fence) };
            lanes.Add(lane);
        }
        lane.LastEnd = end;
        int fence = tl.Slices.Count;
        var s = new TimelineSlice { Track = lane.Track, Name = "fence " + Name(r), Category = "fence", Start = o.Start, Dur = end - o.Start, Store = tl.ArgStore };
        var a = rec.OtherArgs.Begin();
        a.String("driver"u8, r.Driver);
        a.String("timeline"u8, r.Timeline);
        a.Number("context"u8, r.Context);
        a.Number("seqno"u8, r.Seqno);
        a.Bool("signaled"u8, signalled);
        s.ArgRange = a.Commit(tl.ArgStore);
        tl.Slices.Add(s);
        if (!signalled)
        {
            return;
        }
        // The signal: a short slice at the end of the fence, where waiters' arrows land.
        long d = Math.Min(s.Dur, 500);
        int sig = tl.Slices.Count;
        tl.Slices.Add(new TimelineSlice { Track = lane.Track, Name = "signal", Category = "signal", Start = end - d, Dur = d, Parent = fence });
        _signalSlice[(r.Context, r.Seqno)] = sig;
        foreach (int wait in o.Waiters)
        {
            AddFlow(r, wait, sig);
        }
    }

    private void AddFlow(DmaFenceTraceRecord r, int wait, int sig)
    {
        var f = new TimelineFlow { Id = _nextFlow++, Name = "wait → signal " + Name(r), Category = "fence" };
        f.Slices.Add(wait);
        f.Labels.Add("wait");
        f.Slices.Add(sig);
        f.Labels.Add("signal");
        rec.Tl.Flows.Add(f);
    }

    public void Finish(long end)
    {
        var rest = new List<Open>(_open.Values);
        rest.Sort((a, b) => a.Start.CompareTo(b.Start));
        foreach (var o in rest)
        {
            Close(o, end, signalled: false);
        }
        _open.Clear();
    }
}
