using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// The end of ib_umem_dmabuf_map_pages: <c>dma_resv_wait_timeout(resv, DMA_RESV_USAGE_KERNEL, false,
/// MAX_SCHEDULE_TIMEOUT)</c> on the simulated clock; a negative result is returned, 0 becomes -ETIMEDOUT; only
/// KERNEL-usage fences count.
/// </summary>
public class UmemFenceWaitTests
{
    private static readonly (ulong, uint)[] One = [(0x70000000, 16384)];

    private static DmaFence AddFence(UmemFixture f, DmaFenceOps ops, DmaResvUsage usage)
    {
        var core = f.DmaBuf.Resv.Core;
        var fence = DmaFence.Create(core, ops, core.ContextAlloc(1), 1);
        f.Locked(() =>
        {
            Assert.Equal(0, f.DmaBuf.Resv.ReserveFences(1));
            f.DmaBuf.Resv.AddFence(fence, usage);
        });
        return fence;
    }

    private static DmaFenceOps Ops(Func<DmaFence, bool, long, long>? wait = null) => new()
    {
        GetDriverName = _ => "test",
        GetTimelineName = _ => "umem",
        Wait = wait,
    };

    [Fact]
    public void AnUnsignalledKernelFenceWhoseWaitTimesOutGivesEtimedoutThenSuccessOnceSignalled()
    {
        using var f = new UmemFixture(One);
        // A fence whose wait op gives up after 25 jiffies (returns 0 while unsignalled).
        var fence = AddFence(f, Ops((fc, intr, t) => fc.DefaultWait(intr, Math.Min(t, 25))), DmaResvUsage.KERNEL);
        var (umem, _) = f.Get(0x1000, 0x1000);
        long j0 = f.M.Clock.Jiffies;
        f.Locked(() => Assert.Equal(-(int)Errno.ETIMEDOUT, umem!.MapPages()));
        long waited = f.M.Clock.Jiffies - j0;
        Assert.InRange(waited, 25, 27);
        // The table was mapped and trimmed before the wait, and stays so.
        Assert.NotNull(umem!.Sgt);
        Assert.Equal([(0x70001000UL, 4096U)], UmemFixture.View(umem.Umem.SgtAppend.Sgt));

        Assert.Equal(0, fence.Signal());
        j0 = f.M.Clock.Jiffies;
        f.Locked(() => Assert.Equal(0, umem.MapPages()));
        Assert.Equal(j0, f.M.Clock.Jiffies);
        // Not trimmed a second time.
        Assert.Equal([(0x70001000UL, 4096U)], UmemFixture.View(umem.Umem.SgtAppend.Sgt));
        f.Locked(umem.UnmapPages);
        Assert.Equal([(0x70000000UL, 16384U)], UmemFixture.View(umem.Attach.Sgt!));
        IbUmem.Release(umem.Umem);
        fence.Put();
    }

    [Fact]
    public void AKernelFenceSignalledDuringTheWaitEndsItWithSuccess()
    {
        using var f = new UmemFixture(One);
        var fence = AddFence(f, Ops(), DmaResvUsage.KERNEL);
        f.M.Clock.AddTimerJiffies(3, () => fence.Signal());
        var (umem, _) = f.Get(0, 0x4000);
        long j0 = f.M.Clock.Jiffies;
        f.Locked(() => Assert.Equal(0, umem!.MapPages()));
        Assert.InRange(f.M.Clock.Jiffies - j0, 3, 5);
        Assert.True(fence.IsSignaled());
        f.Locked(umem!.UnmapPages);
        IbUmem.Release(umem.Umem);
        fence.Put();
    }

    [Fact]
    public void AnErrorFromTheWaitIsReturnedAndOtherUsagesAreNotWaitedFor()
    {
        using var f = new UmemFixture(One);
        // A WRITE fence that would never signal is not waited for (usage KERNEL only).
        var writer = AddFence(f, Ops(), DmaResvUsage.WRITE);
        var (umem, _) = f.Get(0, 0x1000);
        f.Locked(() => Assert.Equal(0, umem!.MapPages()));
        f.Locked(umem!.UnmapPages);

        // A KERNEL fence whose wait fails with -EIO: map_pages returns it.
        var broken = AddFence(f, Ops((fc, intr, t) => -(int)Errno.EIO), DmaResvUsage.KERNEL);
        f.Locked(() => Assert.Equal(-(int)Errno.EIO, umem.MapPages()));
        f.Locked(umem.UnmapPages);
        IbUmem.Release(umem.Umem);
        writer.Signal();
        broken.Signal();
        writer.Put();
        broken.Put();
    }
}
