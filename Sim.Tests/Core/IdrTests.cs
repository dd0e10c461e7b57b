using Sim.Core.Lib;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Core;

public class IdrTests
{
    [Fact]
    public void HandsOutTheLowestFreeIdFromTheStart()
    {
        var idr = new Idr<string>();
        Assert.Equal(1, idr.Alloc("a", 1));
        Assert.Equal(2, idr.Alloc("b", 1));
        Assert.Equal(3, idr.Alloc("c", 1));
        Assert.Equal("b", idr.Remove(2));
        Assert.Equal(2, idr.Alloc("d", 1));
        Assert.Equal(4, idr.Alloc("e", 1));
        Assert.Equal("d", idr.Find(2));
        Assert.Null(idr.Find(9));
    }

    [Fact]
    public void FullRangeIsEnospc()
    {
        var idr = new Idr<string>();
        Assert.Equal(0, idr.Alloc("a", 0, 2));
        Assert.Equal(1, idr.Alloc("b", 0, 2));
        Assert.Equal(-(int)Errno.ENOSPC, idr.Alloc("c", 0, 2));
    }

    [Fact]
    public void ClockJumpsToTimersOnlyWhileWaiting()
    {
        var clock = new Ktime(250);
        bool fired = false;
        clock.AddTimerJiffies(2500, () => fired = true);
        Assert.Equal(0, clock.Jiffies);
        Assert.True(clock.WaitUntil(() => fired, Ktime.MAX_SCHEDULE_TIMEOUT));
        Assert.Equal(2500, clock.Jiffies);
        Assert.Equal(10_000_000_000L, clock.NowNs);
        bool never = false;
        Assert.False(clock.WaitUntil(() => never, 3 * clock.NsPerJiffy));
        Assert.Equal(2503, clock.Jiffies);
    }
}
