using Sim.Tests.Infrastructure;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>dma-fence-array.c, dma-fence-chain.c and sw_sync.c behaviour.</summary>
public sealed class DmaFenceArrayChainTests : IDisposable
{
    private readonly TestMachine _m = TestMachine.Create(process: null);

    public void Dispose()
    {
        Assert.Equal(0, _m.Live.Count("dma_fence"));
        Assert.Equal(0, _m.Live.Count("sync_timeline"));
        Assert.Equal(0, _m.Warnings.Count);
        _m.Dispose();
    }

    private static readonly DmaFenceOps s_ops = new() { GetDriverName = _ => "t", GetTimelineName = _ => "t" };

    [Fact]
    public void ArraySignalsWhenAllSignalledWithTheFirstError()
    {
        var a = DmaFence.Create(_m.Fences, s_ops, 1, 1);
        var b = DmaFence.Create(_m.Fences, s_ops, 2, 1);
        var array = DmaFenceArray.Create(_m.Fences, [a.Get(), b.Get()], _m.Fences.ContextAlloc(1), 1, signalOnAny: false);
        Assert.True(array.IsArray && array.IsContainer);
        var cb = new DmaFenceCb();
        bool seen = false;
        Assert.Equal(0, array.AddCallback(cb, (_, _) => seen = true));
        Assert.Equal(2, array.NumPending);
        b.SetError(-(int)Errno.EIO);
        b.Signal();
        Assert.False(seen);
        a.Signal();
        Assert.True(seen);
        Assert.Equal(-(int)Errno.EIO, array.GetStatus());
        array.Put();
        Assert.Equal(1, a.RefCount);
        a.Put();
        b.Put();
    }

    [Fact]
    public void ArraySignalOnAny()
    {
        var a = DmaFence.Create(_m.Fences, s_ops, 1, 1);
        var b = DmaFence.Create(_m.Fences, s_ops, 2, 1);
        var array = DmaFenceArray.Create(_m.Fences, [a.Get(), b.Get()], 9, 1, signalOnAny: true);
        array.EnableSwSignaling();
        Assert.False(array.SignaledBit);
        b.Signal();
        Assert.True(array.SignaledBit);
        Assert.Equal(1, array.GetStatus());
        Assert.True(DmaFenceArray.MatchContext(a, 1));
        Assert.False(DmaFenceArray.MatchContext(array, 1));
        Assert.Same(a, DmaFenceArray.First(array));
        Assert.Same(b, DmaFenceArray.Next(array, 1));
        Assert.Null(DmaFenceArray.Next(array, 2));
        array.Put();
        a.Signal();
        a.Put();
        b.Put();
    }

    [Fact]
    public void ChainKeepsTheContextAndSignalsInOrder()
    {
        var f1 = DmaFence.Create(_m.Fences, s_ops, 1, 1);
        var f2 = DmaFence.Create(_m.Fences, s_ops, 2, 1);
        var c1 = new DmaFenceChain();
        c1.Init(_m.Fences, null, f1.Get(), 1);
        var c2 = new DmaFenceChain();
        c2.Init(_m.Fences, c1.Get(), f2.Get(), 2);
        Assert.True(c2.IsChain);
        Assert.Equal(c1.Context, c2.Context);
        Assert.Equal(1UL, c2.PrevSeqno);
        // A seqno that is not later starts a new context with max(prev, seqno).
        var c3 = new DmaFenceChain();
        c3.Init(_m.Fences, c2.Get(), DmaFence.Create(_m.Fences, s_ops, 3, 1), 1);
        Assert.NotEqual(c2.Context, c3.Context);
        Assert.Equal(2UL, c3.Seqno);

        DmaFence? p = c2.Get();
        Assert.Equal(0, DmaFenceChain.FindSeqno(ref p, 1));
        Assert.Same(c1, p);
        p!.Put();
        p = c2.Get();
        Assert.Equal(-(int)Errno.EINVAL, DmaFenceChain.FindSeqno(ref p, 3));
        p!.Put();

        var cb = new DmaFenceCb();
        bool seen = false;
        Assert.Equal(0, c2.AddCallback(cb, (_, _) => seen = true));
        f2.Signal();
        Assert.False(seen);
        f1.Signal();
        Assert.True(seen);
        Assert.True(c2.SignaledBit);
        DmaFenceChain.Contained(c3).Signal();
        Assert.True(c3.IsSignaled());
        c3.Put();
        c2.Put();
        c1.Put();
        f1.Put();
        f2.Put();
    }

    [Fact]
    public void SwSyncTimelineSignalsPointsItReaches()
    {
        var tl = SyncTimeline.Create(_m.Fences, "test");
        var p1 = tl.CreatePt(1);
        var p3 = tl.CreatePt(3);
        var p3b = tl.CreatePt(3);
        Assert.Same(p3, p3b);
        Assert.Equal(2, p3.RefCount);
        Assert.Equal("sw_sync", p1.Ops.GetDriverName(p1));
        Assert.Equal("test", p1.Ops.GetTimelineName(p1));
        Assert.Equal(tl.Context, p1.Context);
        tl.Signal(2);
        Assert.True(p1.SignaledBit);
        Assert.False(p3.IsSignaled());
        Assert.Single(tl.ActivePoints);
        var p0 = tl.CreatePt(2);
        Assert.True(p0.SignaledBit);
        // Closing the sw_sync file signals what is left with -ENOENT.
        tl.Close();
        Assert.Equal(-(int)Errno.ENOENT, p3.GetStatus());
        p0.Put();
        p1.Put();
        p3.Put();
        p3b.Put();
        Assert.Equal(0, tl.RefCount);
    }
}
