using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Drm;
using Sim.Drm.Uapi;
using Xunit;

namespace Sim.Tests.Reliability;

/// <summary>
/// Resource limits: RLIMIT_NOFILE gives -EMFILE (fs/file.c alloc_fd) wherever a descriptor is made, an exhausted
/// machine gives -ENOMEM, never an exception, and everything is given back afterwards.
/// </summary>
public class ResourceLimitTests
{
    private static (ServiceProvider M, Process P) Machine(string options)
    {
        var o = new MachineOptions();
        o.Apply(options, strict: true);
        var m = Composition.BuildMachine(o);
        Composition.Boot(m);
        return (m, m.GetRequiredService<ProcessTable>().Spawn("limits"));
    }

    private static long Io(Process p, int fd, uint cmd, byte[] b) => p.Ioctl(fd, cmd, new UserArg(0x10000, b));

    private static (long Ret, uint Handle) CreateDumb(Process p, int fd, uint w, uint h)
    {
        var b = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(b, h);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), w);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 32);
        long r = Io(p, fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, b);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)));
    }

    private static (long Ret, int Fd) Export(Process p, int fd, uint handle)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR);
        long r = Io(p, fd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, b);
        return (r, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8)));
    }

    [Fact]
    public void Fd_limit_gives_EMFILE_for_open_dup_and_PRIME_export_and_nothing_leaks()
    {
        var (m, p) = Machine("vgem");
        using var _ = m;
        var live = m.GetRequiredService<LiveObjects>();
        int boot = live.Count();
        p.Files.Limit = 4;
        int card = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        Assert.Equal(0, card);
        var (r, h) = CreateDumb(p, card, 64, 64);
        Assert.Equal(0, r);
        Assert.Equal(1, p.Dup(card));
        Assert.Equal(2, p.Dup(card));
        Assert.Equal(3, p.Openat("/dev/dri/card0", OpenFlags.O_RDWR));
        // fds 0..3 are taken and RLIMIT_NOFILE is 4: every new descriptor is -EMFILE.
        Assert.Equal(-(int)Errno.EMFILE, p.Openat("/dev/dri/card0", OpenFlags.O_RDWR));
        Assert.Equal(-(int)Errno.EMFILE, p.Dup(card));
        var (er, _) = Export(p, card, h);
        Assert.Equal(-(long)Errno.EMFILE, er);
        // Once a descriptor is free the export works, at that number.
        Assert.Equal(0, p.Close(2));
        Assert.Equal((0L, 2), Export(p, card, h));
        p.Exit();
        Assert.Equal(boot, live.Count());
        Assert.Equal(0, m.GetRequiredService<Shmem>().PagesInUse);
    }

    [Fact]
    public void Exhausted_memory_gives_ENOMEM_at_the_import_and_gives_every_page_back()
    {
        // 64 MiB of RAM; a 48 MiB dumb buffer fits once but not twice when both are pinned for import.
        var (m, p) = Machine("mem=64M vgem vgem");
        using var _ = m;
        var live = m.GetRequiredService<LiveObjects>();
        var pages = m.GetRequiredService<PageAlloc>();
        int boot = live.Count();
        ulong free = pages.Meminfo().MemFree;
        int a = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        int b = p.Openat("/dev/dri/card1", OpenFlags.O_RDWR);
        long worst = 0;
        for (int k = 0; k < 3; k++)
        {
            var (r, h) = CreateDumb(p, a, 4096, 3072); // 48 MiB
            Assert.Equal(0, r);
            var (er, dfd) = Export(p, a, h);
            Assert.Equal(0, er);
            var imp = new byte[12];
            BinaryPrimitives.WriteInt32LittleEndian(imp.AsSpan(8), dfd);
            long ir = Io(p, b, DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, imp); // attach + map: the shmem pages are allocated
            worst = Math.Min(worst, ir);
            if (ir < 0)
            {
                Assert.Equal(-(long)Errno.ENOMEM, ir);
                break;
            }
        }
        Assert.Equal(-(long)Errno.ENOMEM, worst);
        p.Exit();
        Assert.Equal(boot, live.Count());
        Assert.Equal(free, pages.Meminfo().MemFree);
    }

    [Fact]
    public void Exhausted_CMA_gives_DMA_MAPPING_ERROR_and_the_area_is_empty_after_the_frees()
    {
        var o = new MachineOptions();
        o.Apply("board=vexpress cma=4M", strict: true);
        using var m = Composition.BuildMachine(o);
        var arm = m.GetRequiredService<Sim.Core.Dma.ArmDmaMapping>();
        var cma = m.GetRequiredService<Cma>();
        ulong used = cma.UsedPages;
        var bufs = new List<(ulong Cpu, ulong Dma)>();
        ulong cpu;
        while ((cpu = arm.AllocWc(1 << 20, out ulong dma, Gfp.GFP_KERNEL | Gfp.__GFP_NOWARN)) != 0)
        {
            bufs.Add((cpu, dma));
            Assert.True(bufs.Count <= 4, "a 4 MiB area held more than four 1 MiB buffers");
        }
        Assert.True(bufs.Count >= 1);
        foreach (var (c, d) in bufs)
        {
            arm.FreeWc(1 << 20, c, d);
        }
        Assert.Equal(used, cma.UsedPages);
    }
}

/// <summary>The leak report names what is alive and who holds it (descriptors and mappings of processes).</summary>
public class LeakReportTests
{
    [Fact]
    public void A_dma_buf_kept_by_a_descriptor_and_a_mapping_names_both()
    {
        var o = new MachineOptions();
        o.AddDrmDevice("vgem");
        using var m = Composition.BuildMachine(o);
        Composition.Boot(m);
        var p = m.GetRequiredService<ProcessTable>().Spawn("holder");
        int card = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR);                 // fd 0
        var c = new byte[32];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(c, 64);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4), 64);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(8), 32);
        Assert.Equal(0, p.Ioctl(card, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, new UserArg(0x1000, c)));
        var e = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(e, 1);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR);
        Assert.Equal(0, p.Ioctl(card, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, new UserArg(0x1000, e)));
        Assert.Equal(1, System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(e.AsSpan(8))); // lowest free fd
        long addr = p.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, 1, 0);
        Assert.True(addr > 0);
        Assert.Equal(0, p.Close(card));
        var lines = LeakReport.Describe(m.GetRequiredService<LiveObjects>(), m.GetRequiredService<ProcessTable>());
        var dmabufFile = Assert.Single(lines, l => l.StartsWith("file dmabuf", StringComparison.Ordinal));
        Assert.Contains($"pid {p.Pid} (holder) fd 1", dmabufFile);
        Assert.Contains($"pid {p.Pid} (holder) mapping 0x{addr:x}-0x{addr + 4096:x}", dmabufFile);
        Assert.Contains(lines, l => l.StartsWith("drm_gem_object", StringComparison.Ordinal) && l.Contains("held by: refcount", StringComparison.Ordinal));
        p.Exit();
        Assert.Empty(LeakReport.Describe(m.GetRequiredService<LiveObjects>(), m.GetRequiredService<ProcessTable>()));
    }
}
