using System.Buffers.Binary;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.DmaBufs;
using Sim.DmaBufs.Kvmfr;
using Sim.DmaBufs.Uapi;
using Xunit;

namespace Sim.Tests.Kvmfr;

/// <summary>
/// kvmfr's dma-bufs on the dma-buf core: export (exp_name/owner kvmfr, O_RDWR, CLOEXEC from flags bit 0), the fd
/// in the calling process, map_kvmfrbuf over the vmalloc pages, mmap_kvmfrbuf. Expectations from the kvmfr
/// README's observed rules and module/kvmfr.c.
/// </summary>
public class KvmfrDmaBufTests
{
    private sealed class Machine : IDisposable
    {
        private readonly Microsoft.Extensions.DependencyInjection.ServiceProvider _m;

        public Machine(string sizes = "1,2")
        {
            var o = new MachineOptions();
            o.Apply("kvmfr.static_size_mb=" + sizes, strict: true);
            _m = Composition.BuildMachine(o);
            Get<BootState>().Apply();
        }

        public T Get<T>() where T : notnull => (T)_m.GetService(typeof(T))!;

        public KvmfrModule Kvmfr => Get<KvmfrModuleImage>().Loaded!;

        public int Refcount => Get<ModuleList>().Find("kvmfr")!.Refcount;

        public Process Spawn(string comm) => Get<ProcessTable>().Spawn(comm);

        public static long Create(Process p, int devFd, byte flags, ulong offset, ulong size)
        {
            var create = new kvmfr_dmabuf_create { flags = flags, offset = offset, size = size };
            return p.Ioctl(devFd, KvmfrUapi.KVMFR_DMABUF_CREATE, new UserArg(0x1000, create.ToBytes()));
        }

        public void Dispose() => _m.Dispose();
    }

    [Fact]
    public void CreateExportsAReadWriteKvmfrDmaBufThatHoldsTheModule()
    {
        using var m = new Machine();
        var p = m.Spawn("t");
        int dev = p.Openat("/dev/kvmfr1", OpenFlags.O_RDONLY);
        Assert.Equal(0, dev);
        Assert.Equal(2, m.Refcount); // 2 per open device file
        long fd = Machine.Create(p, dev, 2, 4096, 8192); // flags 2: bit 0 clear, no FD_CLOEXEC
        Assert.Equal(1, fd);
        Assert.Equal(3, m.Refcount); // + 1 per dma-buf
        Assert.Equal(0, p.Fcntl((int)fd, Process.F_GETFD));
        Assert.Equal(2, p.Fcntl((int)fd, Process.F_GETFL)); // O_RDWR although the device fd is O_RDONLY
        Assert.Equal(8192, p.Lseek((int)fd, 0, 2));
        string info = p.Fdinfo((int)fd)!;
        Assert.Contains("flags:\t02\n", info, StringComparison.Ordinal);
        Assert.Contains("size:\t8192\ncount:\t1\nexp_name:\tkvmfr\n", info, StringComparison.Ordinal);
        string bufinfo = m.Get<DmaBufList>().DebugShow();
        Assert.Contains("00008192\t00000002\t00080007\t00000001\tkvmfr\t", bufinfo, StringComparison.Ordinal);
        Assert.EndsWith("\nTotal 1 objects, 8192 bytes\n", bufinfo, StringComparison.Ordinal);

        // No CPU-access hooks: DMA_BUF_IOCTL_SYNC(READ | START) succeeds.
        var sync = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(sync, DmaBufUapi.DMA_BUF_SYNC_READ | DmaBufUapi.DMA_BUF_SYNC_START);
        Assert.Equal(0, p.Ioctl((int)fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x2000, sync)));

        Assert.Equal(0, p.Close((int)fd));
        Assert.Equal(2, m.Refcount);
        Assert.EndsWith("\nTotal 0 objects, 0 bytes\n", m.Get<DmaBufList>().DebugShow(), StringComparison.Ordinal);
        Assert.Equal(0, p.Close(dev));
        Assert.Equal(0, m.Refcount);
    }

    [Fact]
    public void TheFdGoesToTheCallingProcessNotTheNewestOne()
    {
        using var m = new Machine();
        var a = m.Spawn("a");
        var b = m.Spawn("b"); // the most recent live process
        int dev = a.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        long fd = Machine.Create(a, dev, 0xff, 0, 4096); // 0xff: bit 0 set -> FD_CLOEXEC
        Assert.Equal(1, fd);
        Assert.Equal(Process.FD_CLOEXEC, a.Fcntl(1, Process.F_GETFD));
        Assert.Null(b.Fget(1));
        Assert.Null(b.Fget(0));
        var current = m.Get<CurrentTask>();
        Assert.Null(current.Process); // the syscall's current is restored at its return
        a.Exit();
        Assert.Equal(0, m.Refcount);
    }

    [Fact]
    public void MapKvmfrbufMapsTheVmallocPagesOfTheRangeAsContiguousRuns()
    {
        using var m = new Machine();
        var p = m.Spawn("t");
        int dev = p.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        const ulong Offset = 64 * 4096, Pages = 16;
        int fd = (int)Machine.Create(p, dev, 1, Offset, Pages * 4096);
        var kdev = m.Kvmfr.Devices[0].Value;
        var vmalloc = m.Get<Vmalloc>();

        // The rule (README, import): one entry per physically contiguous run of the buffer's vmalloc pages.
        var runs = new List<(ulong Pfn, ulong Pages)>();
        for (ulong k = 0; k < Pages; k++)
        {
            ulong pfn = vmalloc.VmallocToPage(kdev.Addr + Offset + k * 4096)!.Value;
            if (runs.Count > 0 && runs[^1].Pfn + runs[^1].Pages == pfn)
            {
                runs[^1] = (runs[^1].Pfn, runs[^1].Pages + 1);
            }
            else
            {
                runs.Add((pfn, 1));
            }
        }

        var dbList = m.Get<DmaBufList>();
        var (buf, err) = DmaBuf.Get(dbList, p, fd);
        Assert.Equal(0, err);
        Assert.Same(KvmfrModule.KvmfrbufOps, buf!.Ops);
        Assert.Equal("kvmfr", buf.ExpName);
        Assert.Equal("kvmfr", buf.Owner);
        var edu = m.Get<DmaMapping>().CreateDevice("0000:00:04.0");
        var (at, aerr) = buf.Attach(edu);
        Assert.Equal(0, aerr);
        var (sgt, merr) = DmaBuf.MapAttachmentUnlocked(at, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Equal(0, merr);
        Assert.Equal(runs.Count, sgt!.OrigNents);
        Assert.Equal(runs.Count, sgt.Nents);
        var c = sgt.Sgl;
        foreach (var (pfn, n) in runs)
        {
            var e = sgt.At(c);
            Assert.Equal(pfn, e.Pfn);
            Assert.Equal(0u, e.Offset);
            Assert.Equal((uint)(n * 4096), e.Length);
            Assert.Equal(pfn << 12, e.DmaAddress); // dma-direct without offset: DMA address = physical address
            c = sgt.Next(c);
        }
        DmaBuf.UnmapAttachmentUnlocked(at, sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
        buf.Detach(at);
        Assert.Equal(0, p.Close(fd));
        Assert.False(buf.Released); // dma_buf_get's reference keeps it
        Assert.Equal(3, m.Refcount);
        buf.Put();
        Assert.True(buf.Released);
        Assert.Equal(2, m.Refcount);
    }

    [Fact]
    public void MmapHonoursPageOffsetsAndNeedsASharedMapping()
    {
        using var m = new Machine();
        var p = m.Spawn("t");
        int dev = p.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        int fd = (int)Machine.Create(p, dev, 1, 4096, 8192); // device pages 1 and 2
        const uint RW = Mman.PROT_READ | Mman.PROT_WRITE;
        Assert.Equal(-22, p.Mmap(4096, Mman.PROT_READ, Mman.MAP_PRIVATE, fd, 0));       // MAP_PRIVATE
        Assert.Equal(-22, p.Mmap(8192, RW, Mman.MAP_SHARED, fd, 4096));                   // page 1 + 2 pages > 2
        long view = p.Mmap(4096, RW, Mman.MAP_SHARED, fd, 4096);                           // buffer page 1 = device page 2
        Assert.True(view > 0);
        long whole = p.Mmap(1 << 20, RW, Mman.MAP_SHARED, dev, 0);
        Assert.True(whole > 0);
        Assert.Equal(0, p.Store((ulong)view + 8, [0x78, 0x56, 0x34, 0x12]));
        var word = new byte[4];
        Assert.Equal(0, p.Load((ulong)whole + 2 * 4096 + 8, word));
        Assert.Equal(0x12345678u, BinaryPrimitives.ReadUInt32LittleEndian(word));
        Assert.Equal(0, p.Load((ulong)whole + 1 * 4096 + 8, word));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(word)); // new device memory is zero

        // The mapping keeps the dma-buf (and its module reference) after the fd is closed.
        Assert.Equal(0, p.Close(fd));
        Assert.Equal(3, m.Refcount); // the device file 2 + the dma-buf 1
        Assert.Single(m.Get<DmaBufList>().Buffers);
        Assert.Equal(0, p.Munmap((ulong)view, 4096));
        Assert.Empty(m.Get<DmaBufList>().Buffers);
        Assert.Equal(2, m.Refcount);
    }

    [Fact]
    public void KvmcapProbesFireInTheImportCapturesOrder()
    {
        // kvmfr-import.ftrace.txt, the first import of the 16-page buffer and its GEM_CLOSE (fd already closed):
        // dma_buf_map_attachment dir=0, map_kvmfrbuf dir=0, dma_map_sg_attrs nents=N dir=0 attrs=0x0, its return
        // ret=N, ...; dma_buf_unmap_attachment dir=0, unmap_kvmfrbuf nents=N dir=0, dma_unmap_sg_attrs nents=N dir=0,
        // dma_buf_detach, dma_buf_release, release_kvmfrbuf.
        using var m = new Machine();
        var p = m.Spawn("t");
        int dev = p.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        int fd = (int)Machine.Create(p, dev, 1, 0, 16 * 4096);
        var dbList = m.Get<DmaBufList>();
        var (buf, _) = DmaBuf.Get(dbList, p, fd);
        var (at, _) = buf!.Attach(m.Get<DmaMapping>().CreateDevice("vgem"));
        using var rec = m.Get<Sim.Core.Debug.KernelTrace>().Record();
        var (sgt, _) = DmaBuf.MapAttachment(at, DmaDataDirection.DMA_BIDIRECTIONAL);
        long n = sgt!.Nents;
        Assert.InRange(n, 1, 16);
        Assert.Equal(0, p.Close(fd));
        DmaBuf.UnmapAttachment(at, sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
        buf.Detach(at);
        buf.Put();
        Assert.Equal(
        [
            "dma_buf_map_attachment dir=0", "map_kvmfrbuf dir=0", $"dma_map_sg_attrs nents={n} dir=0 attrs=0",
            $"dma_map_sg_attrs:return ret={n}", $"dma_buf_map_attachment:return",
            "dma_buf_unmap_attachment dir=0", $"unmap_kvmfrbuf nents={n} dir=0", $"dma_unmap_sg_attrs nents={n} dir=0",
            "dma_buf_detach", "dma_buf_release", "release_kvmfrbuf",
        ], rec.Records.Select(r => r.Fields.Count == 0 || r.Op == "dma_buf_map_attachment:return" ? r.Op : r.ToString()));
    }

    /// <summary>
    /// A size-0 kvmfr buffer is accepted by CREATE (README: size-0 buffers), but its pages array is empty: Linux's
    /// map_kvmfrbuf would read pages[0] and oops. The model records a WARN and fails the map with -EINVAL instead of
    /// throwing, and everything is released afterwards.
    /// </summary>
    [Fact]
    public void MappingASizeZeroBufferIsAWarnNotAnException()
    {
        using var m = new Machine();
        var p = m.Spawn("t");
        int dev = p.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        long fd = Machine.Create(p, dev, 0, 0, 0);
        Assert.True(fd > 0, $"CREATE of size 0 returned {fd}");
        var list = m.Get<DmaBufList>();
        var (buf, err) = DmaBuf.Get(list, p, (int)fd);
        Assert.Equal(0, err);
        var importer = m.Get<DmaMapping>().CreateDevice("importer");
        var (attach, aerr) = buf!.Attach(importer);
        Assert.Equal(0, aerr);
        int warnsBefore = m.Get<Sim.Core.Debug.Warnings>().Count;
        var (sgt, merr) = DmaBuf.MapAttachment(attach, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Null(sgt);
        Assert.Equal(-(int)Sim.Core.Uapi.Errno.EINVAL, merr);
        Assert.Equal(warnsBefore + 1, m.Get<Sim.Core.Debug.Warnings>().Count);
        buf.Detach(attach);
        buf.Put();
        p.Exit();
        Assert.Equal(0, m.Get<Sim.Core.Debug.LiveObjects>().Count("dma_buf"));
    }
}
