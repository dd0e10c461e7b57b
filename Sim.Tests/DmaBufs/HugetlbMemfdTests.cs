using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// Hugetlb memfds (mm/memfd.c memfd_create(MFD_HUGETLB), fs/hugetlbfs/inode.c, mm/hugetlb.c) as 6.12's udmabuf
/// selftest uses them, udmabuf over them (6.1: only huge pages already in the page cache; 6.12: memfd_pin_folios
/// allocates), and F_SEAL_WRITE against udmabuf's page references (memfd_wait_for_pins: 148 ms of rescans at HZ 250,
/// then -EBUSY, on both kernels). Expected values from the two sources.
/// </summary>
public sealed class HugetlbMemfdTests
{
    private const ulong Huge = 2UL << 20;

    private sealed class Machine : IDisposable
    {
        private readonly ServiceProvider _sp;

        public Machine(string options)
        {
            _sp = Composition.BuildMachine(Composition.ParseMachine(options));
            Memfd = _sp.GetRequiredService<Memfd>();
            Pool = _sp.GetRequiredService<Hugetlb>();
            _sp.GetRequiredService<Udmabuf>(); // misc_register: /dev/udmabuf
            P = _sp.GetRequiredService<ProcessTable>().Spawn("hugetlb");
        }

        public Memfd Memfd { get; }

        public Hugetlb Pool { get; }

        public Process P { get; }

        public T Get<T>() where T : notnull => _sp.GetRequiredService<T>();

        public int HugeMemfd(ulong size, uint seals = Memfd.F_SEAL_SHRINK)
        {
            int fd = Memfd.Create(P, "udmabuf-test", Memfd.MFD_ALLOW_SEALING | Memfd.MFD_HUGETLB);
            Assert.True(fd >= 0, $"memfd_create {fd}");
            Assert.Equal(0, P.Fcntl(fd, Memfd.F_ADD_SEALS, seals));
            Assert.Equal(0, Memfd.Ftruncate(P.Fget(fd)!, (long)size));
            return fd;
        }

        public long Udmabuf(int dev, int memfd, ulong offset, ulong size) =>
            P.Ioctl(dev, UdmabufUapi.UDMABUF_CREATE, new UserArg(0x1000, new udmabuf_create { memfd = (uint)memfd, offset = offset, size = size }.ToBytes()));

        public void Dispose() => _sp.Dispose();
    }

    [Theory]
    [InlineData("kernel=6.1")]
    [InlineData("kernel=6.12")]
    public void CreateSizeFlagsTruncateAndWrite(string kernel)
    {
        using var m = new Machine(kernel);
        // MFD_HUGE_* names the page size: 0 and 21 (2 MiB) are the default hstate; 30 (1 GiB) has no hstate on a
        // CPU without gbpages: hugetlb_file_setup's -ENODEV. Bits above MFD_HUGE_MASK are -EINVAL.
        Assert.Equal(-(int)Errno.ENODEV, m.Memfd.Create(m.P, "g", Memfd.MFD_HUGETLB | (30u << Memfd.MFD_HUGE_SHIFT)));
        Assert.Equal(-(int)Errno.EINVAL, m.Memfd.Create(m.P, "bad", Memfd.MFD_HUGETLB | 0x400));
        int fd = m.Memfd.Create(m.P, "h", Memfd.MFD_HUGETLB | Memfd.MFD_HUGE_2MB | Memfd.MFD_ALLOW_SEALING);
        Assert.Equal(0, fd); // the lowest free fd of a process with none open
        var f = m.P.Fget(fd)!;
        Assert.NotNull(Hugetlb.FileHugepages(f));
        Assert.Equal(0L, m.P.Fcntl(fd, Memfd.F_GET_SEALS));
        // hugetlbfs_setattr: a size that is not a multiple of 2 MiB is -EINVAL; seals apply as on tmpfs.
        Assert.Equal(-(int)Errno.EINVAL, Memfd.Ftruncate(f, 4096));
        Assert.Equal(0, Memfd.Ftruncate(f, (long)(2 * Huge)));
        Assert.Equal(0L, m.P.Fcntl(fd, Memfd.F_ADD_SEALS, Memfd.F_SEAL_SHRINK));
        Assert.Equal(-(int)Errno.EPERM, Memfd.Ftruncate(f, (long)Huge));
        Assert.Equal(0, Memfd.Ftruncate(f, (long)(3 * Huge)));
        // hugetlbfs has no write method: vfs_write's -EINVAL.
        Assert.Equal(-(long)Errno.EINVAL, m.Memfd.Pwrite(f, new byte[1], 0));
    }

    [Fact]
    public void MappingWithoutAPoolIsEnomemAsOnDebiansDefaultBoot()
    {
        using var m = new Machine("kernel=6.12");
        Assert.Equal(0, m.Pool.NrHugePages);
        int fd = m.HugeMemfd(1024 * Huge);
        // hugetlbfs_file_mmap -> hugetlb_reserve_pages -> hugetlb_acct_memory: no free huge page, -ENOMEM (the
        // selftest's "ubuf_fd mmap fail")
        Assert.Equal(-(long)Errno.ENOMEM, m.P.Mmap(1024 * Huge, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0));
    }

    [Fact]
    public void MappingReservesFaultsConsumeAndCloseGivesBack()
    {
        using var m = new Machine("kernel=6.12 hugepages=2");
        Assert.Equal(2, m.Pool.NrHugePages);
        Assert.Equal(2, m.Pool.FreeHugePages);
        int fd = m.HugeMemfd(2 * Huge);
        const uint rw = Mman.PROT_READ | Mman.PROT_WRITE;
        // vm_pgoff must be huge-page aligned
        Assert.Equal(-(long)Errno.EINVAL, m.P.Mmap(Huge, rw, Mman.MAP_SHARED, fd, 4096));
        long addr = m.P.Mmap(2 * Huge, rw, Mman.MAP_SHARED, fd, 0);
        Assert.True(addr > 0);
        Assert.Equal(0, addr % (long)Huge);
        Assert.Equal(2, m.Pool.ResvHugePages);
        // a second file finds every free page reserved: -ENOMEM
        int other = m.HugeMemfd(Huge);
        Assert.Equal(-(long)Errno.ENOMEM, m.P.Mmap(Huge, rw, Mman.MAP_SHARED, other, 0));
        // the first touch of a huge page takes it from the pool and consumes its reservation
        Assert.Equal(0, m.P.Store((ulong)addr + Huge + 5, "x"u8));
        Assert.Equal(1, m.Pool.FreeHugePages);
        Assert.Equal(1, m.Pool.ResvHugePages);
        // a length that is not a multiple of 2 MiB is rounded up (ksys_mmap_pgoff); mapping again reserves nothing new
        long again = m.P.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0);
        Assert.True(again > 0);
        Assert.Equal(1, m.Pool.ResvHugePages);
        Span<byte> b = stackalloc byte[1];
        Assert.Equal(0, m.P.Load((ulong)addr + Huge + 5, b));
        Assert.Equal((byte)'x', b[0]);
        Assert.Equal(0, m.P.Munmap((ulong)addr, 2 * Huge));
        Assert.Equal(0, m.P.Munmap((ulong)again, Huge));
        Assert.Equal(0, m.P.Close(fd));
        // the inode's eviction gives the page and the unused reservation back
        Assert.Equal(2, m.Pool.FreeHugePages);
        Assert.Equal(0, m.Pool.ResvHugePages);
    }

    [Fact]
    public void Udmabuf61TakesOnlyHugePagesAlreadyInThePageCache()
    {
        using var m = new Machine("kernel=6.1 udmabuf hugepages=1");
        int dev = m.P.Openat(Udmabuf.DevPath, OpenFlags.O_RDWR);
        int fd = m.HugeMemfd(Huge);
        // find_get_page_flags finds nothing: -EINVAL
        Assert.Equal(-(long)Errno.EINVAL, m.Udmabuf(dev, fd, 0, 4 * 4096));
        long addr = m.P.Mmap(Huge, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        Assert.Equal(0, m.P.Store((ulong)addr + 3 * 4096, "h"u8));
        long buf = m.Udmabuf(dev, fd, 4096, 4 * 4096);
        Assert.True(buf >= 0, $"UDMABUF_CREATE {buf}");
        var ubuf = (UdmabufBuf)((DmaBuf)m.P.Fget((int)buf)!.PrivateData!).Priv;
        Assert.True(Hugetlb.FileHugepages(m.P.Fget(fd)!)!.TryFindHugePage(0, out ulong head));
        // page k of the buffer is subpage (offset >> PAGE_SHIFT) + k of the huge page
        Assert.Equal([head + 1, head + 2, head + 3, head + 4], ubuf.Pages);
    }

    [Fact]
    public void Udmabuf612PinsAndAllocatesAMissingHugePage()
    {
        using var m = new Machine("kernel=6.12 hugepages=1");
        int dev = m.P.Openat(Udmabuf.DevPath, OpenFlags.O_RDWR);
        int fd = m.HugeMemfd(Huge);
        // memfd_pin_folios: end >= i_size is -EINVAL
        Assert.Equal(-(long)Errno.EINVAL, m.Udmabuf(dev, fd, Huge - 4096, 2 * 4096));
        Assert.Equal(1, m.Pool.FreeHugePages);
        long buf = m.Udmabuf(dev, fd, 0, 2 * 4096);
        Assert.True(buf >= 0, $"UDMABUF_CREATE {buf}");
        // memfd_alloc_folio took the pool's page (alloc_hugetlb_folio_reserve)
        Assert.Equal(0, m.Pool.FreeHugePages);
        Assert.Equal(0, m.P.Close((int)buf));
        Assert.Equal(0, m.P.Close(fd));
        Assert.Equal(1, m.Pool.FreeHugePages);
    }

    [Theory]
    [InlineData("kernel=6.1 udmabuf")]
    [InlineData("kernel=6.12")]
    public void SealWriteWaitsForUdmabufPinsThenIsEbusy(string machine)
    {
        using var m = new Machine(machine);
        var clock = m.Get<Ktime>();
        int dev = m.P.Openat(Udmabuf.DevPath, OpenFlags.O_RDWR);
        int fd = m.Memfd.Create(m.P, "s", Memfd.MFD_ALLOW_SEALING);
        Assert.Equal(0, Memfd.Ftruncate(m.P.Fget(fd)!, 8192));
        Assert.Equal(0L, m.P.Fcntl(fd, Memfd.F_ADD_SEALS, Memfd.F_SEAL_SHRINK));
        long buf = m.Udmabuf(dev, fd, 0, 4096);
        Assert.True(buf >= 0, $"UDMABUF_CREATE {buf}");
        long before = clock.NowNs;
        // memfd_wait_for_pins: the page udmabuf holds has a reference beyond the page cache's; four rescans sleep
        // (HZ << scan) / 200 jiffies (2 + 5 + 10 + 20 at HZ 250 = 148 ms), the pin stays: -EBUSY
        Assert.Equal(-(long)Errno.EBUSY, m.P.Fcntl(fd, Memfd.F_ADD_SEALS, Memfd.F_SEAL_WRITE));
        Assert.Equal(148_000_000L, clock.NowNs - before);
        Assert.Equal((long)Memfd.F_SEAL_SHRINK, m.P.Fcntl(fd, Memfd.F_GET_SEALS));
        // the buffer's release unpins: the seal is set at once
        Assert.Equal(0, m.P.Close((int)buf));
        before = clock.NowNs;
        Assert.Equal(0L, m.P.Fcntl(fd, Memfd.F_ADD_SEALS, Memfd.F_SEAL_WRITE));
        Assert.Equal(0L, clock.NowNs - before);
    }
}
