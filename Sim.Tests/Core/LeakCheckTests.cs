// The kernel side of `run --check` (Sim.Core/Debug/LeakCheck.cs) on the syscall layer, without a real program:
// what do_exit releases last is a leak stamped with the creating call's site; what the program releases, or what
// another process still holds, is not.
using Sim.Core.Debug;
using Sim.Core.Kernel;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.Core;

public class LeakCheckTests
{
    // DMA_BUF_IOCTL_SYNC = _IOW('b', 0, struct dma_buf_sync) (include/uapi/linux/dma-buf.h); flags READ 1, END 4.
    private const uint DMA_BUF_IOCTL_SYNC = 0x40086200;

    private static (TestMachine M, LeakCheck Check, Syscalls Sys) Machine(bool enabled = true)
    {
        var m = TestMachine.WithDrm("vgem");
        var check = m.Get<LeakCheck>();
        check.Enabled = enabled;
        return (m, check, m.Get<Syscalls>());
    }

    [Fact]
    public void AHandleLeftToExitIsAGemLeakStampedWithTheCallThatCreatedIt()
    {
        var (m, check, sys) = Machine();
        using var _ = m;
        m.Process.CallSite = 5;
        int fd = m.Open("/dev/dri/card0");
        m.Process.CallSite = 7;
        var bo = m.CreateDumb(fd, 64, 64, 32);
        m.Process.CallSite = 9;
        var kept = m.CreateDumb(fd, 64, 64, 32);
        Assert.Equal(0, m.DestroyDumb(fd, kept.Handle));
        Assert.Empty(check.Leaks); // nothing is a leak while the program runs
        sys.Exit(m.Process);
        var leak = Assert.Single(check.Leaks);
        Assert.Equal(("GEM object", new CallOrigin(m.Process.Pid, 7), (LeakRecord?)null), (leak.Kind, leak.Origin, leak.Parent));
        Assert.Equal($"vgem gem object of {bo.Size} bytes", leak.Description);
    }

    [Fact]
    public void WithTheCheckOffNothingIsStampedOrRecorded()
    {
        var (m, check, sys) = Machine(enabled: false);
        using var _ = m;
        m.Process.CallSite = 7;
        int fd = m.Open("/dev/dri/card0");
        m.CreateDumb(fd, 64, 64, 32);
        sys.Exit(m.Process);
        Assert.Empty(check.Leaks);
        Assert.All(m.Live.Alive(), o => Assert.Equal(default, o.Origin));
    }

    [Fact]
    public void AMappingLeftToExitIsTheLeakAndTheDmaBufItHeldIsIndirectlyLost()
    {
        var (m, check, sys) = Machine();
        using var _ = m;
        int card = m.Open("/dev/dri/card0");
        m.Process.CallSite = 3;
        var bo = m.CreateDumb(card, 64, 64, 32);
        var (r, buf) = m.HandleToFd(card, bo.Handle, OpenFlagsRdwrCloexec);
        Assert.Equal(0, r);
        m.Process.CallSite = 4;
        long addr = m.MapShared(buf, bo.Size);
        Assert.True(addr > 0);
        m.Process.CallSite = 0;
        Assert.Equal(0, m.DestroyDumb(card, bo.Handle));
        Assert.Equal(0, m.Process.Close(buf));
        Assert.Equal(0, m.Process.Close(card));
        sys.Exit(m.Process);
        Assert.Equal(2, check.Leaks.Count);
        var mapping = check.Leaks[0];
        Assert.Equal(("mapping", 4L, (LeakRecord?)null), (mapping.Kind, mapping.Origin.Site, mapping.Parent));
        Assert.StartsWith($"mapping of dmabuf: at 0x{addr:x}-", mapping.Description, StringComparison.Ordinal);
        var dmabuf = check.Leaks[1];
        Assert.Equal(("dma-buf", 3L, mapping), (dmabuf.Kind, dmabuf.Origin.Site, dmabuf.Parent));
    }

    [Fact]
    public void AnFdInheritedThroughForkIsNoLeakWhileTheParentHoldsIt()
    {
        var (m, check, sys) = Machine();
        using var _ = m;
        int card = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(card, 64, 64, 32);
        var (_, buf) = m.HandleToFd(card, bo.Handle, OpenFlagsRdwrCloexec);
        long addr = m.MapShared(buf, bo.Size);
        long pid = sys.Fork(m.Process);
        var child = m.Get<ProcessTable>().Find((int)pid)!;
        sys.Exit(child); // the card, the dma-buf fd and the mapping: copies the parent still holds
        Assert.Empty(check.Leaks);
        // The parent releases everything itself: still nothing.
        Assert.Equal(0, m.Process.Munmap((ulong)addr, bo.Size));
        Assert.Equal(0, m.Process.Close(buf));
        Assert.Equal(0, m.DestroyDumb(card, bo.Handle));
        Assert.Equal(0, m.Process.Close(card));
        sys.Exit(m.Process);
        Assert.Empty(check.Leaks);
    }

    [Fact]
    public void SyncEndWithoutStartIsAMisuseAndAStartedAccessIsNot()
    {
        var (m, check, _) = Machine();
        using var __ = m;
        int card = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(card, 64, 64, 32);
        var (_, buf) = m.HandleToFd(card, bo.Handle, OpenFlagsRdwrCloexec);
        m.Process.CallSite = 11;
        Assert.Equal(0, m.Ioctl(buf, DMA_BUF_IOCTL_SYNC, BitConverter.GetBytes(1UL | 4UL))); // END|READ: Linux says 0
        var misuse = Assert.Single(check.Misuses);
        Assert.Equal(("dma_buf_ioctl", new CallOrigin(m.Process.Pid, 11)), (misuse.Function, misuse.Origin));
        Assert.Equal(0, m.Ioctl(buf, DMA_BUF_IOCTL_SYNC, BitConverter.GetBytes(1UL)));        // START|READ
        Assert.Equal(0, m.Ioctl(buf, DMA_BUF_IOCTL_SYNC, BitConverter.GetBytes(1UL | 4UL)));  // its END
        Assert.Single(check.Misuses);
    }

    private const uint OpenFlagsRdwrCloexec = Sim.Core.Fs.OpenFlags.O_RDWR | Sim.Core.Fs.OpenFlags.O_CLOEXEC;
}
