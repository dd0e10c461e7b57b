// Models the dma_fence tracepoints of include/trace/events/dma_fence.h (Linux 6.1).
using System.Globalization;
using Sim.Core;

namespace Sim.DmaBufs;

/// <summary>The seven events of the <c>dma_fence</c> trace system.</summary>
[Kernel("dma_fence", "include/trace/events/dma_fence.h")]
public enum DmaFenceTraceEvent
{
    /// <summary><c>dma_fence_emit</c> (drivers, when a fence is handed to hardware).</summary>
    dma_fence_emit,
    /// <summary><c>dma_fence_init</c>.</summary>
    dma_fence_init,
    /// <summary><c>dma_fence_destroy</c> (last reference dropped).</summary>
    dma_fence_destroy,
    /// <summary><c>dma_fence_enable_signal</c> (before <c>ops->enable_signaling</c>).</summary>
    dma_fence_enable_signal,
    /// <summary><c>dma_fence_signaled</c>.</summary>
    dma_fence_signaled,
    /// <summary><c>dma_fence_wait_start</c>.</summary>
    dma_fence_wait_start,
    /// <summary><c>dma_fence_wait_end</c>.</summary>
    dma_fence_wait_end,
}

/// <summary>
/// One trace record: the <c>TP_STRUCT__entry</c> of the <c>dma_fence</c> class (driver, timeline, context and
/// seqno as <c>unsigned int</c>) plus the simulated time it fired.
/// </summary>
public readonly record struct DmaFenceTraceRecord(DmaFenceTraceEvent Event, string Driver, string Timeline, uint Context, uint Seqno, long TimestampNs)
{
    /// <summary>The <c>TP_printk</c> text: <c>dma_fence_init: driver=vgem timeline=unbound context=1 seqno=1</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Event}: driver={Driver} timeline={Timeline} context={Context} seqno={Seqno}");
}

/// <summary>
/// The machine's <c>dma_fence</c> tracepoints: every event fires <see cref="Emitted"/>, and is kept in
/// <see cref="Records"/> while <see cref="Recording"/> is on. A machine-wide kernel event sink can forward
/// from <see cref="Emitted"/>. Like a disabled tracepoint, nothing is formatted while nobody listens.
/// </summary>
[Kernel("trace_dma_fence_init", "include/trace/events/dma_fence.h")]
public sealed class DmaFenceTrace
{
    private readonly List<DmaFenceTraceRecord> _records = [];

    /// <summary>Raised for every event.</summary>
    public event Action<DmaFenceTraceRecord>? Emitted;

    /// <summary>Keep events in <see cref="Records"/> (off by default).</summary>
    public bool Recording { get; set; }

    /// <summary>The events kept so far, in order.</summary>
    public IReadOnlyList<DmaFenceTraceRecord> Records => _records;

    /// <summary>Drops the kept events.</summary>
    public void Clear() => _records.Clear();

    /// <summary>True when an event would be observed (<c>trace_dma_fence_*_enabled()</c>).</summary>
    public bool Enabled => Recording || Emitted is not null;

    internal void Emit(DmaFenceTraceEvent ev, DmaFence fence, long nowNs)
    {
        if (!Enabled)
        {
            return;
        }
        var rec = new DmaFenceTraceRecord(ev, fence.Ops.GetDriverName(fence), fence.Ops.GetTimelineName(fence),
            unchecked((uint)fence.Context), unchecked((uint)fence.Seqno), nowNs);
        if (Recording)
        {
            _records.Add(rec);
        }
        Emitted?.Invoke(rec);
    }
}
