using Sim.Tests.Infrastructure;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Drm;

/// <summary>
/// DRM_IOCTL_VGEM_FENCE_ATTACH / _SIGNAL, with expectations from drivers/gpu/drm/vgem/vgem_fence.c and the
/// "vgem fences" rules of data/traces/README.md (linux-6.1-vgem).
/// </summary>
public class VgemFenceTests
{
    private const long EINVAL = -(long)Errno.EINVAL;
    private const long ENOENT = -(long)Errno.ENOENT;
    private const long EBUSY = -(long)Errno.EBUSY;
    private const long ETIMEDOUT = -(long)Errno.ETIMEDOUT;
    private const uint WRITE = 1;

    [Fact]
    public void attach_checks_flags_and_pad_before_the_handle()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);
        Assert.Equal(EINVAL, m.FenceAttach(fd, 99, flags: 2).Ret);      // bad flags beat the bad handle
        Assert.Equal(EINVAL, m.FenceAttach(fd, 99, flags: 0, pad: 1).Ret);
        Assert.Equal(ENOENT, m.FenceAttach(fd, 99, flags: 0).Ret);
        Assert.Equal(ENOENT, m.FenceAttach(fd, 0, flags: WRITE).Ret);
        Assert.Equal(EINVAL, m.FenceAttach(fd, bo.Handle, flags: 0x80000000).Ret);
    }

    [Fact]
    public void read_fences_share_write_fences_conflict()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);
        Assert.Equal((0L, 1u), m.FenceAttach(fd, bo.Handle, 0));
        Assert.Equal((0L, 2u), m.FenceAttach(fd, bo.Handle, 0));    // read + read is fine
        Assert.Equal(EBUSY, m.FenceAttach(fd, bo.Handle, WRITE).Ret); // write while reads are pending
        Assert.Equal(0, m.FenceSignal(fd, 1));
        Assert.Equal(EBUSY, m.FenceAttach(fd, bo.Handle, WRITE).Ret); // fence 2 still pending
        Assert.Equal(0, m.FenceSignal(fd, 2));
        // Ids are never reused, and the failed attaches took none.
        var w = m.FenceAttach(fd, bo.Handle, WRITE);
        Assert.Equal((0L, 3u), w);
        Assert.Equal(EBUSY, m.FenceAttach(fd, bo.Handle, 0).Ret);     // read while a write is pending
        Assert.Equal(EBUSY, m.FenceAttach(fd, bo.Handle, WRITE).Ret);
        Assert.Equal(0, m.FenceSignal(fd, 3));
        Assert.Equal((0L, 4u), m.FenceAttach(fd, bo.Handle, 0));
    }

    [Fact]
    public void signal_errors_and_double_signal()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);
        Assert.Equal(1u, m.FenceAttach(fd, bo.Handle, WRITE).Fence);
        Assert.Equal(EINVAL, m.FenceSignal(fd, 1, flags: 1));
        Assert.Equal(ENOENT, m.FenceSignal(fd, 0));
        Assert.Equal(ENOENT, m.FenceSignal(fd, 2));
        Assert.Equal(ENOENT, m.FenceSignal(fd, 0xFFFFFFFF));
        Assert.Equal(0, m.FenceSignal(fd, 1));
        Assert.Equal(ENOENT, m.FenceSignal(fd, 1));                   // already signalled by ioctl
    }

    [Fact]
    public void fence_times_out_after_ten_simulated_seconds()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);
        Assert.Equal(1u, m.FenceAttach(fd, bo.Handle, WRITE).Fence);
        m.Clock.AdvanceNs(9_900_000_000);
        Assert.Equal(EBUSY, m.FenceAttach(fd, bo.Handle, 0).Ret);     // 9.9 s: still pending
        m.Clock.AdvanceNs(1_100_000_000);                                 // 11 s: the timer (10 s + wheel rounding) fired
        Assert.Equal((0L, 2u), m.FenceAttach(fd, bo.Handle, WRITE));
        Assert.Equal(ETIMEDOUT, m.FenceSignal(fd, 1));                  // signalled by the timer: -ETIMEDOUT once
        Assert.Equal(ENOENT, m.FenceSignal(fd, 1));
        Assert.Equal(0, m.FenceSignal(fd, 2));
    }

    [Fact]
    public void fence_ids_belong_to_the_file_conflicts_to_the_object()
    {
        using var m = TestMachine.WithDrm("vgem");
        int a = m.Open("/dev/dri/card0");
        int b = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(a, 64, 64, 32);
        var (_, name) = m.Flink(a, bo.Handle);
        var (_, hb, _) = m.GemOpen(b, name);
        Assert.Equal(1u, m.FenceAttach(a, bo.Handle, WRITE).Fence);
        Assert.Equal(EBUSY, m.FenceAttach(b, hb, 0).Ret);              // the object's reservation object is shared
        Assert.Equal(ENOENT, m.FenceSignal(b, 1));                      // but the ids are file a's
        Assert.Equal(0, m.FenceSignal(a, 1));
        Assert.Equal((0L, 1u), m.FenceAttach(b, hb, 0));                // file b numbers from 1
    }

    [Fact]
    public void closing_the_file_signals_its_pending_fences()
    {
        using var m = TestMachine.WithDrm("vgem");
        int a = m.Open("/dev/dri/card0");
        int b = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(a, 64, 64, 32);
        var (_, name) = m.Flink(a, bo.Handle);
        var (_, hb, _) = m.GemOpen(b, name);
        Assert.Equal(0, m.FenceAttach(a, bo.Handle, WRITE).Ret);
        Assert.Equal(EBUSY, m.FenceAttach(b, hb, WRITE).Ret);
        long before = m.Clock.NowNs;
        Assert.Equal(0, m.Process.Close(a));
        Assert.Equal(before, m.Clock.NowNs);                           // no time passed: the close signalled it
        Assert.Equal((0L, 1u), m.FenceAttach(b, hb, WRITE));
        Assert.Equal(0, m.Process.Close(b));
        Assert.Equal(0, m.Live.Count());
        Assert.Equal(0, m.Shmem.PagesInUse);
    }
}
