using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// ib_umem_dmabuf_get / get_pinned / map_pages / unmap_pages / release (drivers/infiniband/core/umem_dmabuf.c, Linux
/// 6.1): the checks and their order, the unwind ladders, the in-place trim and its exact restore, the kernel-fence
/// wait, and an exporter moving its buffer. Expectations are derived by hand from the kernel source.
/// </summary>
public class UmemDmabufTests
{
    private const int EINVAL = -(int)Errno.EINVAL;

    // Three runs of 4, 2 and 3 pages (36864 bytes), discontiguous.
    private static readonly (ulong, uint)[] Three = [(0x10000000, 16384), (0x20000000, 8192), (0x30000000, 12288)];

    public static TheoryData<string, ulong, ulong, int> BadWindows => new()
    {
        // check_add_overflow(offset, size): -EINVAL before dma_buf_get, so even a bad fd gives -EINVAL.
        { "overflow", ulong.MaxValue - 10, 100, -1 },
        // offset + size == 2^64 exactly also overflows.
        { "overflow-exact", ulong.MaxValue, 1, -1 },
        // past the end of the 36864-byte buffer.
        { "past-end", 0, 36865, 0 },
        { "at-end", 36864, 1, 0 },
        // zero pages (ib_umem_num_pages over iova 0 and length 0).
        { "zero-length", 0, 0, 0 },
        { "zero-length-unaligned", 5, 0, 0 },
    };

    [Theory]
    [MemberData(nameof(BadWindows))]
    public void GetRejectsBadWindowsWithEinvalAndKeepsNothing(string what, ulong offset, ulong size, int fdOverride)
    {
        using var f = new UmemFixture(Three);
        long count = f.FileCount;
        var (umem, err) = f.Get(offset, size, fd: fdOverride == -1 ? -1 : null);
        Assert.True(umem is null, what);
        Assert.Equal(EINVAL, err);
        Assert.Equal(count, f.FileCount);
        Assert.Empty(f.DmaBuf.Attachments);
        Assert.DoesNotContain("attach", f.Exporter.Calls);
        Assert.Equal(0, f.M.Live.Count("ib_umem_dmabuf"));
        Assert.Equal(0, f.M.Warnings.Count);
    }

    [Fact]
    public void GetChecksOpsBeforeTheFd()
    {
        using var f = new UmemFixture(Three);
        // NULL ops and ops without move_notify are -EINVAL even with a bad fd (checked before dma_buf_get).
        Assert.Equal(EINVAL, IbUmemDmabuf.Get(f.M.List, f.M.Process, f.IbDev, 0, 4096, -1, 1, null).Err);
        Assert.Equal(EINVAL, IbUmemDmabuf.Get(f.M.List, f.M.Process, f.IbDev, 0, 4096, -1, 1, new DmaBufAttachOps()).Err);
        // With good ops the bad fd is dma_buf_get's -EBADF.
        Assert.Equal(-(int)Errno.EBADF, f.Get(0, 4096, fd: -1).Err);
        Assert.Equal(-(int)Errno.EBADF, f.Get(0, 4096, fd: 200).Err);
        Assert.Equal(0, f.M.Live.Count("ib_umem_dmabuf"));
    }

    [Fact]
    public void GetPropagatesAttachErrorsAndDropsTheReference()
    {
        using var f = new UmemFixture(Three);
        long count = f.FileCount;
        f.Exporter.AttachError = -(int)Errno.EBUSY;
        Assert.Equal(-(int)Errno.EBUSY, f.Get(0, 4096).Err);
        Assert.Equal(count, f.FileCount);

        // A zeroed ib_device without dma_device: dma_buf_dynamic_attach WARNs and gives -EINVAL.
        f.Exporter.AttachError = 0;
        var (umem, err) = IbUmemDmabuf.Get(f.M.List, f.M.Process, new IbDevice(null), 0, 4096, f.Fd, 1, UmemFixture.NoopOps);
        Assert.Null(umem);
        Assert.Equal(EINVAL, err);
        Assert.Equal(1, f.M.Warnings.Count);
        Assert.Equal(count, f.FileCount);
        Assert.Equal(0, f.M.Live.Count("ib_umem_dmabuf"));
    }

    [Fact]
    public void GetMakesADynamicAttachmentHoldingAReference()
    {
        using var f = new UmemFixture(Three);
        long count = f.FileCount;
        // The last byte of the buffer is a valid window: offset + size == dmabuf size.
        var (umem, err) = f.Get(36863, 1);
        Assert.Equal(0, err);
        Assert.Equal(count + 1, f.FileCount);
        Assert.True(umem!.Attach.IsDynamic);
        Assert.Same(umem, umem.Attach.ImporterPriv);
        Assert.Same(umem, umem.Umem.ToIbUmemDmabuf());
        // A dynamic importer of a non-dynamic exporter: the mapping is made (and cached) at attach time.
        Assert.NotNull(umem.Attach.Sgt);
        Assert.Equal(["attach", "map_dma_buf"], f.Exporter.Calls);
        Assert.Null(umem.Sgt);
        Assert.True(umem.Umem.Writable);
        Assert.True(umem.Umem.IsDmabuf);
        Assert.Equal(0UL, umem.Umem.Iova);
        Assert.Equal(1UL, umem.Umem.NumPages);
        Assert.Equal(1, f.M.Live.Count("ib_umem_dmabuf"));

        IbUmem.Release(umem.Umem);
        Assert.Equal(count, f.FileCount);
        Assert.Empty(f.DmaBuf.Attachments);
        Assert.Equal(0, f.M.Live.Count("ib_umem_dmabuf"));
        Assert.Equal(0, f.Exporter.LiveTables);
        // A second release is a WARN and changes nothing.
        IbUmem.Release(umem.Umem);
        Assert.Equal(1, f.M.Warnings.Count);
        Assert.Equal(count, f.FileCount);
    }

    [Fact]
    public void MapPagesTrimsInPlaceAndUnmapRestoresExactly()
    {
        using var f = new UmemFixture(Three);
        var (umem, _) = f.Get(0x1800, 0x3000);
        var table = umem!.Attach.Sgt!;
        var before = UmemFixture.View(table);
        f.Locked(() => Assert.Equal(0, umem.MapPages()));
        // start = 0x1000, end = ALIGN(0x4800) = 0x5000: entry 0 [0, 0x4000) holds start (offset 0x1000); entry 1
        // [0x4000, 0x6000) holds end (trim 0x6000 - 0x5000 = 0x1000); nmap 2.
        Assert.Same(table, umem.Sgt);
        Assert.Equal(0, umem.Trim.FirstSgIndex);
        Assert.Equal(0x1000UL, umem.FirstSgOffset);
        Assert.Equal(1, umem.Trim.LastSgIndex);
        Assert.Equal(0x1000UL, umem.LastSgTrim);
        Assert.Equal([(0x10001000UL, 12288U), (0x20000000UL, 4096U), (0x30000000UL, 12288U)], UmemFixture.View(table));
        var view = umem.Umem.SgtAppend.Sgt;
        Assert.Equal(2, view.Nents);
        Assert.Equal(umem.FirstSg, view.Sgl);
        Assert.Equal([(0x10001000UL, 12288U), (0x20000000UL, 4096U)], UmemFixture.View(view));
        // ib_umem_dma_offset: (0x10001000 + 0x800) & (pgsz - 1).
        Assert.Equal(0x1800UL, umem.Umem.DmaOffset(0x10000));

        // Mapped already: a second map_pages goes straight to the fence wait, the table is not trimmed twice.
        f.Locked(() => Assert.Equal(0, umem.MapPages()));
        Assert.Equal([(0x10001000UL, 12288U), (0x20000000UL, 4096U), (0x30000000UL, 12288U)], UmemFixture.View(table));

        f.Locked(umem.UnmapPages);
        Assert.Equal(before, UmemFixture.View(table));
        Assert.Null(umem.Sgt);
        Assert.True(umem.FirstSg.IsNull);
        Assert.True(umem.LastSg.IsNull);
        Assert.Equal(0UL, umem.FirstSgOffset + umem.LastSgTrim);
        // Unmapping again does nothing; the cached table stays with the attachment until detach.
        f.Locked(umem.UnmapPages);
        Assert.Same(table, umem.Attach.Sgt);
        Assert.Equal(0, f.M.Warnings.Count);
        IbUmem.Release(umem.Umem);
        Assert.Equal(0, f.Exporter.LiveTables);
    }

    [Fact]
    public void MapAndUnmapWithoutTheLockWarn()
    {
        using var f = new UmemFixture(Three);
        var (umem, _) = f.Get(0, 4096);
        // dma_resv_assert_held fires (in map_pages and again in dma_buf_map_attachment of a dynamic attachment).
        Assert.Equal(0, umem!.MapPages());
        int afterMap = f.M.Warnings.Count;
        Assert.True(afterMap >= 1);
        umem.UnmapPages();
        Assert.True(f.M.Warnings.Count > afterMap);
        Assert.All(f.M.Warnings.Records, w => Assert.Equal("dma_resv_assert_held", w.Condition));
        Assert.Null(umem.Sgt);
        IbUmem.Release(umem.Umem);
        // Released: map_pages is a WARN and -EINVAL.
        int n = f.M.Warnings.Count;
        Assert.Equal(EINVAL, umem.MapPages());
        Assert.Equal(n + 1, f.M.Warnings.Count);
    }

    [Fact]
    public void WalkAndIndexedTrimTheSame()
    {
        using var f = new UmemFixture(Three);
        var (a, _) = f.Get(0x5000, 0x2001);
        var (b, _) = f.Get(0x5000, 0x2001);
        a!.TrimImpl = UmemTrimImpl.Walk;
        f.Locked(() => Assert.Equal(0, a.MapPages()));
        var walk = a.Trim;
        var walkView = UmemFixture.View(a.Sgt!);
        f.Locked(a.UnmapPages);
        f.Locked(() => Assert.Equal(0, b!.MapPages()));
        // start 0x5000 in entry 1 [0x4000, 0x6000) (offset 0x1000); end ALIGN(0x7001) = 0x8000 in entry 2
        // [0x6000, 0x9000) (trim 0x1000); nmap 2; the loop visits 3 entries.
        Assert.Equal(walk, b!.Trim);
        Assert.Equal((1, 0x1000UL, 2, 0x1000UL, 2U, 3), (walk.FirstSgIndex, walk.FirstSgOffset, walk.LastSgIndex, walk.LastSgTrim, walk.Nmap, walk.Walked));
        Assert.Equal(walkView, UmemFixture.View(b.Sgt!));
        f.Locked(b.UnmapPages);
        IbUmem.Release(a.Umem);
        IbUmem.Release(b.Umem);
    }
}
