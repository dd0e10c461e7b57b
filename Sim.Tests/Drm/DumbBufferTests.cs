using Sim.Tests.Infrastructure;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Drm;

/// <summary>IGT tests/dumb_buffer.c subtests on vgem; expectations from drm_dumb_buffers.c / drm_gem_shmem_helper.c and the vgem traces.</summary>
public class DumbBufferTests
{
    private const long EINVAL = -(long)Errno.EINVAL;

    [Fact]
    public void create_valid_dumb()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var (ret, handle, pitch, size) = m.CreateDumb(fd, 640, 480, 32);
        Assert.Equal(0, ret);
        Assert.Equal(1u, handle);
        Assert.Equal(2560u, pitch);       // 640 * 32 / 8
        Assert.Equal(1228800UL, size);    // 2560 * 480, page aligned
        Assert.Equal(0, m.DestroyDumb(fd, handle));
    }

    [Fact]
    public void invalid_bpp()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        Assert.Equal(EINVAL, m.CreateDumb(fd, 1024, 1024, 0).Ret);
        Assert.Equal(EINVAL, m.CreateDumb(fd, 1024, 1024, 0xFFFFFFF8).Ret); // > U32_MAX - 8
        Assert.Equal(EINVAL, m.CreateDumb(fd, 0, 1024, 32).Ret);
        Assert.Equal(EINVAL, m.CreateDumb(fd, 1024, 0, 32).Ret);
    }

    [Fact]
    public void create_overflow_cases()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        // cpp * width beyond u32, height * stride beyond u32, and a size that page-aligns to 0.
        Assert.Equal(EINVAL, m.CreateDumb(fd, 0x40000000, 1, 32).Ret);
        Assert.Equal(EINVAL, m.CreateDumb(fd, 65536, 65536, 8).Ret);
        Assert.Equal(EINVAL, m.CreateDumb(fd, 0xFFFFF001, 1, 8).Ret);
        // vgem's own pitch wraps: width 0x20000000 * bpp 32 = 2^34 -> 0 -> size 0 -> -ENOSPC (README rule).
        Assert.Equal(-(long)Errno.ENOSPC, m.CreateDumb(fd, 0x20000000, 1, 32).Ret);
        // width 3, bpp 0x55555556: pitch DIV_ROUND_UP(3 * bpp mod 2^32, 8) = 1, size 4096.
        var r = m.CreateDumb(fd, 3, 1, 0x55555556);
        Assert.Equal((0L, 1u, 4096UL), (r.Ret, r.Pitch, r.Size));
        // 0xFFFFF000 bytes succeed (pages are not allocated at create).
        var big = m.CreateDumb(fd, 65536, 65535, 8);
        Assert.Equal((0L, 4294901760UL), (big.Ret, big.Size));
    }

    [Fact]
    public void map_valid_and_invalid()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var a = m.CreateDumb(fd, 640, 480, 32);
        var b = m.CreateDumb(fd, 1, 1, 8);
        Assert.Equal((0L, 0x100000000UL), m.MapDumb(fd, a.Handle));
        Assert.Equal((0L, 0x100000000UL + 300 * 4096), m.MapDumb(fd, b.Handle));
        Assert.Equal(-(long)Errno.ENOENT, m.MapDumb(fd, 0).Ret);
        Assert.Equal(-(long)Errno.ENOENT, m.MapDumb(fd, 99).Ret);
        long addr = m.Process.Mmap(1228800, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0x100000000);
        Assert.True(addr > 0);
        Assert.Equal(EINVAL, m.Process.Mmap(1228800 + 4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0x100000000));
        Assert.Equal(EINVAL, m.Process.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0x100001000));
        Assert.Equal(EINVAL, m.Process.Mmap(4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE, fd, 0x100000000));
        var buf = new byte[4];
        Assert.Equal(0, m.Process.Load((ulong)addr, buf));
        Assert.Equal(new byte[4], buf);
    }

    [Fact]
    public void map_uaf()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var a = m.CreateDumb(fd, 64, 64, 32);
        var (_, off) = m.MapDumb(fd, a.Handle);
        long addr = m.Process.Mmap(16384, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, off);
        Assert.Equal(0, m.Process.Store((ulong)addr, [1, 2, 3, 4]));
        Assert.Equal(0, m.DestroyDumb(fd, a.Handle));
        var buf = new byte[4];
        Assert.Equal(0, m.Process.Load((ulong)addr, buf)); // the mapping keeps the object
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, buf);
        Assert.Equal(0, m.Process.Munmap((ulong)addr, 16384));
        Assert.Equal(EINVAL, m.Process.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, off));
        Assert.Equal(0, m.Process.Close(fd));
        Assert.Equal(0, m.Live.Count("drm_gem_object"));
        Assert.Equal(0, m.Shmem.PagesInUse);
    }

    [Fact]
    public void render_node_rejects_dumb_and_flink()
    {
        using var m = TestMachine.WithDrm("vgem");
        int card = m.Open("/dev/dri/card0");
        int render = m.Open("/dev/dri/renderD128");
        Assert.Equal(-(long)Errno.EACCES, m.CreateDumb(render, 64, 64, 32).Ret);
        var a = m.CreateDumb(card, 64, 64, 32);
        Assert.Equal(-(long)Errno.EACCES, m.MapDumb(render, a.Handle).Ret);
        Assert.Equal(-(long)Errno.EACCES, m.Flink(render, a.Handle).Ret);
    }

    [Fact]
    public void virtio_gpu_only_takes_32bpp()
    {
        using var m = TestMachine.WithDrm("virtio_gpu");
        int fd = m.Open("/dev/dri/card0");
        Assert.Equal(EINVAL, m.CreateDumb(fd, 64, 64, 16).Ret);
        var r = m.CreateDumb(fd, 641, 3, 32);
        Assert.Equal((0L, 2564u, 8192UL), (r.Ret, r.Pitch, r.Size));
    }
}
