// Models drivers/dma-buf/dma-fence.c and the inline helpers of include/linux/dma-fence.h (Linux 6.1).
using System.Globalization;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Sim.Core.Time;
using Sim.Core.Uapi;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_fence_cb</c>: a callback a fence runs once when it signals. A callback object is on at most one
/// fence's list; <see cref="Pending"/> is <c>!list_empty(&amp;cb-&gt;node)</c>.
/// </summary>
[Kernel("dma_fence_cb", "include/linux/dma-fence.h")]
public class DmaFenceCb
{
    internal readonly LinkedListNode<DmaFenceCb> Node;

    /// <summary>Creates an unlinked callback.</summary>
    public DmaFenceCb() => Node = new LinkedListNode<DmaFenceCb>(this);

    /// <summary><c>func</c>: set by <see cref="DmaFence.AddCallback"/>.</summary>
    public Action<DmaFence, DmaFenceCb>? Func { get; internal set; }

    /// <summary>True while the callback is queued on a fence.</summary>
    public bool Pending => Node.List is not null;
}

/// <summary>
/// <c>struct dma_fence</c>: a point on a timeline (<see cref="Context"/>, <see cref="Seqno"/>) that signals once.
/// Drivers embed it: derive from this class (as <see cref="DmaFenceArray"/>, <see cref="DmaFenceChain"/>,
/// <see cref="SyncPt"/> do) or use it directly. Construction allocates; <see cref="Init"/> is
/// <c>dma_fence_init</c> (refcount 1, the <c>dma_fence_init</c> tracepoint, live-object registration). The last
/// <see cref="Put"/> runs <c>dma_fence_release</c>: the <c>dma_fence_destroy</c> tracepoint, a WARN (and a forced
/// signal with <c>-EDEADLK</c>) if callbacks are still pending on an unsignalled fence, then
/// <c>ops.Release</c> or <c>dma_fence_free</c>.
/// Errors are kernel values: <see cref="Signal"/> returns <c>-EINVAL</c> on an already signalled fence,
/// <see cref="AddCallback"/> <c>-ENOENT</c>. Waits run on the machine's simulated clock.
/// </summary>
[Kernel("dma_fence", "include/linux/dma-fence.h")]
public class DmaFence
{
    /// <summary><c>DMA_FENCE_FLAG_SIGNALED_BIT</c>.</summary>
    public const int DMA_FENCE_FLAG_SIGNALED_BIT = 0;

    /// <summary><c>DMA_FENCE_FLAG_TIMESTAMP_BIT</c>.</summary>
    public const int DMA_FENCE_FLAG_TIMESTAMP_BIT = 1;

    /// <summary><c>DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT</c>.</summary>
    public const int DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT = 2;

    /// <summary><c>DMA_FENCE_FLAG_USER_BITS</c>: the first bit drivers may use.</summary>
    public const int DMA_FENCE_FLAG_USER_BITS = 3;

    /// <summary><c>ERESTARTSYS</c> (include/linux/errno.h, kernel-internal).</summary>
    public const int ERESTARTSYS = 512;

    /// <summary><c>MAX_ERRNO</c> (include/linux/err.h).</summary>
    public const int MAX_ERRNO = 4095;

    private readonly LinkedList<DmaFenceCb> _cbList = new();
    private Kref _refcount;
    private long _liveId;
    private DmaFenceCore? _core;
    private DmaFenceOps? _ops;

    /// <summary>The machine's fence core (set by <see cref="Init"/>).</summary>
    public DmaFenceCore Core => _core ?? throw new InvalidOperationException("dma_fence used before dma_fence_init");

    /// <summary><c>ops</c>.</summary>
    public DmaFenceOps Ops => _ops ?? throw new InvalidOperationException("dma_fence used before dma_fence_init");

    /// <summary><c>context</c>: the timeline.</summary>
    public ulong Context { get; private set; }

    /// <summary><c>seqno</c>: the position on the timeline.</summary>
    public ulong Seqno { get; protected set; }

    /// <summary><c>flags</c> (bits <c>DMA_FENCE_FLAG_*</c> and driver bits from <see cref="DMA_FENCE_FLAG_USER_BITS"/>).</summary>
    public ulong Flags { get; private set; }

    /// <summary><c>error</c>: 0 or a negative errno set before signalling.</summary>
    public int Error { get; set; }

    /// <summary><c>timestamp</c>: ns since boot when it signalled (valid once the timestamp bit is set).</summary>
    public long TimestampNs { get; private set; }

    /// <summary><c>kref_read(&amp;fence-&gt;refcount)</c>.</summary>
    public int RefCount => _refcount.Read;

    /// <summary>True once <c>dma_fence_release</c> ran.</summary>
    public bool Released { get; private set; }

    /// <summary>True when the signalled bit is set (<c>test_bit(DMA_FENCE_FLAG_SIGNALED_BIT)</c>, no ops call).</summary>
    public bool SignaledBit => TestFlag(DMA_FENCE_FLAG_SIGNALED_BIT);

    /// <summary><c>test_bit(bit, &amp;fence-&gt;flags)</c>.</summary>
    public bool TestFlag(int bit) => (Flags & (1UL << bit)) != 0;

    /// <summary><c>set_bit(bit, &amp;fence-&gt;flags)</c>.</summary>
    public void SetFlag(int bit) => Flags |= 1UL << bit;

    /// <summary><c>clear_bit(bit, &amp;fence-&gt;flags)</c> (driver bits only).</summary>
    public void ClearFlag(int bit) => Flags &= ~(1UL << bit);

    private bool TestAndSetFlag(int bit)
    {
        bool was = TestFlag(bit);
        SetFlag(bit);
        return was;
    }

    /// <summary>Allocates and initialises a plain fence (<c>kmalloc</c> + <c>dma_fence_init</c>).</summary>
    public static DmaFence Create(DmaFenceCore core, DmaFenceOps ops, ulong context, ulong seqno)
    {
        var f = new DmaFence();
        f.Init(core, ops, context, seqno);
        return f;
    }

    /// <summary>
    /// <c>dma_fence_init(fence, ops, lock, context, seqno)</c>: refcount 1, no flags, no error, the
    /// <c>dma_fence_init</c> tracepoint; the fence counts as live until released.
    /// </summary>
    [Kernel("dma_fence_init", "drivers/dma-buf/dma-fence.c")]
    public void Init(DmaFenceCore core, DmaFenceOps ops, ulong context, ulong seqno) => InitCore(core, ops, context, seqno, track: true);

    internal void InitCore(DmaFenceCore core, DmaFenceOps ops, ulong context, ulong seqno, bool track)
    {
        if (ops is null || ops.GetDriverName is null || ops.GetTimelineName is null)
        {
            throw new KernelBugException("BUG: dma_fence_init without ops->get_driver_name/get_timeline_name");
        }
        _core = core;
        _ops = ops;
        _refcount.Init();
        _cbList.Clear();
        Context = context;
        Seqno = seqno;
        Flags = 0;
        Error = 0;
        Released = false;
        _liveId = track
            ? core.LiveObjects.Register("dma_fence", string.Create(CultureInfo.InvariantCulture,
                $"{ops.GetDriverName(this)}:{ops.GetTimelineName(this)} context={context} seqno={seqno}"),
                () => string.Create(CultureInfo.InvariantCulture, $"refcount {_refcount.Read}{(TestFlag(DMA_FENCE_FLAG_SIGNALED_BIT) ? ", signaled" : ", unsignaled")}"))
            : 0;
        Trace(DmaFenceTraceEvent.dma_fence_init);
    }

    /// <summary>A fence that was initialised and then kfree'd without ever being published (no release runs).</summary>
    internal void AbandonInit()
    {
        if (_liveId != 0)
        {
            Core.LiveObjects.Unregister(_liveId);
            _liveId = 0;
        }
        Released = true;
    }

    private void Trace(DmaFenceTraceEvent ev) => Core.Trace.Emit(ev, this, Core.Clock.NowNs);

    /// <summary><c>trace_dma_fence_emit(fence)</c>, for drivers that hand the fence to hardware.</summary>
    [Kernel("trace_dma_fence_emit", "include/trace/events/dma_fence.h")]
    public void TraceEmit() => Trace(DmaFenceTraceEvent.dma_fence_emit);

    /// <summary><c>dma_fence_get</c>: takes a reference, returns the fence.</summary>
    [Kernel("dma_fence_get", "include/linux/dma-fence.h")]
    public DmaFence Get()
    {
        _refcount.Get();
        return this;
    }

    /// <summary><c>dma_fence_get_rcu</c>: a reference unless the count already dropped to 0 (then null).</summary>
    [Kernel("dma_fence_get_rcu", "include/linux/dma-fence.h")]
    public DmaFence? GetRcu() => _refcount.GetUnlessZero() ? this : null;

    /// <summary><c>dma_fence_put</c>: drops a reference; the last one runs <c>dma_fence_release</c>.</summary>
    [Kernel("dma_fence_put", "include/linux/dma-fence.h")]
    public void Put() => _refcount.Put(Release);

    /// <summary><c>dma_fence_release</c>, run by the last <see cref="Put"/>.</summary>
    [Kernel("dma_fence_release", "drivers/dma-buf/dma-fence.c")]
    private void Release()
    {
        Trace(DmaFenceTraceEvent.dma_fence_destroy);
        if (Core.Warnings.On(_cbList.Count != 0 && !SignaledBit,
            $"Fence {Ops.GetDriverName(this)}:{Ops.GetTimelineName(this)}:{Context:x}:{Seqno:x} released with pending signals!"))
        {
            // Failed to signal before release, likely a refcounting issue: signal with -EDEADLK.
            Error = -(int)Errno.EDEADLK;
            SignalLocked();
        }
        Released = true;
        if (_liveId != 0)
        {
            Core.LiveObjects.Unregister(_liveId);
            _liveId = 0;
        }
        if (Ops.Release is { } release)
        {
            release(this);
        }
        else
        {
            Free();
        }
    }

    /// <summary><c>dma_fence_free</c>: the default release (<c>kfree_rcu</c>); nothing left to do here.</summary>
    [Kernel("dma_fence_free", "drivers/dma-buf/dma-fence.c")]
    public void Free()
    {
    }

    /// <summary>
    /// <c>dma_fence_signal_timestamp_locked</c>: <c>-EINVAL</c> if already signalled; otherwise sets the
    /// signalled bit, the timestamp, fires <c>dma_fence_signaled</c> and runs every pending callback in order.
    /// </summary>
    [Kernel("dma_fence_signal_timestamp_locked", "drivers/dma-buf/dma-fence.c")]
    public int SignalTimestampLocked(long timestampNs)
    {
        if (TestAndSetFlag(DMA_FENCE_FLAG_SIGNALED_BIT))
        {
            return -(int)Errno.EINVAL;
        }
        TimestampNs = timestampNs;
        SetFlag(DMA_FENCE_FLAG_TIMESTAMP_BIT);
        Trace(DmaFenceTraceEvent.dma_fence_signaled);
        // The kernel stashes cb_list first; with the signalled bit set nothing can join it any more, so
        // taking the callbacks off the front one by one is the same walk (a callback removed meanwhile is skipped).
        while (_cbList.First is { } node)
        {
            _cbList.Remove(node);
            var cb = node.Value;
            cb.Func?.Invoke(this, cb);
        }
        return 0;
    }

    /// <summary><c>dma_fence_signal_timestamp</c>.</summary>
    [Kernel("dma_fence_signal_timestamp", "drivers/dma-buf/dma-fence.c")]
    public int SignalTimestamp(long timestampNs) => SignalTimestampLocked(timestampNs);

    /// <summary><c>dma_fence_signal_locked</c>: signals with <c>ktime_get()</c>.</summary>
    [Kernel("dma_fence_signal_locked", "drivers/dma-buf/dma-fence.c")]
    public int SignalLocked() => SignalTimestampLocked(Core.Clock.NowNs);

    /// <summary><c>dma_fence_signal</c>: 0, or <c>-EINVAL</c> when the fence had already signalled.</summary>
    [Kernel("dma_fence_signal", "drivers/dma-buf/dma-fence.c")]
    public int Signal() => SignalTimestampLocked(Core.Clock.NowNs);

    /// <summary><c>__dma_fence_enable_signaling</c>: false when already signalled (or signalled now).</summary>
    [Kernel("__dma_fence_enable_signaling", "drivers/dma-buf/dma-fence.c")]
    private bool EnableSignalingLocked()
    {
        bool wasSet = TestAndSetFlag(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT);
        if (SignaledBit)
        {
            return false;
        }
        if (!wasSet && Ops.EnableSignaling is { } enable)
        {
            Trace(DmaFenceTraceEvent.dma_fence_enable_signal);
            if (!enable(this))
            {
                SignalLocked();
                return false;
            }
        }
        return true;
    }

    /// <summary><c>dma_fence_enable_sw_signaling</c>.</summary>
    [Kernel("dma_fence_enable_sw_signaling", "drivers/dma-buf/dma-fence.c")]
    public void EnableSwSignaling() => EnableSignalingLocked();

    /// <summary>
    /// <c>dma_fence_add_callback(fence, cb, func)</c>: 0 when queued; <c>-ENOENT</c> when the fence already
    /// signalled (the callback is then not run); <c>-EINVAL</c> (WARN) without a function.
    /// </summary>
    [Kernel("dma_fence_add_callback", "drivers/dma-buf/dma-fence.c")]
    public int AddCallback(DmaFenceCb cb, Action<DmaFence, DmaFenceCb> func)
    {
        if (Core.Warnings.On(cb is null || func is null, "!fence || !func"))
        {
            return -(int)Errno.EINVAL;
        }
        if (SignaledBit)
        {
            Unlink(cb!);
            return -(int)Errno.ENOENT;
        }
        if (EnableSignalingLocked())
        {
            Unlink(cb!);
            cb!.Func = func;
            _cbList.AddLast(cb.Node);
            return 0;
        }
        Unlink(cb!);
        return -(int)Errno.ENOENT;
    }

    private static void Unlink(DmaFenceCb cb) => cb.Node.List?.Remove(cb.Node);

    /// <summary><c>dma_fence_remove_callback</c>: true if the callback was still pending (and is now removed).</summary>
    [Kernel("dma_fence_remove_callback", "drivers/dma-buf/dma-fence.c")]
    public bool RemoveCallback(DmaFenceCb cb)
    {
        if (cb.Node.List is { } list)
        {
            list.Remove(cb.Node);
            return true;
        }
        return false;
    }

    /// <summary><c>dma_fence_is_signaled_locked</c>: the bit, or <c>ops.Signaled</c> (which then signals).</summary>
    [Kernel("dma_fence_is_signaled_locked", "include/linux/dma-fence.h")]
    public bool IsSignaledLocked()
    {
        if (SignaledBit)
        {
            return true;
        }
        if (Ops.Signaled is { } signaled && signaled(this))
        {
            SignalLocked();
            return true;
        }
        return false;
    }

    /// <summary><c>dma_fence_is_signaled</c>.</summary>
    [Kernel("dma_fence_is_signaled", "include/linux/dma-fence.h")]
    public bool IsSignaled()
    {
        if (SignaledBit)
        {
            return true;
        }
        if (Ops.Signaled is { } signaled && signaled(this))
        {
            Signal();
            return true;
        }
        return false;
    }

    /// <summary><c>dma_fence_get_status_locked</c>: 0 pending, 1 signalled, or the negative error.</summary>
    [Kernel("dma_fence_get_status_locked", "include/linux/dma-fence.h")]
    public int GetStatusLocked() => IsSignaledLocked() ? (Error != 0 ? Error : 1) : 0;

    /// <summary><c>dma_fence_get_status</c>: 0 pending, 1 signalled, or the negative error.</summary>
    [Kernel("dma_fence_get_status", "drivers/dma-buf/dma-fence.c")]
    public int GetStatus() => GetStatusLocked();

    /// <summary>
    /// <c>dma_fence_set_deadline(fence, deadline)</c> (Linux 6.4+, the 6.12 profile): calls the fence's
    /// <c>set_deadline</c> op, if it has one, while the fence is not signalled.
    /// </summary>
    [Kernel("dma_fence_set_deadline", "drivers/dma-buf/dma-fence.c")]
    public void SetDeadline(long deadlineNs)
    {
        if (Ops.SetDeadline is { } op && !IsSignaled())
        {
            op(this, deadlineNs);
        }
    }

    /// <summary>
    /// <c>dma_fence_set_error</c>: WARNs when already signalled or when <paramref name="error"/> is not in
    /// [-MAX_ERRNO, -1], and stores it anyway (as the kernel does).
    /// </summary>
    [Kernel("dma_fence_set_error", "include/linux/dma-fence.h")]
    public void SetError(int error)
    {
        Core.Warnings.On(SignaledBit, "test_bit(DMA_FENCE_FLAG_SIGNALED_BIT)");
        Core.Warnings.On(error >= 0 || error < -MAX_ERRNO, "error >= 0 || error < -MAX_ERRNO");
        Error = error;
    }

    /// <summary><c>dma_fence_timestamp</c>: the signal time (WARN and "now" if not signalled).</summary>
    [Kernel("dma_fence_timestamp", "include/linux/dma-fence.h")]
    public long Timestamp()
    {
        if (Core.Warnings.On(!SignaledBit, "!test_bit(DMA_FENCE_FLAG_SIGNALED_BIT)"))
        {
            return Core.Clock.NowNs;
        }
        return TimestampNs;
    }

    /// <summary>
    /// <c>__dma_fence_is_later(f1, f2, ops)</c>: with <c>use_64bit_seqno</c> a plain u64 compare; otherwise
    /// the lower 32 bits compared with wrap-around (<c>(int)(lower_32_bits(f1) - lower_32_bits(f2)) &gt; 0</c>).
    /// </summary>
    [Kernel("__dma_fence_is_later", "include/linux/dma-fence.h")]
    public static bool IsLaterRaw(ulong f1, ulong f2, DmaFenceOps ops) =>
        ops.UseSeqno64 ? f1 > f2 : unchecked((int)((uint)f1 - (uint)f2)) > 0;

    /// <summary><c>dma_fence_is_later(f1, f2)</c>: WARN and false for fences of different contexts.</summary>
    [Kernel("dma_fence_is_later", "include/linux/dma-fence.h")]
    public bool IsLater(DmaFence f2)
    {
        if (Core.Warnings.On(Context != f2.Context, "f1->context != f2->context"))
        {
            return false;
        }
        return IsLaterRaw(Seqno, f2.Seqno, Ops);
    }

    /// <summary><c>dma_fence_is_later_or_same(f1, f2)</c>: the same fence, or later.</summary>
    [Kernel("dma_fence_is_later_or_same", "include/linux/dma-fence.h")]
    public bool IsLaterOrSame(DmaFence f2) => ReferenceEquals(this, f2) || IsLater(f2);

    /// <summary><c>dma_fence_later(f1, f2)</c>: the later of two fences of one context unless it signalled.</summary>
    [Kernel("dma_fence_later", "include/linux/dma-fence.h")]
    public DmaFence? Later(DmaFence f2)
    {
        if (Core.Warnings.On(Context != f2.Context, "f1->context != f2->context"))
        {
            return null;
        }
        if (IsLater(f2))
        {
            return IsSignaled() ? null : this;
        }
        return f2.IsSignaled() ? null : f2;
    }

    /// <summary>
    /// <c>dma_fence_wait_timeout(fence, intr, timeout)</c>: <c>-EINVAL</c> (WARN) for a negative timeout;
    /// enables signalling, fires <c>dma_fence_wait_start</c>, waits with <c>ops.Wait</c> or
    /// <see cref="DefaultWait"/>, fires <c>dma_fence_wait_end</c>. Returns the jiffies left (at least 1 when
    /// signalled), 0 on timeout, or a negative error.
    /// </summary>
    [Kernel("dma_fence_wait_timeout", "drivers/dma-buf/dma-fence.c")]
    public long WaitTimeout(bool intr, long timeout)
    {
        if (Core.Warnings.On(timeout < 0, "timeout < 0"))
        {
            return -(int)Errno.EINVAL;
        }
        EnableSwSignaling();
        Trace(DmaFenceTraceEvent.dma_fence_wait_start);
        long ret = Ops.Wait is { } wait ? wait(this, intr, timeout) : DefaultWait(intr, timeout);
        Trace(DmaFenceTraceEvent.dma_fence_wait_end);
        return ret;
    }

    /// <summary><c>dma_fence_wait(fence, intr)</c>: waits without timeout; 0 or a negative error.</summary>
    [Kernel("dma_fence_wait", "include/linux/dma-fence.h")]
    public long Wait(bool intr)
    {
        long ret = WaitTimeout(intr, Ktime.MAX_SCHEDULE_TIMEOUT);
        return ret < 0 ? ret : 0;
    }

    /// <summary>
    /// <c>dma_fence_default_wait</c>: already signalled returns the timeout (1 for a timeout of 0); a timeout of
    /// 0 on an unsignalled fence returns 0 at once; otherwise the task sleeps (simulated time jumps from timer to
    /// timer) until the fence signals or <c>schedule_timeout</c> runs out, and the jiffies left are returned.
    /// No signal is ever pending for the simulated task, so <c>-ERESTARTSYS</c> does not occur.
    /// </summary>
    [Kernel("dma_fence_default_wait", "drivers/dma-buf/dma-fence.c")]
    public long DefaultWait(bool intr, long timeout)
    {
        _ = intr;
        long ret = timeout != 0 ? timeout : 1;
        if (SignaledBit)
        {
            return ret;
        }
        if (timeout == 0)
        {
            return 0;
        }
        bool woken = false;
        var cb = new DmaFenceCb { Func = (_, _) => woken = true };
        _cbList.AddFirst(cb.Node);
        while (!SignaledBit && ret > 0)
        {
            ret = KernelTimer.ScheduleTimeout(Core.Clock, ret, () => woken);
        }
        RemoveCallback(cb);
        return ret;
    }

    /// <summary>
    /// <c>dma_fence_wait_any_timeout(fences, count, intr, timeout, idx)</c>: waits until any fence signals.
    /// Returns the jiffies left (1 for an already signalled fence with timeout 0), 0 on timeout, <c>-EINVAL</c>
    /// (WARN) for no fences or a negative timeout; <paramref name="idx"/> is the index of the signalled fence.
    /// </summary>
    [Kernel("dma_fence_wait_any_timeout", "drivers/dma-buf/dma-fence.c")]
    public static long WaitAnyTimeout(DmaFence[] fences, bool intr, long timeout, out uint idx)
    {
        _ = intr;
        idx = 0;
        if (fences is null || fences.Length == 0 || timeout < 0)
        {
            var w = fences is { Length: > 0 } ? fences[0].Core.Warnings : null;
            w?.On(true, "!fences || !count || timeout < 0");
            return -(int)Errno.EINVAL;
        }
        if (timeout == 0)
        {
            for (uint i = 0; i < fences.Length; ++i)
            {
                if (fences[i].IsSignaled())
                {
                    idx = i;
                    return 1;
                }
            }
            return 0;
        }
        long ret = timeout;
        bool woken = false;
        var cbs = new DmaFenceCb[fences.Length];
        int added = 0;
        bool done = false;
        for (; added < fences.Length; ++added)
        {
            cbs[added] = new DmaFenceCb();
            if (fences[added].AddCallback(cbs[added], (_, _) => woken = true) != 0)
            {
                idx = (uint)added;
                done = true;
                break;
            }
        }
        while (!done && ret > 0)
        {
            if (TestSignaledAny(fences, out idx))
            {
                break;
            }
            woken = false;
            ret = KernelTimer.ScheduleTimeout(fences[0].Core.Clock, ret, () => woken);
        }
        while (added-- > 0)
        {
            fences[added].RemoveCallback(cbs[added]);
        }
        return ret;
    }

    [Kernel("dma_fence_test_signaled_any", "drivers/dma-buf/dma-fence.c")]
    private static bool TestSignaledAny(DmaFence[] fences, out uint idx)
    {
        for (uint i = 0; i < fences.Length; ++i)
        {
            if (fences[i].SignaledBit)
            {
                idx = i;
                return true;
            }
        }
        idx = 0;
        return false;
    }

    /// <summary><c>dma_fence_describe</c>: <c>"drv timeline seq N [un]signalled"</c>.</summary>
    [Kernel("dma_fence_describe", "drivers/dma-buf/dma-fence.c")]
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Ops.GetDriverName(this)} {Ops.GetTimelineName(this)} seq {Seqno} {(IsSignaled() ? "" : "un")}signalled\n");

    /// <summary><c>dma_fence_is_array</c>.</summary>
    [Kernel("dma_fence_is_array", "include/linux/dma-fence.h")]
    public bool IsArray => ReferenceEquals(Ops, DmaFenceArray.DmaFenceArrayOps);

    /// <summary><c>dma_fence_is_chain</c>.</summary>
    [Kernel("dma_fence_is_chain", "include/linux/dma-fence.h")]
    public bool IsChain => ReferenceEquals(Ops, DmaFenceChain.DmaFenceChainOps);

    /// <summary><c>dma_fence_is_container</c>.</summary>
    [Kernel("dma_fence_is_container", "include/linux/dma-fence.h")]
    public bool IsContainer => IsArray || IsChain;

    /// <inheritdoc/>
    public override string ToString() => _ops is null ? "dma_fence (uninitialised)" :
        string.Create(CultureInfo.InvariantCulture, $"dma_fence {Ops.GetDriverName(this)}:{Ops.GetTimelineName(this)} context={Context} seqno={Seqno}{(SignaledBit ? " signaled" : "")}");
}
