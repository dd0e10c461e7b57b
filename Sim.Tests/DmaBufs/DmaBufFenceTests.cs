using System.Buffers.Binary;
using Sim.Core.Fs;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// The dma-buf's implicit fences as user space sees them: poll, DMA_BUF_IOCTL_SYNC waits, EXPORT/IMPORT_SYNC_FILE and
/// sync_file poll. Expectations: the vgem-fence trace's observed rules and drivers/dma-buf/dma-buf.c.
/// </summary>
public class DmaBufFenceTests
{
    private const uint IN = Poll_h.POLLIN;
    private const uint OUT = Poll_h.POLLOUT;

    private sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            M = TestMachine.Create();
            var (buf, _) = new TestExporter([0x10]).Export(M.List, OpenFlags.O_RDWR, "drm");
            DmaBuf = buf!;
            Fd = DmaBuf.Fd(M.Process, OpenFlags.O_CLOEXEC);
            Timeline = SyncTimeline.Create(DmaBuf.Resv.Core, "test");
        }

        public TestMachine M { get; }

        public DmaBuf DmaBuf { get; }

        public int Fd { get; }

        public SyncTimeline Timeline { get; }

        public DmaFence AddFence(uint seqno, DmaResvUsage usage)
        {
            var f = Timeline.CreatePt(seqno);
            Assert.Equal(0, DmaBuf.Resv.Lock(null));
            Assert.Equal(0, DmaBuf.Resv.ReserveFences(1));
            DmaBuf.Resv.AddFence(f, usage);
            DmaBuf.Resv.Unlock();
            f.Put();
            return f;
        }

        public (int Ret, uint Revents) Poll(int fd, uint events, long timeoutMs = 0) => M.Process.Poll(fd, events, timeoutMs);

        public long Ioctl(uint cmd, uint flags, int fd = -1)
        {
            var b = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(b, flags);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(4), fd);
            long r = M.Process.Ioctl(Fd, cmd, new UserArg(0x1000, b));
            LastFd = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(4));
            return r;
        }

        public int LastFd { get; private set; }

        public void Dispose() => M.Dispose();
    }

    /// <summary>
    /// vgem-fence i=4..16: no fence -> POLLIN|POLLOUT; an unsignalled read fence -> POLLIN only, and the POLLOUT
    /// callback stays armed holding a file reference (bufinfo count 3 -> 4 in the trace) until the fence signals.
    /// </summary>
    [Fact]
    public void PollWithAReadFence()
    {
        using var x = new Fixture();
        Assert.Equal((1, IN | OUT), x.Poll(x.Fd, IN | OUT));
        Assert.Equal(1, x.DmaBuf.File.Count);
        x.AddFence(1, DmaResvUsage.READ);
        Assert.Equal((1, IN), x.Poll(x.Fd, IN | OUT));
        Assert.Equal(2, x.DmaBuf.File.Count);
        Assert.Equal((1, IN), x.Poll(x.Fd, IN));
        Assert.Equal((0, 0U), x.Poll(x.Fd, OUT));
        Assert.Equal(2, x.DmaBuf.File.Count);
        x.Timeline.Signal(1);
        Assert.Equal(1, x.DmaBuf.File.Count);
        Assert.Equal((1, IN | OUT), x.Poll(x.Fd, IN | OUT));
        Assert.Equal(1, x.DmaBuf.File.Count);
    }

    /// <summary>vgem-fence i=22, 25: an unsignalled write fence blocks both events (two callbacks, two references) and shows in bufinfo.</summary>
    [Fact]
    public void PollWithAWriteFence()
    {
        using var x = new Fixture();
        x.AddFence(1, DmaResvUsage.WRITE);
        Assert.Equal((0, 0U), x.Poll(x.Fd, IN | OUT));
        Assert.Equal(3, x.DmaBuf.File.Count);
        Assert.Contains("<none>\n\twrite fence:", x.M.List.DebugShow(), StringComparison.Ordinal);
        Assert.Contains(" unsignalled\n", x.M.List.DebugShow(), StringComparison.Ordinal);
        x.Timeline.Signal(1);
        Assert.Equal(1, x.DmaBuf.File.Count);
        Assert.Equal((1, IN | OUT), x.Poll(x.Fd, IN | OUT));
    }

    /// <summary>
    /// vgem-fence: SYNC(READ) does not wait for read fences; SYNC(WRITE) waits for them (here until a timer signals
    /// the fence 10 s later, on the simulated clock); a blocking poll(POLLOUT) waits the same way.
    /// </summary>
    [Fact]
    public void SyncWaitsOnTheSimulatedClock()
    {
        using var x = new Fixture();
        x.AddFence(1, DmaResvUsage.READ);
        x.M.Clock.AddTimerNs(10_000_000_000, () => x.Timeline.Signal(1));
        long t0 = x.M.Clock.NowNs;
        var b = new byte[8];
        b[0] = (byte)DmaBufUapi.DMA_BUF_SYNC_READ;
        Assert.Equal(0, x.M.Process.Ioctl(x.Fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x1000, b)));
        Assert.Equal(t0, x.M.Clock.NowNs);
        b[0] = (byte)DmaBufUapi.DMA_BUF_SYNC_WRITE;
        Assert.Equal(0, x.M.Process.Ioctl(x.Fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x1000, b)));
        Assert.Equal(10_000_000_000, x.M.Clock.NowNs - t0);

        x.AddFence(2, DmaResvUsage.READ);
        x.M.Clock.AddTimerNs(10_000_000_000, () => x.Timeline.Signal(1));
        Assert.Equal((1, OUT), x.Poll(x.Fd, OUT, 20_000));
        Assert.Equal(20_000_000_000, x.M.Clock.NowNs - t0);
        Assert.Equal(1, x.DmaBuf.File.Count);
    }

    /// <summary>
    /// vgem-fence i=26..32 and vgem-dmabuf i=71..72: EXPORT_SYNC_FILE flags 0 or 4 are -EINVAL (fd stays -1); an idle
    /// buffer gives a signalled sync_file (POLLIN at once); a pending write fence gives one that polls POLLIN only
    /// after the signal. New fds are the lowest free ones.
    /// </summary>
    [Fact]
    public void ExportSyncFile()
    {
        using var x = new Fixture();
        Assert.Equal(-(long)Errno.EINVAL, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 0));
        Assert.Equal(-1, x.LastFd);
        Assert.Equal(-(long)Errno.EINVAL, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 4));
        Assert.Equal(0, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 1));
        int idle = x.LastFd;
        Assert.Equal(1, idle);
        Assert.Equal((1, IN), x.Poll(idle, IN));
        Assert.Equal(Process_F_GETFD_Cloexec, x.M.Process.Fcntl(idle, 1));

        x.AddFence(1, DmaResvUsage.WRITE);
        Assert.Equal(0, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 1));
        int busy = x.LastFd;
        Assert.Equal(2, busy);
        Assert.Equal((0, 0U), x.Poll(busy, IN));
        x.Timeline.Signal(1);
        Assert.Equal((1, IN), x.Poll(busy, IN));

        Assert.Equal(0, x.M.Process.Close(idle));
        Assert.Equal(0, x.M.Process.Close(busy));
        Assert.Equal(0, x.M.Live.Count("sync_file"));
    }

    private const long Process_F_GETFD_Cloexec = 1;

    /// <summary>
    /// vgem-fence i=46..48: IMPORT_SYNC_FILE flags 0 or fd -1 are -EINVAL (so is a fd that is not a sync_file); a sync_file
    /// imported with WRITE becomes a write fence of the buffer (poll POLLIN blocked until it signals).
    /// </summary>
    [Fact]
    public void ImportSyncFile()
    {
        using var x = new Fixture();
        x.AddFence(1, DmaResvUsage.READ);
        Assert.Equal(0, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, 2));
        int sf = x.LastFd;
        Assert.Equal(-(long)Errno.EINVAL, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE, 0, sf));
        Assert.Equal(-(long)Errno.EINVAL, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE, 1, -1));
        Assert.Equal(-(long)Errno.EINVAL, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE, 1, x.Fd));
        Assert.Equal((1, IN), x.Poll(x.Fd, IN));
        Assert.Equal(0, x.Ioctl(DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE, 2, sf));
        Assert.Equal((0, 0U), x.Poll(x.Fd, IN));
        x.Timeline.Signal(1);
        Assert.Equal((1, IN | OUT), x.Poll(x.Fd, IN | OUT));
        Assert.Equal(0, x.M.Process.Close(sf));
        Assert.Equal(0, x.M.Warnings.Count);
    }

    /// <summary>The dma-buf is released at its last reference even with fences in its (embedded) reservation object.</summary>
    [Fact]
    public void ReleaseWithFences()
    {
        using var x = new Fixture();
        x.AddFence(1, DmaResvUsage.WRITE);
        x.Timeline.Signal(1);
        Assert.Equal(0, x.M.Process.Close(x.Fd));
        Assert.True(x.DmaBuf.Released);
        Assert.Equal(0, x.M.Live.Count("dma_buf"));
        Assert.Equal(0, x.M.Warnings.Count);
    }
}
