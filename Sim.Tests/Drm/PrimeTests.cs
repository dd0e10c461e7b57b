using Sim.Tests.Infrastructure;
using System.Text;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Drm;

/// <summary>
/// IGT prime_self_import and prime_mmap basics on vgem (tests/prime_self_import.c, tests/prime_mmap.c), with
/// expectations from drivers/gpu/drm/drm_prime.c and the PRIME rules of data/traces/README.md (linux-6.1-vgem).
/// </summary>
public class PrimeTests
{
    private const uint DRM_CLOEXEC = 0x80000;
    private const uint DRM_RDWR = 2;

    private static (int Fd1, int Fd2) TwoFiles(TestMachine m) => (m.Open("/dev/dri/card0"), m.Open("/dev/dri/card0"));

    [Fact]
    public void prime_self_import_basic_with_one_bo()
    {
        using var m = TestMachine.WithDrm("vgem");
        var (fd1, fd2) = TwoFiles(m);
        var bo = m.CreateDumb(fd1, 64, 64, 32);
        var (r, dmaBufFd) = m.HandleToFd(fd1, bo.Handle, DRM_CLOEXEC);
        Assert.Equal(0, r);
        var (ri, import1) = m.FdToHandle(fd2, dmaBufFd);
        Assert.Equal(0, ri);
        Assert.Equal(1u, import1);                                   // lowest free handle of the second file
        // Re-export from the importer gives the same dma-buf, re-import the same handle.
        var (r2, dmaBufFd2) = m.HandleToFd(fd2, import1, DRM_CLOEXEC);
        Assert.Equal(0, r2);
        Assert.Equal(0, m.Process.KcmpFile(dmaBufFd, dmaBufFd2));
        Assert.Equal((0L, import1), m.FdToHandle(fd2, dmaBufFd2));
        // Close the dma-bufs: nothing disappears while handles exist.
        Assert.Equal(0, m.Process.Close(dmaBufFd));
        Assert.Equal(0, m.Process.Close(dmaBufFd2));
        Assert.Equal(0, m.GemClose(fd1, bo.Handle));
        Assert.Equal(0, m.GemClose(fd2, import1));
        Assert.Equal(0, m.Process.Close(fd1));
        Assert.Equal(0, m.Process.Close(fd2));
        Assert.Equal(0, m.Live.Count());
        Assert.Equal(0, m.Shmem.PagesInUse);
    }

    [Fact]
    public void prime_self_import_basic_with_one_bo_two_files()
    {
        using var m = TestMachine.WithDrm("vgem");
        var (fd1, fd2) = TwoFiles(m);
        var bo = m.CreateDumb(fd1, 64, 64, 32);
        var (_, dmaBufFd) = m.HandleToFd(fd1, bo.Handle, DRM_CLOEXEC);
        var (_, name) = m.Flink(fd1, bo.Handle);
        var (_, handleOpen, _) = m.GemOpen(fd2, name);
        var (_, dmaBufFd2) = m.HandleToFd(fd2, handleOpen, DRM_CLOEXEC);
        Assert.Equal(0, m.Process.KcmpFile(dmaBufFd, dmaBufFd2));          // one object, one dma-buf
        Assert.Equal((0L, handleOpen), m.FdToHandle(fd2, dmaBufFd));  // the flink handle comes back
        Assert.Equal(0, m.Process.Close(dmaBufFd));
        Assert.Equal(0, m.Process.Close(dmaBufFd2));
        Assert.Equal(0, m.Process.Close(fd1));
        Assert.Equal(0, m.Process.Close(fd2));
        Assert.Equal(0, m.Live.Count());
    }

    [Fact]
    public void prime_self_import_basic_with_two_bos()
    {
        using var m = TestMachine.WithDrm("vgem");
        var (fd1, fd2) = TwoFiles(m);
        var a = m.CreateDumb(fd1, 64, 64, 32);
        var b = m.CreateDumb(fd1, 64, 64, 32);
        var (_, da) = m.HandleToFd(fd1, a.Handle, DRM_CLOEXEC | DRM_RDWR);
        var (_, db) = m.HandleToFd(fd1, b.Handle, DRM_CLOEXEC | DRM_RDWR);
        Assert.NotEqual(0, m.Process.KcmpFile(da, db));
        // Self-import returns the exporter's handles.
        Assert.Equal((0L, a.Handle), m.FdToHandle(fd1, da));
        Assert.Equal((0L, b.Handle), m.FdToHandle(fd1, db));
        var ia = m.FdToHandle(fd2, da);
        var ib = m.FdToHandle(fd2, db);
        Assert.Equal((0L, 1u), ia);
        Assert.Equal((0L, 2u), ib);
        Assert.Equal(0, m.GemClose(fd2, ia.Handle));
        Assert.Equal(0, m.Process.Close(da));
        Assert.Equal(0, m.Process.Close(db));
        Assert.Equal(0, m.Process.Close(fd1));
        Assert.Equal(0, m.Process.Close(fd2));
        Assert.Equal(0, m.Live.Count());
    }

    [Fact]
    public void prime_self_import_basic_llseek_size_and_bad()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);                          // 16384 bytes
        var (_, dma) = m.HandleToFd(fd, bo.Handle, DRM_CLOEXEC);
        Assert.Equal(16384, m.Process.Lseek(dma, 0, 2));
        Assert.Equal(0, m.Process.Lseek(dma, 0, 0));
        Assert.Equal(-(long)Errno.EINVAL, m.Process.Lseek(dma, 1, 2));
        Assert.Equal(-(long)Errno.EINVAL, m.Process.Lseek(dma, 0, 1));
        Assert.Equal(-(long)Errno.EINVAL, m.Process.Lseek(dma, 4096, 0));
    }

    [Fact]
    public void prime_self_import_basic_with_fd_dup()
    {
        using var m = TestMachine.WithDrm("vgem");
        var (fd1, fd2) = TwoFiles(m);
        var bo = m.CreateDumb(fd1, 64, 64, 32);
        var (_, dma) = m.HandleToFd(fd1, bo.Handle, DRM_CLOEXEC);
        int dup = m.Process.Dup(dma);
        Assert.Equal(0, m.Process.Close(dma));
        Assert.Equal((0L, 1u), m.FdToHandle(fd2, dup));
        Assert.Equal((0L, 1u), m.FdToHandle(fd2, dup));
        Assert.Equal(0, m.Process.Close(dup));
        Assert.Equal(0, m.Process.Close(fd1));
        Assert.Equal(0, m.Process.Close(fd2));
        Assert.Equal(0, m.Live.Count());
    }

    [Fact]
    public void prime_mmap_test_correct()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);
        var (_, off) = m.MapDumb(fd, bo.Handle);
        long gem = m.MapShared(fd, bo.Size, off);
        Assert.True(gem >= 0);
        var hello = Encoding.ASCII.GetBytes("Hello, world!");
        Assert.Equal(0, m.Process.Store((ulong)gem + 8192, hello));
        var (_, dma) = m.HandleToFd(fd, bo.Handle, DRM_CLOEXEC | DRM_RDWR);
        long ptr = m.MapShared(dma, bo.Size);
        Assert.True(ptr >= 0);
        var back = new byte[hello.Length];
        Assert.Equal(0, m.Process.Load((ulong)ptr + 8192, back));
        Assert.Equal(hello, back);
        Assert.Equal(0, m.Process.Munmap((ulong)ptr, bo.Size));
        Assert.Equal(0, m.Process.Munmap((ulong)gem, bo.Size));
        Assert.Equal(0, m.Process.Close(dma));
        Assert.Equal(0, m.Process.Close(fd));
        Assert.Equal(0, m.Live.Count());
        Assert.Equal(0, m.Shmem.PagesInUse);
    }

    [Fact]
    public void prime_mmap_test_map_unmap_and_refcnt()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);
        var (_, dma) = m.HandleToFd(fd, bo.Handle, DRM_CLOEXEC | DRM_RDWR);
        long ptr = m.MapShared(dma, bo.Size);
        Assert.Equal(0, m.Process.Store((ulong)ptr, [1, 2, 3, 4]));
        Assert.Equal(0, m.Process.Munmap((ulong)ptr, bo.Size));
        // The pages stay in the object's shmem file: a new mapping sees the data.
        Assert.Equal(0, m.GemClose(fd, bo.Handle));                      // test_refcnt: the fd keeps the object
        ptr = m.MapShared(dma, bo.Size);
        Assert.True(ptr >= 0);
        var back = new byte[4];
        Assert.Equal(0, m.Process.Load((ulong)ptr, back));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, back);
        Assert.Equal(0, m.Process.Close(dma));                                 // the mapping keeps the dma-buf
        Assert.Equal(0, m.Process.Load((ulong)ptr, back));
        Assert.Equal(0, m.Process.Munmap((ulong)ptr, bo.Size));
        Assert.Equal(0, m.Process.Close(fd));
        Assert.Equal(0, m.Live.Count());
        Assert.Equal(0, m.Shmem.PagesInUse);
    }

    [Fact]
    public void prime_mmap_test_errors()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var bo = m.CreateDumb(fd, 64, 64, 32);
        // Invalid flags are checked before the handle.
        Assert.Equal(-(long)Errno.EINVAL, m.HandleToFd(fd, 99, 4).Ret);
        Assert.Equal(-(long)Errno.ENOENT, m.HandleToFd(fd, 0, DRM_CLOEXEC).Ret);
        Assert.Equal(-(long)Errno.ENOENT, m.HandleToFd(fd, 99, DRM_CLOEXEC).Ret);
        // A read-only export: PROT_WRITE fails -EACCES; past the end -EINVAL.
        var (_, ro) = m.HandleToFd(fd, bo.Handle, DRM_CLOEXEC);
        Assert.Equal(-(long)Errno.EACCES, m.MapShared(ro, bo.Size));
        Assert.Equal(-(long)Errno.EINVAL, m.Process.Mmap(bo.Size + 4096, Sim.Core.Mm.Mman.PROT_READ, Sim.Core.Mm.Mman.MAP_SHARED, ro, 0));
        // The access mode is fixed by the first export.
        var (_, rw) = m.HandleToFd(fd, bo.Handle, DRM_CLOEXEC | DRM_RDWR);
        Assert.Equal(-(long)Errno.EACCES, m.MapShared(rw, bo.Size));
        // Import errors: a closed fd -EBADF, a non-dma-buf fd -EINVAL.
        Assert.Equal(-(long)Errno.EBADF, m.FdToHandle(fd, 77).Ret);
        Assert.Equal(-(long)Errno.EBADF, m.FdToHandle(fd, -1).Ret);
        Assert.Equal(-(long)Errno.EINVAL, m.FdToHandle(fd, fd).Ret);
    }

    [Fact]
    public void virtio_gpu_import_of_a_vgem_buffer_fails_enodev_and_leaves_nothing()
    {
        using var m = TestMachine.WithDrm("virtio_gpu", "vgem");
        int v = m.Open("/dev/dri/card0");
        int g = m.Open("/dev/dri/card1");
        var bo = m.CreateDumb(g, 64, 64, 32);
        var (_, dma) = m.HandleToFd(g, bo.Handle, DRM_CLOEXEC | DRM_RDWR);
        Assert.Equal(-(long)Errno.ENODEV, m.FdToHandle(v, dma).Ret);
        // vgem imports virtio-gpu's buffer through an attachment.
        var vb = m.CreateDumb(v, 64, 64, 32);
        var (_, vdma) = m.HandleToFd(v, vb.Handle, DRM_CLOEXEC | DRM_RDWR);
        var (ri, ih) = m.FdToHandle(g, vdma);
        Assert.Equal(0, ri);
        Assert.Equal(2u, ih);
        Assert.Equal(-(long)Errno.EINVAL, m.MapDumb(g, ih).Ret);      // imported foreign object
        Assert.Equal(0, m.GemClose(g, ih));
        Assert.Equal(0, m.Process.Close(dma));
        Assert.Equal(0, m.Process.Close(vdma));
        Assert.Equal(0, m.Process.Close(v));
        Assert.Equal(0, m.Process.Close(g));
        Assert.Equal(0, m.Live.Count());
        Assert.Equal(0, m.Shmem.PagesInUse);
    }
}
