using Sim.Tests.Infrastructure;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>Ports of drivers/dma-buf/st-dma-fence.c (Linux 6.1), kernel test names kept, plus dma-fence.c rules.</summary>
public sealed class DmaFenceTests : IDisposable
{
    private const int ETIME = 62;
    private readonly TestMachine _m = TestMachine.Create(process: null);
    private int _mockReleased;
    private int _expectedWarnings;

    public void Dispose()
    {
        Assert.Equal(0, _m.Live.Count("dma_fence"));
        Assert.Equal(_expectedWarnings, _m.Warnings.Count);
        _m.Dispose();
    }

    private sealed class WaitCb : DmaFenceCb
    {
        public bool Woken;
    }

    /// <summary>mock_wait of st-dma-fence.c: its own callback, schedule_timeout, -ETIME when it timed out.</summary>
    private long MockWait(DmaFence f, bool intr, long timeout)
    {
        _ = intr;
        var cb = new WaitCb();
        if (f.AddCallback(cb, static (_, c) => ((WaitCb)c).Woken = true) != 0)
        {
            return timeout;
        }
        while (timeout != 0)
        {
            if (f.SignaledBit)
            {
                break;
            }
            timeout = KernelTimer.ScheduleTimeout(_m.Clock, timeout, () => cb.Woken);
        }
        if (!f.RemoveCallback(cb))
        {
            return timeout;
        }
        return -ETIME;
    }

    private DmaFenceOps MockOps() => new()
    {
        GetDriverName = static _ => "mock",
        GetTimelineName = static _ => "mock",
        Wait = MockWait,
        Release = f => { _mockReleased++; f.Free(); },
    };

    /// <summary>mock_fence(): context 0, seqno 0.</summary>
    private DmaFence MockFence() => DmaFence.Create(_m.Fences, MockOps(), 0, 0);

    private sealed class SimpleCb : DmaFenceCb
    {
        public bool Seen;
    }

    private static void SimpleCallback(DmaFence f, DmaFenceCb cb) => ((SimpleCb)cb).Seen = true;

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: sanitycheck</summary>
    [Fact]
    public void Sanitycheck()
    {
        var f = MockFence();
        f.EnableSwSignaling();
        f.Signal();
        f.Put();
        Assert.Equal(1, _mockReleased);
        Assert.True(f.Released);
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_signaling</summary>
    [Fact]
    public void TestSignaling()
    {
        var f = MockFence();
        f.EnableSwSignaling();
        Assert.False(f.IsSignaled());
        Assert.Equal(0, f.Signal());
        Assert.True(f.IsSignaled());
        Assert.Equal(-(int)Errno.EINVAL, f.Signal());
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_add_callback</summary>
    [Fact]
    public void TestAddCallback()
    {
        var cb = new SimpleCb();
        var f = MockFence();
        Assert.Equal(0, f.AddCallback(cb, SimpleCallback));
        f.Signal();
        Assert.True(cb.Seen);
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_late_add_callback</summary>
    [Fact]
    public void TestLateAddCallback()
    {
        var cb = new SimpleCb();
        var f = MockFence();
        f.EnableSwSignaling();
        f.Signal();
        Assert.Equal(-(int)Errno.ENOENT, f.AddCallback(cb, SimpleCallback));
        f.Signal();
        Assert.False(cb.Seen);
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_rm_callback</summary>
    [Fact]
    public void TestRmCallback()
    {
        var cb = new SimpleCb();
        var f = MockFence();
        Assert.Equal(0, f.AddCallback(cb, SimpleCallback));
        Assert.True(f.RemoveCallback(cb));
        f.Signal();
        Assert.False(cb.Seen);
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_late_rm_callback</summary>
    [Fact]
    public void TestLateRmCallback()
    {
        var cb = new SimpleCb();
        var f = MockFence();
        Assert.Equal(0, f.AddCallback(cb, SimpleCallback));
        f.Signal();
        Assert.True(cb.Seen);
        Assert.False(f.RemoveCallback(cb));
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_status</summary>
    [Fact]
    public void TestStatus()
    {
        var f = MockFence();
        f.EnableSwSignaling();
        Assert.Equal(0, f.GetStatus());
        f.Signal();
        Assert.Equal(1, f.GetStatus());
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_error</summary>
    [Fact]
    public void TestError()
    {
        var f = MockFence();
        f.EnableSwSignaling();
        f.SetError(-(int)Errno.EIO);
        Assert.Equal(0, f.GetStatus());
        f.Signal();
        Assert.Equal(-(int)Errno.EIO, f.GetStatus());
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_wait</summary>
    [Fact]
    public void TestWait()
    {
        var f = MockFence();
        f.EnableSwSignaling();
        Assert.Equal(-ETIME, f.WaitTimeout(false, 0));
        f.Signal();
        Assert.Equal(0, f.WaitTimeout(false, 0));
        f.Signal();
        f.Put();
        Assert.Equal(0, _m.Clock.NowNs);
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_wait_timeout (a timer signals the fence).</summary>
    [Fact]
    public void TestWaitTimeout()
    {
        var f = MockFence();
        f.EnableSwSignaling();
        Assert.Equal(-ETIME, f.WaitTimeout(false, 1));
        // mod_timer(&wt.timer, jiffies + 1)
        var timer = KernelTimer.AddTimer(_m.Clock, _m.Clock.Jiffies + 1, () => f.Signal());
        long ret = f.WaitTimeout(false, 2);
        Assert.NotEqual(-ETIME, ret);
        Assert.True(f.SignaledBit);
        Assert.False(Ktime.Cancel(timer));
        f.Signal();
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-fence.c: test_stub</summary>
    [Fact]
    public void TestStub()
    {
        var f = new DmaFence[64];
        for (int i = 0; i < f.Length; i++)
        {
            f[i] = _m.Fences.GetStub();
            Assert.True(f[i].IsSignaled());
        }
        Assert.Same(f[0], f[63]);
        Assert.Equal(0UL, f[0].Context);
        Assert.Equal(65, f[0].RefCount);
        for (int i = f.Length; i-- > 0;)
        {
            f[i].Put();
        }
        Assert.False(f[0].Released);
    }

    /// <summary>
    /// Port of drivers/dma-buf/st-dma-fence.c: race_signal_callback. The simulator has one task, so the two
    /// threads' steps are interleaved by hand in both orders, for signalling before and after add_callback:
    /// each thread's callback on the other's fence must always be seen.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RaceSignalCallback(bool before)
    {
        for (int pass = 0; pass < 50; pass++)
        {
            var f = new DmaFence[2];
            var cb = new SimpleCb[2];
            for (int id = 0; id < 2; id++)
            {
                f[id] = MockFence();
                f[id].EnableSwSignaling();
            }
            var f2 = new DmaFence[] { f[1].Get(), f[0].Get() };
            int first = pass % 2;
            foreach (int id in new[] { first, 1 - first })
            {
                if (before)
                {
                    f[id].Signal();
                }
                cb[id] = new SimpleCb();
                if (f2[id].AddCallback(cb[id], SimpleCallback) != 0)
                {
                    cb[id].Seen = true;
                }
                if (!before)
                {
                    f[id].Signal();
                }
            }
            for (int id = 0; id < 2; id++)
            {
                if (!cb[id].Seen)
                {
                    f2[id].Wait(false);
                }
                Assert.True(cb[id].Seen);
                f2[id].Put();
            }
            f[0].Put();
            f[1].Put();
        }
    }

    [Fact]
    public void ContextsComeFromOneCounterStartingAtOne()
    {
        Assert.Equal(1UL, _m.Fences.ContextAlloc(8));
        Assert.Equal(9UL, _m.Fences.ContextAlloc(1));
        Assert.Equal(10UL, _m.Fences.ContextAlloc(3));
        Assert.Equal(13UL, _m.Fences.Contexts.Next);
    }

    [Fact]
    public void ContextAllocOfZeroWarns()
    {
        Assert.Equal(1UL, _m.Fences.ContextAlloc(0));
        Assert.Equal(1, _m.Warnings.Count);
        Assert.Equal(1UL, _m.Fences.ContextAlloc(1));
        _expectedWarnings = _m.Warnings.Count;
    }

    private static readonly DmaFenceOps s_plain = new() { GetDriverName = _ => "drv", GetTimelineName = _ => "tl" };

    [Fact]
    public void DefaultWaitReturnsTimeoutOrOneWhenSignalled()
    {
        var f = DmaFence.Create(_m.Fences, s_plain, 1, 1);
        f.Signal();
        Assert.Equal(1, f.WaitTimeout(false, 0));
        Assert.Equal(7, f.WaitTimeout(false, 7));
        Assert.Equal(Ktime.MAX_SCHEDULE_TIMEOUT, f.WaitTimeout(true, Ktime.MAX_SCHEDULE_TIMEOUT));
        Assert.Equal(0, f.Wait(false));
        Assert.Equal(0, _m.Clock.Jiffies);
        f.Put();
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 4)]
    [InlineData(62, 63)]
    [InlineData(63, 64)]
    [InlineData(100, 104)]
    public void DefaultWaitTimesOutAtTheNextTimerWheelBucket(long timeout, long expectedJiffies)
    {
        // Captured: timeout 1 -> 2 jiffies, 3 -> 4 (linux-6.1-sg resv_script); level 0 rounds up by one tick.
        var f = DmaFence.Create(_m.Fences, s_plain, 1, 1);
        Assert.Equal(0, f.WaitTimeout(false, timeout));
        Assert.Equal(expectedJiffies, _m.Clock.Jiffies);
        Assert.Equal(-(int)Errno.EINVAL, f.WaitTimeout(false, -1));
        Assert.Equal(1, _m.Warnings.Count);
        f.Signal();
        f.Put();
        _expectedWarnings = _m.Warnings.Count;
    }

    [Fact]
    public void WaitWokenByDelayedWorkReturnsTimeLeft()
    {
        // resv_script i=145: delayed work of 3 jiffies signals the fence; wait(100) returns 96 after 4 jiffies.
        var f = DmaFence.Create(_m.Fences, s_plain, 1, 1);
        var work = new DelayedWork(() => f.Signal());
        Assert.True(work.Schedule(_m.Clock, 3));
        Assert.Equal(96, f.WaitTimeout(false, 100));
        Assert.Equal(4, _m.Clock.Jiffies);
        Assert.False(work.Flush());
        Assert.Equal(1, work.Runs);
        Assert.Equal(4 * _m.Clock.NsPerJiffy, f.Timestamp());
        f.Put();
    }

    [Fact]
    public void WaitForeverWithNothingToWakeIsAHang()
    {
        var f = DmaFence.Create(_m.Fences, s_plain, 1, 1);
        Assert.Throws<Sim.Core.Debug.KernelBugException>(() => f.Wait(false));
        f.Signal();
        f.Put();
    }

    [Fact]
    public void TracepointsFireInKernelOrder()
    {
        _m.FenceTrace.Recording = true;
        var ops = new DmaFenceOps { GetDriverName = _ => "drv", GetTimelineName = _ => "tl", EnableSignaling = _ => true };
        var f = DmaFence.Create(_m.Fences, ops, 0x1_0000_0005, 3);
        f.TraceEmit();
        var work = new DelayedWork(() => f.Signal());
        work.Schedule(_m.Clock, 1);
        Assert.True(f.WaitTimeout(false, 10) > 0);
        f.Put();
        Assert.Equal(
            [
                "dma_fence_init: driver=drv timeline=tl context=5 seqno=3",
                "dma_fence_emit: driver=drv timeline=tl context=5 seqno=3",
                "dma_fence_enable_signal: driver=drv timeline=tl context=5 seqno=3",
                "dma_fence_wait_start: driver=drv timeline=tl context=5 seqno=3",
                "dma_fence_signaled: driver=drv timeline=tl context=5 seqno=3",
                "dma_fence_wait_end: driver=drv timeline=tl context=5 seqno=3",
                "dma_fence_destroy: driver=drv timeline=tl context=5 seqno=3",
            ],
            _m.FenceTrace.Records.Select(r => r.ToString()).ToArray());
        Assert.Equal(2 * _m.Clock.NsPerJiffy, _m.FenceTrace.Records[4].TimestampNs);
    }

    [Fact]
    public void ReleaseWithPendingCallbackWarnsAndSignalsWithEdeadlk()
    {
        var f = DmaFence.Create(_m.Fences, s_plain, 1, 1);
        var cb = new SimpleCb();
        Assert.Equal(0, f.AddCallback(cb, SimpleCallback));
        f.Put();
        Assert.True(cb.Seen);
        Assert.Equal(-(int)Errno.EDEADLK, f.Error);
        Assert.Equal(1, _m.Warnings.Count);
        _expectedWarnings = _m.Warnings.Count;
    }

    [Fact]
    public void SignaledOpIsConsultedAndSignals()
    {
        bool done = false;
        var ops = new DmaFenceOps { GetDriverName = _ => "d", GetTimelineName = _ => "t", Signaled = _ => done };
        var f = DmaFence.Create(_m.Fences, ops, 1, 1);
        Assert.False(f.IsSignaled());
        done = true;
        Assert.False(f.SignaledBit);
        Assert.True(f.IsSignaled());
        Assert.True(f.SignaledBit);
        Assert.Equal(1, f.GetStatus());
        f.Put();
    }

    [Fact]
    public void EnableSignalingReturningFalseSignalsAtOnce()
    {
        var ops = new DmaFenceOps { GetDriverName = _ => "d", GetTimelineName = _ => "t", EnableSignaling = _ => false };
        var f = DmaFence.Create(_m.Fences, ops, 1, 1);
        var cb = new SimpleCb();
        Assert.Equal(-(int)Errno.ENOENT, f.AddCallback(cb, SimpleCallback));
        Assert.True(f.SignaledBit);
        Assert.False(cb.Seen);
        f.Put();
    }

    [Fact]
    public void SetErrorOnSignalledFenceWarns()
    {
        var f = DmaFence.Create(_m.Fences, s_plain, 1, 1);
        f.Signal();
        f.SetError(-(int)Errno.EIO);        // WARN: already signalled
        f.SetError(5);                       // WARN twice: signalled, and not a negative errno
        Assert.Equal(3, _m.Warnings.Count);
        Assert.Equal(5, f.Error);
        f.Put();
        _expectedWarnings = _m.Warnings.Count;
    }

    [Fact]
    public void WaitAnyReturnsTheSignalledIndex()
    {
        var a = DmaFence.Create(_m.Fences, s_plain, 1, 1);
        var b = DmaFence.Create(_m.Fences, s_plain, 2, 1);
        Assert.Equal(0, DmaFence.WaitAnyTimeout([a, b], false, 0, out _));
        var work = new DelayedWork(() => b.Signal());
        work.Schedule(_m.Clock, 5);
        long left = DmaFence.WaitAnyTimeout([a, b], false, 50, out uint idx);
        Assert.Equal(1u, idx);
        Assert.Equal(44, left);
        Assert.Equal(1, DmaFence.WaitAnyTimeout([a, b], false, 0, out idx));
        Assert.Equal(1u, idx);
        a.Signal();
        a.Put();
        b.Put();
    }
}
