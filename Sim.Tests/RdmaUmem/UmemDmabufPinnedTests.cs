using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// ib_umem_dmabuf_get_pinned's sequence and unwind (lock, dma_buf_pin, map_pages, unlock; on failure unlock and
/// ib_umem_release: lock, unmap_pages, unpin when pinned, unlock, detach, put), and move_notify: a driver's invalidate
/// callback unmaps and the next map_pages maps the moved buffer; the pinned ops only warn. Exporter call orders are
/// derived from dma_buf_map_attachment/unmap_attachment of Linux 6.1 (CONFIG_DMABUF_MOVE_NOTIFY off: a dynamic
/// exporter is pinned for every mapping and unpinned after it).
/// </summary>
public class UmemDmabufPinnedTests
{
    private static readonly (ulong, uint)[] Two = [(0x40000000, 8192), (0x50000000, 8192)];

    private static (IbUmemDmabuf? Umem, int Err) GetPinned(UmemFixture f, ulong offset, ulong size) =>
        IbUmemDmabuf.GetPinned(f.M.List, f.M.Process, f.IbDev, offset, size, f.Fd, (int)IbAccessFlags.IB_ACCESS_LOCAL_WRITE);

    [Fact]
    public void GetPinnedMapsUnderTheLockAndReleaseUndoesItInOrder()
    {
        using var f = new UmemFixture(Two, dynamic: true);
        long count = f.FileCount;
        var (umem, err) = GetPinned(f, 0x1000, 0x2000);
        Assert.Equal(0, err);
        Assert.True(umem!.Pinned);
        Assert.False(f.DmaBuf.Resv.IsLocked);
        Assert.Same(IbUmemDmabuf.AttachPinnedOps, umem.Attach.ImporterOps);
        Assert.True(umem.Attach.Peer2Peer);
        // attach; dma_buf_pin; map_pages -> dma_buf_map_attachment: pin, map.
        Assert.Equal(["attach", "pin", "pin", "map_dma_buf"], f.Exporter.Calls);
        // start 0x1000 in entry 0 (offset 0x1000), end 0x3000 in entry 1 (trim 0x1000).
        Assert.Equal([(0x40001000UL, 4096U), (0x50000000UL, 4096U)], UmemFixture.View(umem.Sgt!));

        IbUmem.Release(umem.Umem);
        // release: unmap_pages -> dma_buf_unmap_attachment: unmap, unpin; then the umem's own unpin; detach.
        Assert.Equal(["attach", "pin", "pin", "map_dma_buf", "unmap_dma_buf", "unpin", "unpin", "detach"], f.Exporter.Calls);
        Assert.Equal(count, f.FileCount);
        Assert.Equal(0, f.Exporter.LiveTables);
        Assert.False(f.DmaBuf.Resv.IsLocked);
        Assert.Equal(0, f.M.Warnings.Count);
    }

    [Fact]
    public void GetPinnedUnwindsAFailedPin()
    {
        using var f = new UmemFixture(Two, dynamic: true);
        long count = f.FileCount;
        f.Exporter.PinError = -(int)Errno.ENOMEM;
        var (umem, err) = GetPinned(f, 0, 4096);
        Assert.Null(umem);
        Assert.Equal(-(int)Errno.ENOMEM, err);
        // Not pinned: the release neither unmaps nor unpins.
        Assert.Equal(["attach", "pin", "detach"], f.Exporter.Calls);
        Assert.Equal(count, f.FileCount);
        Assert.False(f.DmaBuf.Resv.IsLocked);
        Assert.Equal(0, f.M.Live.Count("ib_umem_dmabuf"));
        Assert.Equal(0, f.M.Live.Count("dma_buf_attachment"));
    }

    [Fact]
    public void GetPinnedUnwindsAFailedMap()
    {
        using var f = new UmemFixture(Two, dynamic: true);
        long count = f.FileCount;
        f.Exporter.MapFails = -(int)Errno.EIO;
        var (umem, err) = GetPinned(f, 0, 4096);
        Assert.Null(umem);
        Assert.Equal(-(int)Errno.EIO, err);
        // map_attachment pins, the exporter fails, it unpins; then the release unpins the umem's pin.
        Assert.Equal(["attach", "pin", "pin", "map_dma_buf", "unpin", "unpin", "detach"], f.Exporter.Calls);
        Assert.Equal(count, f.FileCount);
        Assert.False(f.DmaBuf.Resv.IsLocked);
        Assert.Equal(0, f.M.Live.Count("ib_umem_dmabuf"));
    }

    [Fact]
    public void GetPinnedOfAnEmptyWindowFailsBeforeLocking()
    {
        using var f = new UmemFixture(Two, dynamic: true);
        Assert.Equal(-(int)Errno.EINVAL, GetPinned(f, 0, 0).Err);
        Assert.Empty(f.Exporter.Calls);
    }

    [Fact]
    public void MoveNotifyUnmapsAndTheNextMapPagesMapsTheMovedBuffer()
    {
        using var f = new UmemFixture(Two, dynamic: true);
        var umem = f.GetMapped(0x1000, 0x2000, UmemFixture.InvalidateOps);
        var first = umem.Sgt!;
        Assert.Equal([(0x40001000UL, 4096U), (0x50000000UL, 4096U)], UmemFixture.View(first));

        // The exporter moves the buffer to one contiguous run: the importer's invalidate unmaps (and restores).
        f.Exporter.Move(f.DmaBuf, [(0x60000000, 16384)]);
        Assert.Null(umem.Sgt);
        Assert.True(umem.FirstSg.IsNull);
        Assert.Equal(0, f.Exporter.LiveTables);
        Assert.Equal(["attach", "pin", "map_dma_buf", "unmap_dma_buf", "unpin"], f.Exporter.Calls);

        // The next map_pages maps again and trims the new table: start 0x1000, end 0x3000 in the single entry.
        f.Locked(() => Assert.Equal(0, umem.MapPages()));
        Assert.NotSame(first, umem.Sgt);
        Assert.Equal([(0x60001000UL, 8192U)], UmemFixture.View(umem.Sgt!));
        Assert.Equal((0, 0x1000UL, 0, 0x1000UL, 1U), (umem.Trim.FirstSgIndex, umem.FirstSgOffset, umem.Trim.LastSgIndex, umem.LastSgTrim, umem.Trim.Nmap));

        IbUmem.Release(umem.Umem);
        Assert.Equal(0, f.Exporter.LiveTables);
        Assert.Equal(0, f.M.Warnings.Count);
    }

    [Fact]
    public void MoveNotifyOfAPinnedUmemOnlyWarnsAndKeepsTheMapping()
    {
        using var f = new UmemFixture(Two, dynamic: true);
        var (umem, err) = GetPinned(f, 0, 0x4000);
        Assert.Equal(0, err);
        var sgt = umem!.Sgt;
        f.Exporter.Move(f.DmaBuf, [(0x60000000, 16384)]);
        Assert.Equal(1, umem.UnsupportedMoveNotifyCalls);
        Assert.Same(sgt, umem.Sgt);
        Assert.Equal([(0x40000000UL, 8192U), (0x50000000UL, 8192U)], UmemFixture.View(sgt!));
        IbUmem.Release(umem.Umem);
        Assert.Equal(0, f.Exporter.LiveTables);
    }
}
