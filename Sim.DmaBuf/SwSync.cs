// Models drivers/dma-buf/sw_sync.c and sync_debug.h (Linux 6.1): software timelines whose fences tests signal
// by hand. The debugfs/ioctl uAPI is not modelled; the timeline is driven through its methods.
using System.Globalization;
using Sim.Core;
using Sim.Core.Lib;
using Sim.Core.Uapi;

namespace Sim.DmaBuf;

/// <summary>
/// <c>struct sync_timeline</c>: a counter (<see cref="Value"/>) on its own fence context; its points
/// (<see cref="SyncPt"/>) signal once the counter reaches their seqno (u32 wrap-around compare). Refcounted: each
/// point holds a reference, the creator (the sw_sync file) one more.
/// </summary>
[Kernel("sync_timeline", "drivers/dma-buf/sync_debug.h")]
public sealed class SyncTimeline
{
    private readonly List<SyncPt> _ptList = [];
    private Kref _kref;
    private long _liveId;

    private SyncTimeline(DmaFenceCore core, string name)
    {
        Core = core;
        Name = name;
    }

    /// <summary>The machine's fence core.</summary>
    public DmaFenceCore Core { get; }

    /// <summary><c>name</c> (the creating task's comm).</summary>
    public string Name { get; }

    /// <summary><c>context</c>: one fence context of its own.</summary>
    public ulong Context { get; private set; }

    /// <summary><c>value</c>: the last signalled point.</summary>
    public uint Value { get; private set; }

    /// <summary>Points not yet signalled, in seqno order (<c>pt_list</c>).</summary>
    public IReadOnlyList<SyncPt> ActivePoints => _ptList;

    /// <summary><c>kref_read</c>.</summary>
    public int RefCount => _kref.Read;

    /// <summary><c>sync_timeline_create(name)</c>: a new timeline at value 0 with a new context.</summary>
    [Kernel("sync_timeline_create", "drivers/dma-buf/sw_sync.c")]
    public static SyncTimeline Create(DmaFenceCore core, string name)
    {
        var obj = new SyncTimeline(core, name);
        obj._kref.Init();
        obj.Context = core.ContextAlloc(1);
        obj._liveId = core.LiveObjects.Register("sync_timeline", name);
        return obj;
    }

    /// <summary><c>sync_timeline_get</c>.</summary>
    [Kernel("sync_timeline_get", "drivers/dma-buf/sw_sync.c")]
    public void Get() => _kref.Get();

    /// <summary><c>sync_timeline_put</c>: the last reference frees the timeline.</summary>
    [Kernel("sync_timeline_put", "drivers/dma-buf/sw_sync.c")]
    public void Put() => _kref.Put(Free);

    [Kernel("sync_timeline_free", "drivers/dma-buf/sw_sync.c")]
    private void Free() => Core.LiveObjects.Unregister(_liveId);

    /// <summary>
    /// <c>sync_timeline_signal(obj, inc)</c>: advances the counter by <paramref name="inc"/> and signals, in order,
    /// every point it reached.
    /// </summary>
    [Kernel("sync_timeline_signal", "drivers/dma-buf/sw_sync.c")]
    public void Signal(uint inc)
    {
        Value = unchecked(Value + inc);
        var signalled = new List<SyncPt>();
        while (_ptList.Count > 0)
        {
            var pt = _ptList[0];
            if (!SyncPt.TimelineFenceSignaled(pt))
            {
                break;
            }
            pt.Get();
            _ptList.RemoveAt(0);
            pt.Linked = false;
            signalled.Add(pt);
            pt.SignalLocked();
        }
        foreach (var pt in signalled)
        {
            pt.Put();
        }
    }

    /// <summary>
    /// <c>sync_pt_create(obj, value)</c>: a point at <paramref name="value"/> (a reference for the caller). An
    /// unsignalled point with the same value that is still alive is returned instead of a new one.
    /// </summary>
    [Kernel("sync_pt_create", "drivers/dma-buf/sw_sync.c")]
    public SyncPt CreatePt(uint value)
    {
        var pt = new SyncPt(this);
        Get();
        pt.Init(Core, SyncPt.TimelineFenceOps, Context, value);
        if (!pt.IsSignaledLocked())
        {
            // The rb-tree walk: equal values reuse a live point, otherwise go left of it.
            int pos = 0;
            for (; pos < _ptList.Count; pos++)
            {
                var other = _ptList[pos];
                int cmp = unchecked((int)(value - (uint)other.Seqno));
                if (cmp > 0)
                {
                    continue;
                }
                if (cmp == 0 && other.GetRcu() is not null)
                {
                    // kfree(pt) of the unused point: it was initialised, so undo that without a release.
                    pt.Abandon();
                    Put();
                    return other;
                }
                break;
            }
            _ptList.Insert(pos, pt);
            pt.Linked = true;
        }
        return pt;
    }

    /// <summary>
    /// <c>sw_sync_debugfs_release</c>: closing the sw_sync file signals every pending point with <c>-ENOENT</c>
    /// and drops the creator's reference.
    /// </summary>
    [Kernel("sw_sync_debugfs_release", "drivers/dma-buf/sw_sync.c")]
    public void Close()
    {
        foreach (var pt in _ptList.ToArray())
        {
            pt.SetError(-(int)Errno.ENOENT);
            pt.SignalLocked();
        }
        Put();
    }

    internal void Unlink(SyncPt pt) => _ptList.Remove(pt);
}

/// <summary><c>struct sync_pt</c>: a fence on a <see cref="SyncTimeline"/>.</summary>
[Kernel("sync_pt", "drivers/dma-buf/sync_debug.h")]
public sealed class SyncPt : DmaFence
{
    /// <summary><c>timeline_fence_ops</c>: driver <c>sw_sync</c>, the timeline's name, 32-bit seqnos.</summary>
    [Kernel("timeline_fence_ops", "drivers/dma-buf/sw_sync.c")]
    public static readonly DmaFenceOps TimelineFenceOps = new()
    {
        GetDriverName = static _ => "sw_sync",
        GetTimelineName = static f => ((SyncPt)f).Parent.Name,
        EnableSignaling = static _ => true,
        Signaled = static f => TimelineFenceSignaled((SyncPt)f),
        Release = static f => ((SyncPt)f).TimelineFenceRelease(),
    };

    internal SyncPt(SyncTimeline parent) => Parent = parent;

    /// <summary><c>dma_fence_parent(fence)</c>: the timeline.</summary>
    [Kernel("dma_fence_parent", "drivers/dma-buf/sync_debug.h")]
    public SyncTimeline Parent { get; }

    internal bool Linked { get; set; }

    /// <summary><c>timeline_fence_value_str</c>.</summary>
    public string ValueStr() => Seqno.ToString(CultureInfo.InvariantCulture);

    [Kernel("timeline_fence_signaled", "drivers/dma-buf/sw_sync.c")]
    internal static bool TimelineFenceSignaled(SyncPt pt) => !IsLaterRaw(pt.Seqno, pt.Parent.Value, pt.Ops);

    [Kernel("timeline_fence_release", "drivers/dma-buf/sw_sync.c")]
    private void TimelineFenceRelease()
    {
        if (Linked)
        {
            Parent.Unlink(this);
            Linked = false;
        }
        Parent.Put();
        Free();
    }

    internal void Abandon() => AbandonInit();
}
