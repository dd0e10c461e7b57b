using Sim.DmaBufs;
using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Drm;
using Sim.Drm.Drivers.Amdgpu;
using Sim.Drm.Uapi;
using Xunit;

namespace Sim.Tests.Drm;

/// <summary>
/// pl111 on the vexpress board with the GEM DMA helpers, and the page-array exporter. Expectations come from
/// data/traces/README.md (linux-6.1-cma-arm, "Behaviour seen") and the traces' lines cited per test.
/// </summary>
public class Pl111GemDmaTests
{
    private const ulong PoolBase = 0x7f000; // machine_config.cma.base_pfn 520192
    private const ulong BootUsed = 64;      // pages_used_at_start

    private sealed class Board : IDisposable
    {
        public Board(bool pages = false)
        {
            var o = new MachineOptions().ApplyArmBoard();
            if (pages)
            {
                o.AddDrmDevice(AmdgpuDmaBuf.DRIVER_NAME);
            }
            Sp = Composition.BuildMachine(o);
            Composition.Boot(Sp);
            P = Sp.GetRequiredService<ProcessTable>().Spawn("dumbtest");
            Cma = Sp.GetRequiredService<Cma>();
            Fd = P.Openat("/dev/dri/card0", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        }

        public ServiceProvider Sp { get; }
        public Process P { get; }
        public Cma Cma { get; }
        public int Fd { get; }

        public (long Ret, uint Handle, uint Pitch, ulong Size) CreateDumb(uint width, uint height, uint bpp, int fd = -1)
        {
            var b = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(b, height);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), width);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), bpp);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), 0xdeadbeef);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(20), 0xdeadbeef);
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(24), 0xdeadbeef);
            long r = P.Ioctl(fd < 0 ? Fd : fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, new UserArg(0x1000, b));
            return (r, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24)));
        }

        public ulong MapDumb(uint handle)
        {
            var b = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
            Assert.Equal(0, P.Ioctl(Fd, DrmH.DRM_IOCTL_MODE_MAP_DUMB, new UserArg(0x1000, b)));
            return BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8));
        }

        public long Destroy(uint handle)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
            return P.Ioctl(Fd, DrmH.DRM_IOCTL_MODE_DESTROY_DUMB, new UserArg(0x1000, b));
        }

        public DrmGemObject Obj(uint handle, int fd = -1) => ((DrmFile)P.Fget(fd < 0 ? Fd : fd)!.PrivateData!).ObjectIdr.Find((int)handle)!.Obj!;

        public void Dispose()
        {
            P.Exit();
            Sp.Dispose();
        }
    }

    [Fact]
    public void Version_is_pl111s()
    {
        // pl111_drv.c: .name "pl111", .desc DRIVER_DESC "DRM module for PL111", .date "20170317", 1.0.0; no render node.
        using var b = new Board();
        var dev = b.Sp.GetRequiredService<DrmCore>().Devices.Single();
        Assert.Equal("pl111", dev.Driver.Name);
        Assert.Equal("DRM module for PL111", dev.Driver.Desc);
        Assert.Equal("20170317", dev.Driver.Date);
        Assert.Equal((1, 0, 0), (dev.Driver.Major, dev.Driver.Minor, dev.Driver.Patchlevel));
        Assert.Null(dev.Render);
    }

    [Fact]
    public void First_640x480_buffer_lands_at_the_first_256_page_aligned_free_pfn()
    {
        // prime.jsonl i=2..6: pitch 2560, size 1228800; cma count 300 align 8; pfn 520448, dma_addr 2131755008,
        // vaddr 3742367744.
        using var b = new Board();
        using var rec = b.Sp.GetRequiredService<KernelTrace>().Record();
        var (ret, handle, pitch, size) = b.CreateDumb(640, 480, 32);
        Assert.Equal((0L, 1u, 2560u, 1228800UL), (ret, handle, pitch, size));
        var ops = rec.Records.Select(r => r.Op).Where(KernelSideStateOps.Contains).ToList();
        Assert.Equal(["drm_gem_dma_create", "cma_alloc_start", "cma_alloc_finish", "drm_gem_dma_create:return"], ops);
        var r0 = rec.Records.First(r => r.Op == "drm_gem_dma_create");
        Assert.Equal(1228800UL, r0.U64("size"));
        var ret1 = rec.Records.First(r => r.Op == "drm_gem_dma_create:return");
        Assert.Equal(2131755008UL, ret1.U64("dma_addr"));
        Assert.Equal(520448UL, ret1.U64("pfn"));
        Assert.Equal(3742367744UL, ret1.U64("vaddr"));
        Assert.Equal(BootUsed + 300, b.Cma.UsedPages);
    }

    private static readonly HashSet<string> KernelSideStateOps = ["drm_gem_dma_create", "cma_alloc_start", "cma_alloc_finish", "drm_gem_dma_create:return", "drm_gem_dma_free", "cma_release"];

    [Theory]
    // dumb_overflow.jsonl i=2: width*bpp wraps to 0 -> pitch 0, size 0 -> ENOSPC before any CMA call.
    [InlineData(536870912u, 1u, 8u, -28L, 0u, 0u, 0UL)]
    // dumb_overflow.jsonl i=6: width*bpp wraps to 8 -> pitch 1, size 1 (one-page object).
    [InlineData(536870913u, 1u, 8u, 0L, 1u, 1u, 1UL)]
    // dumb_overflow.jsonl i=33: pitch 4, size 8.
    [InlineData(134217729u, 2u, 32u, 0L, 1u, 4u, 8UL)]
    // dumb_grid.jsonl i=733: larger than the pool -> ENOMEM with pitch and size filled in, handle 0.
    [InlineData(4096u, 4096u, 32u, -12L, 0u, 16384u, 67108864UL)]
    // dumb_grid.jsonl i=739: 4096x2049 at 8 bpp fits.
    [InlineData(4096u, 2049u, 8u, 0L, 1u, 4096u, 8392704UL)]
    // README: height 0xfffff000 at 1 byte per pixel is beyond the 32-bit mmap-offset space -> ENOSPC.
    [InlineData(1u, 0xfffff000u, 8u, -28L, 0u, 1u, 0xfffff000UL)]
    // drm_mode_create_dumb's own check: width 0 -> EINVAL, struct left as user space preset it.
    [InlineData(0u, 480u, 32u, -22L, 0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefUL)]
    public void Pitch_size_and_errors_follow_the_traces(uint width, uint height, uint bpp, long eret, uint ehandle, uint epitch, ulong esize)
    {
        using var b = new Board();
        var (ret, handle, pitch, size) = b.CreateDumb(width, height, bpp);
        Assert.Equal((eret, ehandle, epitch, esize), (ret, handle, pitch, size));
        if (ret != 0)
        {
            Assert.Equal(BootUsed, b.Cma.UsedPages); // nothing stays allocated after a failure
            Assert.Equal(0, b.Sp.GetRequiredService<LiveObjects>().Count("drm_gem_object"));
        }
    }

    [Fact]
    public void Enomem_frees_the_object_with_a_dma_mapping_error_record()
    {
        // dumb_grid.jsonl i=734..737: create, cma_alloc_start (no finish: larger than the area), free with
        // dma_addr null + dma_mapping_error true + vaddr 0, return -12.
        using var b = new Board();
        using var rec = b.Sp.GetRequiredService<KernelTrace>().Record();
        Assert.Equal(-12, b.CreateDumb(4096, 4096, 32).Ret);
        var ops = rec.Records.Where(r => KernelSideStateOps.Contains(r.Op)).ToList();
        Assert.Equal(["drm_gem_dma_create", "cma_alloc_start", "drm_gem_dma_free", "drm_gem_dma_create:return"], ops.Select(r => r.Op));
        Assert.Null(ops[2]["dma_addr"]);
        Assert.Equal(true, ops[2]["dma_mapping_error"]);
        Assert.Equal(0UL, ops[2].U64("vaddr"));
        Assert.Equal(67108864UL, ops[2].U64("size"));
        Assert.Equal(-12L, ops[3].I64("ret"));
    }

    [Fact]
    public void Cma_is_exhausted_then_enomem()
    {
        // cma_exhaust: 1 MiB buffers until refused (ENOMEM), no fallback outside CMA.
        using var b = new Board();
        int made = 0;
        while (b.CreateDumb(1024, 256, 32).Ret == 0)
        {
            made++;
        }
        Assert.Equal(-12, b.CreateDumb(1024, 256, 32).Ret);
        // 4096 pages, 64 in use, 1 MiB (256 pages, 256-aligned) each: 15 fit after the boot pool's first block.
        Assert.Equal(15, made);
    }

    [Fact]
    public void Mmap_reads_zero_then_the_written_pattern_and_one_page_too_long_is_einval()
    {
        // dumb_grid: mmap of the object (zero check, write, read back), and an mmap one page larger -> EINVAL.
        using var b = new Board();
        var (_, h, _, size) = b.CreateDumb(64, 64, 32);
        ulong off = b.MapDumb(h);
        Assert.Equal(0x10000000UL, off); // DRM_FILE_PAGE_OFFSET_START on 32-bit
        long addr = b.P.Mmap(size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, b.Fd, off);
        Assert.True(addr > 0);
        var buf = new byte[size];
        Assert.Equal(0, b.P.Load((ulong)addr, buf));
        Assert.All(buf, x => Assert.Equal(0, x));
        buf[5] = 0x5a;
        Assert.Equal(0, b.P.Store((ulong)addr, buf));
        // The bytes land in the object's CMA frames (dma_addr = physical address).
        var mem = b.Sp.GetRequiredService<IPageDataAccess>();
        var frame = new byte[8];
        mem.Read(((DrmGemDmaObject)b.Obj(h)).DmaAddr >> 12, 0, frame);
        Assert.Equal(0x5a, frame[5]);
        Assert.Equal(-22, b.P.Mmap(size + 4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, b.Fd, off));
    }

    [Fact]
    public void Sg_table_is_one_contiguous_entry()
    {
        using var b = new Board();
        var (_, h, _, _) = b.CreateDumb(640, 480, 32);
        var obj = b.Obj(h);
        var (sgt, err) = obj.Funcs.GetSgTable!(obj);
        Assert.Equal(0, err);
        Assert.Equal(1, sgt!.OrigNents);
        ref var sg = ref sgt.At(sgt.Sgl);
        Assert.Equal(0x7f100UL, sg.Pfn);
        Assert.Equal(0x12c000u, sg.Length);
        Assert.Equal(0, DrmGemDmaHelper.Vmap((DrmGemDmaObject)obj, out ulong vaddr));
        Assert.Equal(0xdf100000UL, vaddr); // README vaddr rule: dma_addr + 0x60000000
    }

    [Fact]
    public void Importer_test_against_the_cma_exporter_prints_the_acceptance_line()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        Assert.Equal(0, ImporterTest.Run("cma", 640, 480, 32, o, e));
        Assert.Equal("reg_addr = 0x7f100000, reg_size = 0x0012c000\n", o.ToString());
    }

    [Fact]
    public void Importer_test_against_the_page_array_exporter_sees_one_entry_per_contiguous_run()
    {
        using var b = new Board(pages: true);
        int fd = b.P.Openat("/dev/dri/card1", OpenFlags.O_RDWR);
        var (ret, h, pitch, size) = b.CreateDumb(640, 480, 32, fd);
        Assert.Equal((0L, 2560u, 1228800UL), (ret, pitch, size));
        var bo = (PagesGemObject)b.Obj(h, fd);
        // Hand count of the runs in the frame list: a new entry wherever a frame does not follow its predecessor.
        int runs = 1;
        for (int k = 1; k < bo.Pages.Length; k++)
        {
            if (bo.Pages[k] != bo.Pages[k - 1] + 1)
            {
                runs++;
            }
        }
        int firstRun = 1;
        while (firstRun < bo.Pages.Length && bo.Pages[firstRun] == bo.Pages[firstRun - 1] + 1)
        {
            firstRun++;
        }
        Assert.True(runs > 1, "the seeded scatter must break the buffer into several runs");
        int primeFd = ImporterTest.PrimeHandleToFd(b.P, fd, h);
        Assert.True(primeFd >= 0);
        var (dmabuf, err) = DmaBuf.Get(b.Sp.GetRequiredService<Sim.DmaBufs.DmaBufList>(), b.P, primeFd);
        Assert.Equal(0, err);
        var r = ImporterTest.ImporterTest2(b.Sp.GetRequiredService<Sim.Core.Dma.DmaMapping>(), dmabuf);
        Assert.Equal(0, r.Ret);
        Assert.Equal(runs, r.Nents);
        Assert.Equal((uint)(bo.Pages[0] << 12), r.RegAddr);
        Assert.Equal((uint)(firstRun * 4096), r.RegSize);
        dmabuf!.Put();
        Assert.Equal(0, b.P.Close(primeFd));
        Assert.Equal(0, b.P.Close(fd)); // the last reference: the pages go back
        Assert.True(bo.Freed);
    }

    [Fact]
    public void Importer_test_command_with_pages_prints_the_first_entry_and_the_count()
    {
        var o = new StringWriter();
        Assert.Equal(0, ImporterTest.Run("pages", 640, 480, 32, o, new StringWriter()));
        var lines = o.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("reg_addr = 0x", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("nents = ", lines[1], StringComparison.Ordinal);
        Assert.True(int.Parse(lines[1]["nents = ".Length..], System.Globalization.CultureInfo.InvariantCulture) > 1);
    }

    [Fact]
    public void Pages_scatter_is_deterministic_per_seed()
    {
        ulong[] Frames(int seed)
        {
            var o = new MachineOptions().ApplyArmBoard().Apply($"pages pages.seed={seed}", strict: true);
            using var sp = Composition.BuildMachine(o);
            Composition.Boot(sp);
            var p = sp.GetRequiredService<ProcessTable>().Spawn("t");
            int fd = p.Openat("/dev/dri/card1", OpenFlags.O_RDWR);
            var buf = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(buf, 64);
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(4), 256);
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(8), 32);
            Assert.Equal(0, p.Ioctl(fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, new UserArg(0x1000, buf)));
            var f = ((PagesGemObject)((DrmFile)p.Fget(fd)!.PrivateData!).ObjectIdr.Find(1)!.Obj!).Pages.ToArray();
            p.Exit();
            Assert.Equal(0, sp.GetRequiredService<LiveObjects>().Count("drm_gem_object"));
            return f;
        }
        Assert.Equal(Frames(7), Frames(7));
        Assert.NotEqual(Frames(7), Frames(8));
    }

    /// <summary>
    /// Random orders of export (dma-buf fd), close, mmap of the DRM fd or of a dma-buf fd, munmap and DESTROY_DUMB on
    /// one object: the CMA range stays allocated while the handle, any dma-buf fd or any mapping remains, and is
    /// released (exactly the object's pages) when the last of them goes (README "Release").
    /// </summary>
    [Property(MaxTest = 40)]
    public Property Cma_is_released_exactly_at_the_last_reference(int[] raw)
    {
        using var b = new Board();
        var (_, h, _, size) = b.CreateDumb(256, 64, 32); // 16 pages, prime.jsonl i=45
        ulong objPages = size / 4096;
        ulong off = b.MapDumb(h);
        var obj = b.Obj(h);
        bool handle = true;
        var fds = new List<int>();
        var maps = new List<ulong>();
        var dbl = b.Sp.GetRequiredService<Sim.DmaBufs.DmaBufList>();
        bool ok = true;
        void Check()
        {
            bool held = handle || fds.Count > 0 || maps.Count > 0;
            ok &= b.Cma.UsedPages == BootUsed + (held ? objPages : 0);
        }
        foreach (int r in (raw ?? []).Take(24))
        {
            switch (Math.Abs(r % 6))
            {
                case 0 when handle:
                    int pfd = ImporterTest.PrimeHandleToFd(b.P, b.Fd, h);
                    ok &= pfd >= 0;
                    fds.Add(pfd);
                    break;
                case 1 when fds.Count > 0:
                    int i = Math.Abs(r / 6) % fds.Count;
                    ok &= b.P.Close(fds[i]) == 0;
                    fds.RemoveAt(i);
                    break;
                case 2 when handle:
                    long a = b.P.Mmap(size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, b.Fd, off);
                    ok &= a > 0;
                    maps.Add((ulong)a);
                    break;
                case 3 when fds.Count > 0:
                    long a2 = b.P.Mmap(size, Mman.PROT_READ, Mman.MAP_SHARED, fds[Math.Abs(r / 6) % fds.Count], 0);
                    ok &= a2 > 0;
                    maps.Add((ulong)a2);
                    break;
                case 4 when maps.Count > 0:
                    int j = Math.Abs(r / 6) % maps.Count;
                    ok &= b.P.Munmap(maps[j], size) == 0;
                    maps.RemoveAt(j);
                    break;
                case 5 when handle:
                    ok &= b.Destroy(h) == 0;
                    handle = false;
                    break;
            }
            Check();
        }
        // Drop everything that is left, in the order the generator's last values pick.
        while (handle || fds.Count > 0 || maps.Count > 0)
        {
            if (maps.Count > 0)
            {
                ok &= b.P.Munmap(maps[^1], size) == 0;
                maps.RemoveAt(maps.Count - 1);
            }
            else if (fds.Count > 0)
            {
                ok &= b.P.Close(fds[^1]) == 0;
                fds.RemoveAt(fds.Count - 1);
            }
            else
            {
                ok &= b.Destroy(h) == 0;
                handle = false;
            }
            Check();
        }
        ok &= b.Cma.UsedPages == BootUsed && obj.Freed && dbl.Live.Count("drm_gem_object") == 0;
        return ok.Label($"ops {string.Join(",", (raw ?? []).Take(24).Select(x => Math.Abs(x % 6)))}");
    }
}
