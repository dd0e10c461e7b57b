using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Core;

public class ProcessTests
{
    private sealed class PageFile : IFileOperations, IVmOperations
    {
        public int Opens;
        public int Closes;
        public int Releases;
        public ulong Pages = 4;

        public void Release(Inode inode, KernelFile file) => Releases++;

        public int Mmap(KernelFile file, Vma vma)
        {
            if (vma.PgOff + vma.Pages > Pages)
            {
                return -(int)Errno.EINVAL;
            }
            vma.Ops = this;
            Opens++;
            return 0;
        }

        public void Open(Vma vma) => Opens++;

        public void Close(Vma vma) => Closes++;

        public long Fault(Vma vma, ulong pgoff) => 0x1000 + (long)pgoff;
    }

    private static (Process P, Vfs Vfs, LiveObjects Live, PageFile Dev) Boot()
    {
        var live = new LiveObjects();
        var vfs = new Vfs(new CharDevices(), live);
        var dev = new PageFile();
        int major = vfs.CharDevices.RegisterChrdev(0, "test", dev);
        Assert.Equal(254, major);
        Assert.Equal(0, vfs.Mknod("/dev/test0", 0x1b6, (uint)major, 0));
        var table = new ProcessTable(new Syscalls(vfs, new Ktime(), new MachineOptions()), new SparsePageData(), new MachineOptions());
        return (table.Spawn("t"), vfs, live, dev);
    }

    [Fact]
    public void FdsAreLowestFreeAndBadFdsAreEbadf()
    {
        var (p, _, _, _) = Boot();
        Assert.Equal(0, p.Openat("/dev/test0", OpenFlags.O_RDWR));
        Assert.Equal(1, p.Openat("/dev/test0", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC));
        Assert.Equal(2, p.Openat("/dev/test0", OpenFlags.O_RDONLY));
        Assert.Equal(0, p.Close(1));
        Assert.Equal(-(int)Errno.EBADF, p.Close(1));
        Assert.Equal(1, p.Dup(0));
        Assert.Equal(-(int)Errno.ENOENT, p.Openat("/dev/none", 0));
        Assert.Equal(-(long)Errno.EBADF, p.Ioctl(9, 0, new UserArg(0)));
        Assert.Equal(-(long)Errno.ENOTTY, p.Ioctl(0, 0x1234, new UserArg(0)));
    }

    [Fact]
    public void NodeWithoutDeviceIsEnxio()
    {
        var (p, vfs, _, _) = Boot();
        Assert.Equal(0, vfs.Mknod("/dev/nodev", 0x1a4, 246, 0));
        Assert.Equal(-(int)Errno.ENXIO, p.Openat("/dev/nodev", OpenFlags.O_RDWR));
    }

    [Fact]
    public void FdTableLimitIsEmfile()
    {
        var (p, _, _, _) = Boot();
        p.Files.Limit = 2;
        Assert.Equal(0, p.Openat("/dev/test0", 0));
        Assert.Equal(1, p.Openat("/dev/test0", 0));
        Assert.Equal(-(int)Errno.EMFILE, p.Openat("/dev/test0", 0));
    }

    [Theory]
    [InlineData(0UL, 3u, 1u, 0UL, -(long)Errno.EINVAL)]          // length 0
    [InlineData(4096UL, 3u, 1u, 100UL, -(long)Errno.EINVAL)]     // offset not page aligned
    [InlineData(4096UL, 3u, 0u, 0UL, -(long)Errno.EINVAL)]       // neither shared nor private
    [InlineData(ulong.MaxValue, 3u, 1u, 0UL, -(long)Errno.ENOMEM)] // PAGE_ALIGN wraps to 0
    [InlineData(8192UL, 3u, 1u, 0xfffffffffffff000UL, -(long)Errno.EOVERFLOW)] // pgoff + pages wraps
    public void MmapGenericChecksComeFirst(ulong length, uint prot, uint flags, ulong offset, long expected)
    {
        var (p, _, _, _) = Boot();
        int fd = p.Openat("/dev/test0", OpenFlags.O_RDWR);
        Assert.Equal(expected, p.Mmap(length, prot, flags, fd, offset));
    }

    [Fact]
    public void WritableSharedMappingOfReadOnlyFileIsEacces()
    {
        var (p, _, _, _) = Boot();
        int fd = p.Openat("/dev/test0", OpenFlags.O_RDONLY);
        Assert.Equal(-(long)Errno.EACCES, p.Mmap(4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0));
        Assert.True(p.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0) > 0);
        Assert.True(p.Mmap(4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE, fd, 0) > 0);
    }

    [Fact]
    public void PartialMunmapSplitsAndMappingsHoldTheFile()
    {
        var (p, _, live, dev) = Boot();
        int fd = p.Openat("/dev/test0", OpenFlags.O_RDWR);
        long addr = p.Mmap(4 * 4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        Assert.True(addr > 0);
        Assert.Equal(0, p.Close(fd));
        Assert.Equal(0, dev.Releases);
        Assert.Equal(1, live.Count("file"));
        // Unmap the middle two pages: the mapping splits into [0,1) and [3,4).
        Assert.Equal(0, p.Munmap((ulong)addr + 4096, 2 * 4096));
        Assert.Equal(2, p.Mm.Vmas.Count);
        Assert.Equal(3UL, p.Mm.Vmas[1].PgOff);
        Assert.Equal(0, p.Munmap((ulong)addr, 4096));
        Assert.Equal(0, dev.Releases);
        Assert.Equal(0, p.Munmap((ulong)addr + 3 * 4096, 4096));
        Assert.Equal(1, dev.Releases);
        Assert.Equal(0, live.Count());
        Assert.Equal(dev.Opens, dev.Closes);
        Assert.Equal(0, p.Munmap((ulong)addr, 4096));
        Assert.Equal(-(int)Errno.EINVAL, p.Munmap((ulong)addr + 1, 4096));
    }

    [Fact]
    public void PrivateWritesDoNotReachTheSharedPages()
    {
        var (p, _, _, _) = Boot();
        int fd = p.Openat("/dev/test0", OpenFlags.O_RDWR);
        ulong shared = (ulong)p.Mmap(4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        ulong priv = (ulong)p.Mmap(4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_PRIVATE, fd, 0);
        Assert.Equal(0, p.Store(shared, "abcd"u8));
        var buf = new byte[4];
        Assert.Equal(0, p.Load(priv, buf));
        Assert.Equal("abcd"u8.ToArray(), buf);
        Assert.Equal(0, p.Store(priv, "WXYZ"u8));
        Assert.Equal(0, p.Load(shared, buf));
        Assert.Equal("abcd"u8.ToArray(), buf);
        Assert.Equal(0, p.Load(priv, buf));
        Assert.Equal("WXYZ"u8.ToArray(), buf);
        Assert.Equal(-(int)Errno.EFAULT, p.Load(0x1000, buf));
    }

    [Fact]
    public void ExitUnmapsThenClosesEverything()
    {
        var (p, _, live, dev) = Boot();
        int fd = p.Openat("/dev/test0", OpenFlags.O_RDWR);
        Assert.True(p.Mmap(8192, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0) > 0);
        p.Openat("/dev/test0", OpenFlags.O_RDWR);
        p.Exit();
        Assert.Equal(2, dev.Releases);
        Assert.Equal(0, live.Count());
        Assert.Empty(p.Mm.Vmas);
    }

    [Fact]
    public void FdinfoShowsFlagsInOctalWithCloexec()
    {
        var (p, _, _, _) = Boot();
        int fd = p.Openat("/dev/test0", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        var text = p.Fdinfo(fd)!;
        // A node opened under /dev lives on devtmpfs: mount 23 in the real guest (data/proc/linux-6.1-qemu-pc-fdinfo-drm.txt).
        Assert.StartsWith("pos:\t0\nflags:\t02100002\nmnt_id:\t23\nino:\t", text, StringComparison.Ordinal);
        Assert.Equal(Process.FD_CLOEXEC, p.Fcntl(fd, Process.F_GETFD));
        Assert.Equal((long)(OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE), p.Fcntl(fd, Process.F_GETFL));
        Assert.Equal(0, p.KcmpFile(fd, p.Dup(fd)));
    }
}
