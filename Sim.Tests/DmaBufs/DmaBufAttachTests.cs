using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>The dma-buf kernel API (drivers/dma-buf/dma-buf.c): export, get/put, attach, map, unmap, detach.</summary>
public class DmaBufAttachTests
{
    private static readonly ulong[] Pfns = [0x6483, 0x6487, 0x6488];

    private const int EINVAL = -(int)Errno.EINVAL;

    /// <summary>
    /// Port of the design notes' <c>importer_test2</c>: attach, map DMA_BIDIRECTIONAL, read the first entry, unmap,
    /// detach, then the last reference goes. The first entry of a dma-direct table is the first page:
    /// 0x6483 * 4096 = 0x6483000, 4096 bytes.
    /// </summary>
    [Fact]
    public void ImporterTest2()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns);
        var (dmabuf, err) = exp.Export(m.List);
        Assert.Equal(0, err);
        var dev = new Device("importer");

        var (attachment, aerr) = dmabuf!.Attach(dev);
        Assert.Equal(0, aerr);
        var (table, merr) = DmaBuf.MapAttachment(attachment, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Equal(0, merr);
        ref var sgl = ref table!.At(table.Sgl);
        Assert.Equal(0x6483000UL, sgl.DmaAddress);
        Assert.Equal(0x1000U, sgl.DmaLength);
        DmaBuf.UnmapAttachment(attachment, table, DmaDataDirection.DMA_BIDIRECTIONAL);
        dmabuf.Detach(attachment);

        Assert.Equal(["attach", "map_dma_buf DMA_BIDIRECTIONAL", "unmap_dma_buf DMA_BIDIRECTIONAL", "detach"], exp.Calls);
        Assert.Equal(0, exp.LiveTables);
        Assert.Equal(1, m.Live.Count("dma_buf"));
        dmabuf.Put();
        Assert.Equal(1, exp.Released);
        Assert.Equal(0, m.Live.Count());
        Assert.Empty(m.List.Buffers);
        Assert.Equal(0, m.Warnings.Count);
    }

    public static TheoryData<string> BadOps => new() { "priv", "ops", "map", "unmap", "release", "pin-without-unpin", "unpin-without-pin", "cache-with-pin" };

    /// <summary>dma_buf_export's WARN_ONs: each missing mandatory op or bad combination is a WARN and -EINVAL.</summary>
    [Theory]
    [MemberData(nameof(BadOps))]
    public void ExportValidatesOps(string what)
    {
        using var m = TestMachine.Create();
        var good = new TestExporter(Pfns).Ops;
        DmaBufOps? ops = what switch
        {
            "ops" => null,
            "map" => new DmaBufOps { UnmapDmaBuf = good.UnmapDmaBuf, Release = good.Release },
            "unmap" => new DmaBufOps { MapDmaBuf = good.MapDmaBuf, Release = good.Release },
            "release" => new DmaBufOps { MapDmaBuf = good.MapDmaBuf, UnmapDmaBuf = good.UnmapDmaBuf },
            "pin-without-unpin" => new DmaBufOps { MapDmaBuf = good.MapDmaBuf, UnmapDmaBuf = good.UnmapDmaBuf, Release = good.Release, Pin = a => 0 },
            "unpin-without-pin" => new DmaBufOps { MapDmaBuf = good.MapDmaBuf, UnmapDmaBuf = good.UnmapDmaBuf, Release = good.Release, Unpin = a => { } },
            "cache-with-pin" => new DmaBufOps { CacheSgtMapping = true, MapDmaBuf = good.MapDmaBuf, UnmapDmaBuf = good.UnmapDmaBuf, Release = good.Release, Pin = a => 0, Unpin = a => { } },
            _ => good,
        };
        var info = new DmaBufExportInfo { Ops = ops, Size = 4096, Flags = OpenFlags.O_RDWR, Priv = what == "priv" ? null : new object() };
        var (buf, err) = DmaBuf.Export(m.List, info);
        Assert.Null(buf);
        Assert.Equal(EINVAL, err);
        Assert.Equal(1, m.Warnings.Count);
        Assert.Equal(0, m.Live.Count());
        Assert.Empty(m.List.Buffers);
    }

    /// <summary>
    /// The owner module: a dma-buf holds a module reference from export to release; a module that is not there (or
    /// going away) makes the export -ENOENT without a WARN.
    /// </summary>
    [Fact]
    public void ExportHoldsTheOwnerModule()
    {
        using var m = TestMachine.Create();
        var (none, err) = DmaBuf.Export(m.List, new DmaBufExportInfo { Ops = new TestExporter(Pfns).Ops, Size = 4096, Priv = this, Owner = "gone" });
        Assert.Null(none);
        Assert.Equal(-(int)Errno.ENOENT, err);
        Assert.Equal(0, m.Warnings.Count);

        var mod = m.List.Modules.AddPresent("kvmfr");
        int before = mod.Refcount;
        var (buf, err2) = DmaBuf.Export(m.List, new DmaBufExportInfo { Ops = new TestExporter(Pfns).Ops, Size = 4096, Priv = this, Owner = "kvmfr" });
        Assert.Equal(0, err2);
        Assert.Equal(before + 1, mod.Refcount);
        buf!.Put();
        Assert.Equal(before, mod.Refcount);
    }

    /// <summary>dma_buf_get: -1 is -EBADF, a file that is not a dma-buf -EINVAL (and keeps its count); a dma-buf fd gives the buffer with a new reference.</summary>
    [Fact]
    public void DmaBufGetErrors()
    {
        using var m = TestMachine.Create();
        var vfs = (Vfs)m.Services.GetService(typeof(Vfs))!;
        vfs.AddFile("/proc/self/stat", NullFileOperations.Instance);
        int other = m.Process.Openat("/proc/self/stat", OpenFlags.O_RDONLY);
        Assert.Equal(0, other);
        var (buf, _) = new TestExporter(Pfns).Export(m.List);
        int fd = buf!.Fd(m.Process, OpenFlags.O_CLOEXEC);
        Assert.Equal(1, fd);

        Assert.Equal(-(int)Errno.EBADF, DmaBuf.Get(m.List, m.Process, -1).Err);
        Assert.Equal(-(int)Errno.EBADF, DmaBuf.Get(m.List, m.Process, 7).Err);
        var (none, err) = DmaBuf.Get(m.List, m.Process, other);
        Assert.Null(none);
        Assert.Equal(EINVAL, err);
        Assert.Equal(1, m.Process.Fget(other)!.Count);

        var (same, gerr) = DmaBuf.Get(m.List, m.Process, fd);
        Assert.Equal(0, gerr);
        Assert.Same(buf, same);
        Assert.Equal(2, buf.File.Count);
        same!.Put();
        Assert.Equal(0, m.Process.Close(fd));
        Assert.Equal(0, m.Live.Count("dma_buf"));
        Assert.Equal(0, m.Warnings.Count);
    }

    /// <summary>
    /// cache_sgt_mapping (the vgem rule of the sg traces): the first map is kept, a second map returns the same table,
    /// another direction is -EBUSY, unmap does nothing until detach.
    /// </summary>
    [Fact]
    public void CachedMappingIsReusedAndOtherDirectionIsEbusy()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns, cacheSgtMapping: true);
        var (buf, _) = exp.Export(m.List);
        var (a, _) = buf!.Attach(new Device("edu"));
        Assert.Null(a!.Sgt);
        var (t1, e1) = DmaBuf.MapAttachmentUnlocked(a, DmaDataDirection.DMA_TO_DEVICE);
        Assert.Equal(0, e1);
        Assert.Same(t1, a.Sgt);
        var (t2, e2) = DmaBuf.MapAttachmentUnlocked(a, DmaDataDirection.DMA_TO_DEVICE);
        Assert.Equal(0, e2);
        Assert.Same(t1, t2);
        var (t3, e3) = DmaBuf.MapAttachmentUnlocked(a, DmaDataDirection.DMA_FROM_DEVICE);
        Assert.Null(t3);
        Assert.Equal(-(int)Errno.EBUSY, e3);
        DmaBuf.UnmapAttachmentUnlocked(a, t1, DmaDataDirection.DMA_TO_DEVICE);
        Assert.Same(t1, a.Sgt);
        Assert.Equal(["attach", "map_dma_buf DMA_TO_DEVICE"], exp.Calls);
        buf.Detach(a);
        Assert.Equal(["attach", "map_dma_buf DMA_TO_DEVICE", "unmap_dma_buf DMA_TO_DEVICE", "detach"], exp.Calls);
        buf.Put();
        Assert.Equal(0, m.Live.Count());
        Assert.Equal(0, m.Warnings.Count);
    }

    /// <summary>A bidirectional cached mapping serves every direction.</summary>
    [Fact]
    public void BidirectionalCacheServesEveryDirection()
    {
        using var m = TestMachine.Create();
        var (buf, _) = new TestExporter(Pfns, cacheSgtMapping: true).Export(m.List);
        var (a, _) = buf!.Attach(new Device("edu"));
        var (t1, _) = DmaBuf.MapAttachment(a, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Same(t1, DmaBuf.MapAttachment(a, DmaDataDirection.DMA_FROM_DEVICE).Sgt);
        Assert.Same(t1, DmaBuf.MapAttachment(a, DmaDataDirection.DMA_TO_DEVICE).Sgt);
        buf.Detach(a);
        buf.Put();
    }

    private static readonly DmaBufAttachOps Importer = new() { MoveNotify = a => { } };

    /// <summary>A dynamic importer of a static exporter gets its mapping made and cached (bidirectional) at attach time.</summary>
    [Fact]
    public void DynamicImporterOfStaticExporterIsMappedAtAttach()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns);
        var (buf, _) = exp.Export(m.List);
        var (a, err) = buf!.DynamicAttach(new Device("mlx"), Importer, null);
        Assert.Equal(0, err);
        Assert.True(a!.IsDynamic);
        Assert.NotNull(a.Sgt);
        Assert.Equal(DmaDataDirection.DMA_BIDIRECTIONAL, a.Dir);
        Assert.Equal(["attach", "map_dma_buf DMA_BIDIRECTIONAL"], exp.Calls);
        Assert.Same(a.Sgt, DmaBuf.MapAttachment(a, DmaDataDirection.DMA_BIDIRECTIONAL).Sgt);
        buf.Detach(a);
        Assert.Equal(0, exp.LiveTables);
        buf.Put();
        Assert.Equal(0, m.Live.Count());
    }

    /// <summary>The WARN_ONs of dma_buf_dynamic_attach: a NULL device, importer ops without move_notify.</summary>
    [Fact]
    public void AttachArgumentWarnings()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns);
        var (buf, _) = exp.Export(m.List);
        Assert.Equal(EINVAL, buf!.Attach(null).Err);
        Assert.Equal(EINVAL, buf.DynamicAttach(new Device("x"), new DmaBufAttachOps(), null).Err);
        Assert.Equal(2, m.Warnings.Count);
        Assert.Empty(exp.Calls);
        buf.Put();
        Assert.Equal(0, m.Live.Count());
    }

    /// <summary>The exporter's attach error is returned; nothing is left behind (no detach op: err_attach only frees).</summary>
    [Fact]
    public void ExporterAttachErrorIsReturned()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns) { AttachError = -(int)Errno.EBUSY };
        var (buf, _) = exp.Export(m.List);
        var (a, err) = buf!.Attach(new Device("far"));
        Assert.Null(a);
        Assert.Equal(-(int)Errno.EBUSY, err);
        Assert.Equal(["attach"], exp.Calls);
        Assert.Empty(buf.Attachments);
        Assert.Equal(0, m.Live.Count("dma_buf_attachment"));
        buf.Put();
    }

    /// <summary>
    /// dma_buf_dynamic_attach's unwind ladder for a static importer of a dynamic exporter: a failed pin goes to
    /// err_unlock (no unpin) and detaches; a failed (NULL) map is -ENOMEM and goes to err_unpin (unpin, then detach).
    /// </summary>
    [Fact]
    public void AttachUnwindsInKernelOrder()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns, dynamic: true) { PinError = -(int)Errno.ENOMEM };
        var (buf, _) = exp.Export(m.List);
        var (a, err) = buf!.Attach(new Device("static"));
        Assert.Null(a);
        Assert.Equal(-(int)Errno.ENOMEM, err);
        Assert.Equal(["attach", "pin", "detach"], exp.Calls);

        exp.Calls.Clear();
        exp.PinError = 0;
        exp.MapFails = 0;
        (a, err) = buf.Attach(new Device("static"));
        Assert.Null(a);
        Assert.Equal(-(int)Errno.ENOMEM, err);
        Assert.Equal(["attach", "pin", "map_dma_buf DMA_BIDIRECTIONAL", "unpin", "detach"], exp.Calls);
        Assert.Empty(buf.Attachments);
        Assert.Equal(0, m.Live.Count("dma_buf_attachment"));
        Assert.Equal(0, m.Warnings.Count);
        buf.Put();
    }

    /// <summary>A dynamic exporter is pinned for each uncached map of a dynamic importer and unpinned at its unmap.</summary>
    [Fact]
    public void DynamicExporterIsPinnedWhileMapped()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns, dynamic: true);
        var (buf, _) = exp.Export(m.List);
        var (a, _) = buf!.DynamicAttach(new Device("mlx"), Importer, null);
        Assert.Null(a!.Sgt);
        // A dynamic importer holds the reservation lock around pin/map/unmap/unpin (dma_resv_assert_held).
        Assert.Equal(0, buf.Resv.Lock(null));
        Assert.Equal(0, DmaBuf.Pin(a));
        var (t, err) = DmaBuf.MapAttachment(a, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Equal(0, err);
        DmaBuf.UnmapAttachment(a, t, DmaDataDirection.DMA_BIDIRECTIONAL);
        DmaBuf.Unpin(a);
        buf.Resv.Unlock();
        Assert.Equal(0, m.Warnings.Count);
        buf.Detach(a);
        Assert.Equal(["attach", "pin", "pin", "map_dma_buf DMA_BIDIRECTIONAL", "unmap_dma_buf DMA_BIDIRECTIONAL", "unpin", "unpin", "detach"], exp.Calls);
        buf.Put();
        Assert.Equal(0, m.Warnings.Count);
    }

    /// <summary>A NULL table from map_dma_buf is -ENOMEM; an ERR_PTR passes through.</summary>
    [Fact]
    public void MapFailures()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns) { MapFails = 0 };
        var (buf, _) = exp.Export(m.List);
        var (a, _) = buf!.Attach(new Device("edu"));
        Assert.Equal(-(int)Errno.ENOMEM, DmaBuf.MapAttachment(a, DmaDataDirection.DMA_BIDIRECTIONAL).Err);
        exp.MapFails = -(int)Errno.EIO;
        Assert.Equal(-(int)Errno.EIO, DmaBuf.MapAttachment(a, DmaDataDirection.DMA_BIDIRECTIONAL).Err);
        buf.Detach(a);
        buf.Put();
        Assert.Equal(0, m.Warnings.Count);
    }

    /// <summary>
    /// Wrong use is a recorded WARN and the kernel's errno, never an exception: map with a NULL attachment (-EINVAL,
    /// the sg traces' rule), double detach, unmap of a table never mapped, put of a released buffer.
    /// </summary>
    [Fact]
    public void WrongUseIsWarnNotException()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns);
        var (buf, _) = exp.Export(m.List);

        Assert.Equal(EINVAL, DmaBuf.MapAttachmentUnlocked(null, DmaDataDirection.DMA_BIDIRECTIONAL, m.Warnings).Err);
        Assert.Equal(1, m.Warnings.Count);

        var (a, _) = buf!.Attach(new Device("edu"));
        var stranger = new Sim.Core.Lib.SgTable();
        DmaBuf.UnmapAttachment(a, stranger, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Equal(2, m.Warnings.Count);
        Assert.DoesNotContain(exp.Calls, c => c.StartsWith("unmap", StringComparison.Ordinal));

        buf.Detach(a);
        buf.Detach(a);
        Assert.Equal(3, m.Warnings.Count);
        Assert.Single(exp.Calls, "detach");
        Assert.Equal(EINVAL, DmaBuf.MapAttachment(a, DmaDataDirection.DMA_BIDIRECTIONAL).Err);

        buf.Put();
        Assert.Equal(1, exp.Released);
        buf.Put();
        Assert.Equal(4, m.Warnings.Count);
        Assert.Equal(1, exp.Released);
        Assert.Equal(0, m.Live.Count());
    }

    /// <summary>dma_buf_vmap is shared and counted: the exporter's vmap/vunmap run once; no vmap op is -EINVAL.</summary>
    [Fact]
    public void VmapIsCounted()
    {
        using var m = TestMachine.Create();
        var exp = new TestExporter(Pfns);
        var (buf, _) = exp.Export(m.List);
        Assert.Equal(0, buf!.Vmap(out var m1));
        Assert.Equal(0, buf.Vmap(out var m2));
        Assert.Equal(m1, m2);
        Assert.Equal(2, buf.VmappingCounter);
        buf.Vunmap(m1);
        buf.Vunmap(m2);
        Assert.Equal(["vmap", "vunmap"], exp.Calls);
        buf.Put();

        var ops = new DmaBufOps { MapDmaBuf = exp.Ops.MapDmaBuf, UnmapDmaBuf = exp.Ops.UnmapDmaBuf, Release = exp.Ops.Release };
        var (b2, _) = DmaBuf.Export(m.List, new DmaBufExportInfo { Ops = ops, Size = 4096, Priv = this });
        Assert.Equal(EINVAL, b2!.Vmap(out var none));
        Assert.True(none.IsNull);
        b2.Put();
    }

    /// <summary>
    /// dma_buf_mmap (an importer forwarding its mmap): pgoff + pages past the size is -EINVAL, a wrapping pgoff
    /// -EOVERFLOW, no exporter mmap -EINVAL; on success the mapping points at the dma-buf's file (one more reference,
    /// the importer's file dropped) at the given pgoff.
    /// </summary>
    [Fact]
    public void KernelMmapRetargetsTheMapping()
    {
        using var m = TestMachine.Create();
        var (buf, _) = new TestExporter(Pfns).Export(m.List);
        var vma = new Sim.Core.Mm.Vma(0x10000, 0x12000, 0, Sim.Core.Mm.Vma.VM_READ | Sim.Core.Mm.Vma.VM_SHARED, null);
        Assert.Equal(EINVAL, buf!.Mmap(vma, 2));
        Assert.Equal(-(int)Errno.EOVERFLOW, buf.Mmap(vma, ulong.MaxValue));
        Assert.Equal(0, buf.Mmap(vma, 1));
        Assert.Same(buf.File, vma.File);
        Assert.Equal(1UL, vma.PgOff);
        Assert.Equal(2, buf.File.Count);
        Assert.Equal(EINVAL, buf.Mmap(null, 0));
        Assert.Equal(1, m.Warnings.Count);
        vma.File = null;
        buf.Put();
        buf.Put();
        Assert.Equal(0, m.Live.Count("dma_buf"));
    }

    /// <summary>dma_buf_fd with a full descriptor table is -EMFILE and leaves the caller's reference.</summary>
    [Fact]
    public void FdWithAFullTableIsEmfile()
    {
        using var m = TestMachine.Create();
        var (buf, _) = new TestExporter(Pfns).Export(m.List);
        m.Process.Files.Limit = 0;
        Assert.Equal(-(int)Errno.EMFILE, buf!.Fd(m.Process, 0));
        Assert.Equal(1, buf.File.Count);
        buf.Put();
        Assert.Equal(0, m.Live.Count());
    }

    /// <summary>move_notify reaches every dynamic importer, not the static ones.</summary>
    [Fact]
    public void MoveNotifyReachesDynamicImporters()
    {
        using var m = TestMachine.Create();
        var (buf, _) = new TestExporter(Pfns, dynamic: true).Export(m.List);
        int notified = 0;
        var ops = new DmaBufAttachOps { MoveNotify = a => notified++ };
        var (d1, _) = buf!.DynamicAttach(new Device("a"), ops, null);
        var (d2, _) = buf.DynamicAttach(new Device("b"), ops, null);
        buf.Resv.Lock(null);
        buf.MoveNotify();
        buf.Resv.Unlock();
        Assert.Equal(0, m.Warnings.Count);
        Assert.Equal(2, notified);
        buf.Detach(d1);
        buf.Detach(d2);
        buf.Put();
    }
}

/// <summary>The drmcap kprobes of the vgem/kvmfr ftrace captures fire where the kernel functions are entered/return.</summary>
public class DmaBufKprobeTests
{
    [Fact]
    public void KprobesInKernelOrder()
    {
        using var m = TestMachine.Create();
        var trace = (Sim.Core.Debug.KernelTrace)m.Services.GetService(typeof(Sim.Core.Debug.KernelTrace))!;
        using var rec = trace.Record();
        var (buf, _) = new TestExporter([7, 8]).Export(m.List);
        int fd = buf!.Fd(m.Process, OpenFlags.O_CLOEXEC | OpenFlags.O_RDWR);
        var (got, _) = DmaBuf.Get(m.List, m.Process, fd);
        Assert.Equal(-(int)Errno.EBADF, DmaBuf.Get(m.List, m.Process, -1).Err);
        var (a, _) = got!.Attach(new Device("vgem"));
        var (t, _) = DmaBuf.MapAttachmentUnlocked(a, DmaDataDirection.DMA_BIDIRECTIONAL);
        DmaBuf.UnmapAttachmentUnlocked(a, t, DmaDataDirection.DMA_BIDIRECTIONAL);
        got.Detach(a);
        got.Put();
        m.Process.Close(fd);
        var recs = rec.Drain();
        Assert.Equal(
            ["dma_buf_export", "dma_buf_export:return", "dma_buf_fd", "dma_buf_fd:return", "dma_buf_get", "dma_buf_get",
             "dma_buf_dynamic_attach", "dma_buf_map_attachment", "dma_buf_map_attachment:return", "dma_buf_unmap_attachment",
             "dma_buf_detach", "dma_buf_release"],
            recs.Select(r => r.Op).Where(o => o.StartsWith("dma_buf", StringComparison.Ordinal)));
        Assert.Equal(0x80002UL, recs.First(r => r.Op == "dma_buf_fd").U64("flags"));
        Assert.Equal(0L, recs.First(r => r.Op == "dma_buf_fd:return").I64("ret"));
        Assert.Equal(-1L, recs.Where(r => r.Op == "dma_buf_get").ElementAt(1).I64("fd"));
        var mapRet = recs.First(r => r.Op == "dma_buf_map_attachment:return");
        Assert.Equal(2L, mapRet.I64("nents"));
        Assert.Equal(4096L, mapRet.I64("sg0_length"));
    }
}
