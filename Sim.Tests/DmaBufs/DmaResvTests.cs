using Sim.Tests.Infrastructure;
using Sim.Core.Debug;
using Sim.Core.Locking;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>Ports of drivers/dma-buf/st-dma-resv.c (Linux 6.1, usage-parameterised), plus dma-resv.c rules.</summary>
public sealed class DmaResvTests : IDisposable
{
    private readonly TestMachine _m = TestMachine.Create(process: null);
    private int _expectedWarnings;

    public void Dispose()
    {
        Assert.Equal(0, _m.Live.Count("dma_fence"));
        Assert.Equal(_expectedWarnings, _m.Warnings.Count);
        _m.Dispose();
    }

    public static TheoryData<DmaResvUsage> Usages => new() { DmaResvUsage.KERNEL, DmaResvUsage.WRITE, DmaResvUsage.READ, DmaResvUsage.BOOKKEEP };

    private static readonly DmaFenceOps s_fenceOps = new() { GetDriverName = _ => "selftest", GetTimelineName = _ => "selftest" };

    /// <summary>alloc_fence() of st-dma-resv.c: context 0, seqno 0.</summary>
    private DmaFence AllocFence() => DmaFence.Create(_m.Fences, s_fenceOps, 0, 0);

    private DmaFence Fence(ulong context, ulong seqno) => DmaFence.Create(_m.Fences, s_fenceOps, context, seqno);

    /// <summary>Port of drivers/dma-buf/st-dma-resv.c: sanitycheck</summary>
    [Fact]
    public void Sanitycheck()
    {
        var f = AllocFence();
        f.EnableSwSignaling();
        f.Signal();
        f.Put();
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(0, resv.Lock(null));
        resv.Unlock();
        resv.Fini();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-resv.c: test_signaling</summary>
    [Theory]
    [MemberData(nameof(Usages))]
    public void TestSignaling(DmaResvUsage usage)
    {
        var f = AllocFence();
        f.EnableSwSignaling();
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(0, resv.Lock(null));
        Assert.Equal(0, resv.ReserveFences(1));
        resv.AddFence(f, usage);
        Assert.False(resv.TestSignaled(usage));
        f.Signal();
        Assert.True(resv.TestSignaled(usage));
        resv.Unlock();
        resv.Fini();
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-resv.c: test_for_each</summary>
    [Theory]
    [MemberData(nameof(Usages))]
    public void TestForEach(DmaResvUsage usage)
    {
        var f = AllocFence();
        f.EnableSwSignaling();
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(0, resv.Lock(null));
        Assert.Equal(0, resv.ReserveFences(1));
        resv.AddFence(f, usage);
        int r = -(int)Errno.ENOENT;
        var cursor = new DmaResvIter(resv, usage);
        for (var fence = cursor.First(); fence is not null; fence = cursor.Next())
        {
            Assert.NotEqual(0, r); // More than one fence found
            Assert.Same(f, fence);
            Assert.Equal(usage, cursor.Usage);
            r = 0;
        }
        Assert.Equal(0, r); // No fence found
        f.Signal();
        resv.Unlock();
        resv.Fini();
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-resv.c: test_for_each_unlocked</summary>
    [Theory]
    [MemberData(nameof(Usages))]
    public void TestForEachUnlocked(DmaResvUsage usage)
    {
        var f = AllocFence();
        f.EnableSwSignaling();
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(0, resv.Lock(null));
        Assert.Equal(0, resv.ReserveFences(1));
        resv.AddFence(f, usage);
        resv.Unlock();
        int r = -(int)Errno.ENOENT;
        int seen = 0;
        var cursor = new DmaResvIter(resv, usage);
        for (var fence = cursor.FirstUnlocked(); fence is not null; fence = cursor.NextUnlocked())
        {
            seen++;
            Assert.NotEqual(0, r); // More than one fence found
            Assert.True(cursor.IsRestarted); // No restart flag
            Assert.Same(f, fence);
            Assert.Equal(usage, cursor.Usage);
            Assert.Equal(3, f.RefCount); // creator, resv, cursor
            // We use r as state here.
            if (r == -(int)Errno.ENOENT)
            {
                r = -(int)Errno.EINVAL;
                // That should trigger a restart.
                cursor.Invalidate();
            }
            else if (r == -(int)Errno.EINVAL)
            {
                r = 0;
            }
        }
        Assert.Equal(0, r);
        Assert.Equal(2, seen);
        cursor.End();
        f.Signal();
        resv.Fini();
        f.Put();
    }

    /// <summary>Port of drivers/dma-buf/st-dma-resv.c: test_get_fences</summary>
    [Theory]
    [MemberData(nameof(Usages))]
    public void TestGetFences(DmaResvUsage usage)
    {
        var f = AllocFence();
        f.EnableSwSignaling();
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(0, resv.Lock(null));
        Assert.Equal(0, resv.ReserveFences(1));
        resv.AddFence(f, usage);
        resv.Unlock();
        Assert.Equal(0, resv.GetFences(usage, out var fences));
        Assert.Single(fences);
        Assert.Same(f, fences[0]);
        f.Signal();
        foreach (var x in fences)
        {
            x.Put();
        }
        resv.Fini();
        f.Put();
    }

    [Theory]
    [MemberData(nameof(Usages))]
    public void QueriesSeeFencesOfUsageUpToTheQueryLevel(DmaResvUsage added)
    {
        var resv = new DmaResv(_m.Fences);
        var f = Fence(_m.Fences.ContextAlloc(1), 1);
        resv.Lock(null);
        resv.ReserveFences(1);
        resv.AddFence(f, added);
        resv.Unlock();
        foreach (var q in new[] { DmaResvUsage.KERNEL, DmaResvUsage.WRITE, DmaResvUsage.READ, DmaResvUsage.BOOKKEEP })
        {
            Assert.Equal(q < added, resv.TestSignaled(q));
            resv.GetFences(q, out var got);
            Assert.Equal(q >= added ? 1 : 0, got.Length);
            foreach (var x in got)
            {
                x.Put();
            }
        }
        f.Signal();
        resv.Fini();
        f.Put();
    }

    [Fact]
    public void WaitTimeoutReturnValues()
    {
        // Observed rules: nothing unsignalled -> timeout (1 for 0); unsignalled + 0 -> 0 at once;
        // timeout t -> 0 after t+1 jiffies; MAX_SCHEDULE_TIMEOUT with nothing to wait for -> itself.
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(1, resv.WaitTimeout(DmaResvUsage.BOOKKEEP, false, 0));
        Assert.Equal(3, resv.WaitTimeout(DmaResvUsage.BOOKKEEP, false, 3));
        Assert.Equal(long.MaxValue, resv.WaitTimeout(DmaResvUsage.BOOKKEEP, false, (ulong)Ktime.MAX_SCHEDULE_TIMEOUT));
        var f = Fence(_m.Fences.ContextAlloc(1), 1);
        resv.Lock(null);
        resv.ReserveFences(1);
        resv.AddFence(f, DmaResvUsage.READ);
        resv.Unlock();
        Assert.Equal(1, resv.WaitTimeout(DmaResvUsage.WRITE, false, 0));
        Assert.Equal(0, resv.WaitTimeout(DmaResvUsage.READ, false, 0));
        Assert.Equal(0, _m.Clock.Jiffies);
        Assert.Equal(0, resv.WaitTimeout(DmaResvUsage.READ, false, 3));
        Assert.Equal(4, _m.Clock.Jiffies);
        var work = new DelayedWork(() => f.Signal());
        work.Schedule(_m.Clock, 3);
        Assert.Equal(96, resv.WaitTimeout(DmaResvUsage.READ, false, 100));
        Assert.Equal(8, _m.Clock.Jiffies);
        Assert.Equal(1, resv.WaitTimeout(DmaResvUsage.READ, false, 0));
        resv.Fini();
        f.Put();
    }

    [Fact]
    public void AddFenceReplacementRules()
    {
        // resv_script replacement cases: same context & later & old usage >= new replaces; otherwise append.
        var resv = new DmaResv(_m.Fences);
        ulong c = _m.Fences.ContextAlloc(2);
        var a1 = Fence(c, 1);
        var a2 = Fence(c, 2);
        var a2b = Fence(c, 2);
        var b1 = Fence(c + 1, 1);
        resv.Lock(null);
        resv.ReserveFences(4);
        resv.AddFence(b1, DmaResvUsage.BOOKKEEP);
        resv.AddFence(a1, DmaResvUsage.READ);
        resv.AddFence(a2, DmaResvUsage.WRITE);      // later, READ >= WRITE: replaces a1
        Assert.Equal([(b1, DmaResvUsage.BOOKKEEP), (a2, DmaResvUsage.WRITE)], resv.Slots().Select(s => (s.Fence, s.Usage)));
        resv.AddFence(a2b, DmaResvUsage.WRITE);     // same seqno, other fence: not later -> append
        Assert.Equal(3, resv.NumFences);
        resv.AddFence(a2, DmaResvUsage.KERNEL);     // the same fence counts ("or same"), WRITE >= KERNEL
        Assert.Equal((a2, DmaResvUsage.KERNEL), (resv.Slots()[1].Fence, resv.Slots()[1].Usage));
        resv.AddFence(a1, DmaResvUsage.BOOKKEEP);   // earlier: append
        Assert.Equal(4, resv.NumFences);
        b1.Signal();
        var fresh = Fence(c + 7, 1);
        resv.AddFence(fresh, DmaResvUsage.BOOKKEEP); // another context: replaces the signalled b1 in slot 0
        Assert.Same(fresh, resv.Slots()[0].Fence);
        Assert.Equal(1, b1.RefCount);
        resv.Unlock();
        resv.Fini();
        foreach (var f in new[] { a1, a2, a2b, b1, fresh })
        {
            Assert.Equal(1, f.RefCount);
            f.Put();
        }
    }

    [Fact]
    public void ReserveRoundsUpToKsizeAndCompactsSignalledFences()
    {
        // struct dma_resv_list: 24-byte header + 8 per slot. reserve(1) asks for 4 slots = 56 bytes -> kmalloc-64
        // -> 5 slots (resv_script i=143 relies on the fifth). Growing from 5: max(5+1, 10) = 10 slots = 104 bytes
        // -> kmalloc-128 -> 13 slots, dropping signalled fences (resv_random_seed31 i=161).
        var resv = new DmaResv(_m.Fences);
        resv.Lock(null);
        resv.ReserveFences(1);
        Assert.Equal(5, resv.MaxFences);
        ulong c = _m.Fences.ContextAlloc(5);
        var f = new DmaFence[5];
        for (int i = 0; i < 5; i++)
        {
            f[i] = Fence(c + (ulong)i, 1);
            resv.ReserveFences(1);
            resv.AddFence(f[i], DmaResvUsage.READ);
        }
        Assert.Equal(5, resv.MaxFences);
        f[0].Signal();
        f[3].Signal();
        Assert.Equal(0, resv.ReserveFences(1));
        Assert.Equal(13, resv.MaxFences);
        Assert.Equal([f[1], f[2], f[4]], resv.Slots().Select(s => s.Fence));
        Assert.Equal(1, f[0].RefCount);
        Assert.Equal(-(int)Errno.ENOMEM, resv.ReserveFences(1u << 20));
        resv.Unlock();
        resv.Fini();
        foreach (var x in f)
        {
            x.Put();
        }
    }

    [Fact]
    public void AddWithoutReservedSlotIsABug()
    {
        var resv = new DmaResv(_m.Fences);
        var f = Fence(_m.Fences.ContextAlloc(1), 1);
        resv.Lock(null);
        Assert.Throws<KernelBugException>(() => resv.AddFence(f, DmaResvUsage.READ));
        f.Put(); // the reference AddFence took before it crashed
        resv.Unlock();
        resv.Fini();
        f.Put();
    }

    [Fact]
    public void AssertHeldWarnsWhenUnlocked()
    {
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(0, resv.ReserveFences(1));
        Assert.Equal(1, _m.Warnings.Count);
        Assert.Equal("dma_resv_assert_held", _m.Warnings.Records[0].Condition);
        Assert.True(resv.AssertHeld());
        Assert.True(resv.Trylock());
        Assert.False(resv.AssertHeld());
        Assert.False(resv.Trylock());
        resv.Unlock();
        resv.Fini();
        _expectedWarnings = 2;
    }

    [Fact]
    public void WwMutexRelockWithSameContextIsEalready()
    {
        var resv = new DmaResv(_m.Fences);
        var ctx = new WwAcquireCtx(_m.Fences.ReservationWwClass);
        Assert.Equal(0, resv.Lock(ctx));
        Assert.Same(ctx, resv.LockingCtx);
        Assert.Equal(-(int)Errno.EALREADY, resv.Lock(ctx));
        Assert.Equal(1, ctx.Acquired);
        resv.Unlock();
        Assert.Equal(0, ctx.Acquired);
        ctx.Fini(_m.Warnings);
        resv.Fini();
    }

    [Fact]
    public void WwMutexWaitDieBackOff()
    {
        // Two transactions: the older (A) holds X, the younger (B) holds Y and wants X -> -EDEADLK; B backs off
        // (drops Y), A finishes, B takes X with lock_slow and then Y.
        var x = new DmaResv(_m.Fences);
        var y = new DmaResv(_m.Fences);
        var a = new WwAcquireCtx(_m.Fences.ReservationWwClass);
        var b = new WwAcquireCtx(_m.Fences.ReservationWwClass);
        Assert.True(a.Stamp < b.Stamp);
        Assert.Equal(0, x.Lock(a));
        Assert.Equal(0, y.Lock(b));
        Assert.Equal(-(int)Errno.EDEADLK, x.Lock(b));
        Assert.False(x.Trylock());
        y.Unlock();
        x.Unlock();
        a.Fini(_m.Warnings);
        x.LockSlow(b);
        Assert.Equal(0, y.Lock(b));
        Assert.Equal(2, b.Acquired);
        // A context that holds nothing waits for the holder: it would sleep, and no other task can release it.
        var c = new WwAcquireCtx(_m.Fences.ReservationWwClass);
        Assert.Throws<KernelBugException>(() => x.Lock(c));
        x.Unlock();
        y.Unlock();
        b.Fini(_m.Warnings);
        x.Fini();
        y.Fini();
    }

    [Fact]
    public void GetSingletonBuildsAnArrayOfTheUnsignalledFences()
    {
        var resv = new DmaResv(_m.Fences);
        Assert.Equal(0, resv.GetSingleton(DmaResvUsage.BOOKKEEP, out var none));
        Assert.Null(none);
        ulong c = _m.Fences.ContextAlloc(2);
        var f1 = Fence(c, 1);
        var f2 = Fence(c + 1, 1);
        resv.Lock(null);
        resv.ReserveFences(2);
        resv.AddFence(f1, DmaResvUsage.WRITE);
        resv.AddFence(f2, DmaResvUsage.READ);
        resv.Unlock();
        Assert.Equal(0, resv.GetSingleton(DmaResvUsage.WRITE, out var one));
        Assert.Same(f1, one);
        one!.Put();
        Assert.Equal(0, resv.GetSingleton(DmaResvUsage.READ, out var both));
        var array = DmaFenceArray.From(both);
        Assert.NotNull(array);
        Assert.Equal(c + 2, array!.Context);
        Assert.Equal(2, array.NumFences);
        Assert.False(array.IsSignaled());
        f1.Signal();
        Assert.False(array.IsSignaled());
        f2.Signal();
        Assert.True(array.IsSignaled());
        array.Put();
        resv.Fini();
        f1.Put();
        f2.Put();
    }

    [Fact]
    public void ReplaceAndCopyFences()
    {
        var src = new DmaResv(_m.Fences);
        var dst = new DmaResv(_m.Fences);
        ulong c = _m.Fences.ContextAlloc(2);
        var f1 = Fence(c, 1);
        var f2 = Fence(c + 1, 1);
        var stub = _m.Fences.GetStub();
        src.Lock(null);
        src.ReserveFences(2);
        src.AddFence(f1, DmaResvUsage.KERNEL);
        src.AddFence(f2, DmaResvUsage.BOOKKEEP);
        src.ReplaceFences(c, stub, DmaResvUsage.WRITE);
        Assert.Equal([(stub, DmaResvUsage.WRITE), (f2, DmaResvUsage.BOOKKEEP)], src.Slots().Select(s => (s.Fence, s.Usage)));
        src.Unlock();
        Assert.Equal(1, f1.RefCount);
        dst.Lock(null);
        Assert.Equal(0, dst.CopyFences(src));
        Assert.Equal([(f2, DmaResvUsage.BOOKKEEP)], dst.Slots().Select(s => (s.Fence, s.Usage)));
        dst.Unlock();
        src.Lock(null);
        Assert.Equal("\twrite fence:stub stub seq 0 signalled\n", src.Describe());
        src.Unlock();
        src.Fini();
        dst.Fini();
        stub.Put();
        f1.Put();
        f2.Put();
    }
}
