using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// memfd sealing (mm/memfd.c, mm/shmem.c) and udmabuf (drivers/dma-buf/udmabuf.c of 6.1): the errno of each check
/// in the kernel's order, and the buffer's pages being the memfd's pages (FsCheck: a write through the memfd is
/// read through the dma-buf mapping and the importer's sg table, and back).
/// </summary>
public sealed class UdmabufTests
{
    private sealed class Machine : IDisposable
    {
        private readonly ServiceProvider _sp;

        public Machine(string options = "udmabuf")
        {
            _sp = Composition.BuildMachine(Composition.ParseMachine(options));
            Udmabuf = _sp.GetRequiredService<Udmabuf>();
            Memfd = _sp.GetRequiredService<Memfd>();
            Pages = _sp.GetRequiredService<IPageDataAccess>();
            P = _sp.GetRequiredService<ProcessTable>().Spawn("udmabuf");
            Dev = P.Openat(Udmabuf.DevPath, OpenFlags.O_RDWR);
        }

        public Udmabuf Udmabuf { get; }

        public Memfd Memfd { get; }

        public IPageDataAccess Pages { get; }

        public Process P { get; }

        public int Dev { get; }

        public T Get<T>() where T : notnull => _sp.GetRequiredService<T>();

        /// <summary>A sealable memfd of <paramref name="size"/> bytes with <paramref name="seals"/>.</summary>
        public int SealedMemfd(long size, uint seals = Memfd.F_SEAL_SHRINK)
        {
            int fd = Memfd.Create(P, "buf", Memfd.MFD_ALLOW_SEALING);
            Assert.Equal(0, Memfd.Ftruncate(P.Fget(fd)!, size));
            Assert.Equal(0, P.Fcntl(fd, Memfd.F_ADD_SEALS, seals));
            return fd;
        }

        public long Create(int memfd, ulong offset, ulong size, uint flags = 0) =>
            P.Ioctl(Dev, UdmabufUapi.UDMABUF_CREATE, new UserArg(0x1000, new udmabuf_create { memfd = (uint)memfd, flags = flags, offset = offset, size = size }.ToBytes()));

        public void Dispose() => _sp.Dispose();
    }

    [Fact]
    public void MemfdCreateFlagsNameAndSeals()
    {
        using var m = new Machine();
        Assert.Equal(-(int)Errno.EINVAL, m.Memfd.Create(m.P, "x", 0x8));
        Assert.Equal(-(int)Errno.EINVAL, m.Memfd.Create(m.P, new string('n', 250), 0));
        int plain = m.Memfd.Create(m.P, new string('n', 249), Memfd.MFD_CLOEXEC);
        Assert.Equal(Process.FD_CLOEXEC, m.P.Fcntl(plain, Process.F_GETFD));
        // Without MFD_ALLOW_SEALING the file carries F_SEAL_SEAL: adding seals is -EPERM.
        Assert.Equal(Memfd.F_SEAL_SEAL, m.P.Fcntl(plain, Memfd.F_GET_SEALS));
        Assert.Equal(-(int)Errno.EPERM, m.P.Fcntl(plain, Memfd.F_ADD_SEALS, Memfd.F_SEAL_SHRINK));
        int s = m.Memfd.Create(m.P, "s", Memfd.MFD_ALLOW_SEALING);
        Assert.Equal(0, m.P.Fcntl(s, Memfd.F_GET_SEALS));
        Assert.Equal(-(int)Errno.EINVAL, m.P.Fcntl(s, Memfd.F_ADD_SEALS, 0x20));
        Assert.Equal(-(int)Errno.EINVAL, m.P.Fcntl(s, Memfd.F_ADD_SEALS, 1L << 32));
        Assert.Equal(0, Memfd.Ftruncate(m.P.Fget(s)!, 8192));
        Assert.Equal(0, m.P.Fcntl(s, Memfd.F_ADD_SEALS, Memfd.F_SEAL_SHRINK | Memfd.F_SEAL_GROW));
        Assert.Equal(-(int)Errno.EPERM, Memfd.Ftruncate(m.P.Fget(s)!, 4096));
        Assert.Equal(-(int)Errno.EPERM, Memfd.Ftruncate(m.P.Fget(s)!, 16384));
        Assert.Equal(0, Memfd.Ftruncate(m.P.Fget(s)!, 8192));
        Assert.Equal(-(int)Errno.EPERM, m.Memfd.Pwrite(m.P.Fget(s)!, new byte[2], 8191));
        Assert.Equal(2, m.Memfd.Pwrite(m.P.Fget(s)!, new byte[2], 8190));
        // F_GET_SEALS on a file that is not shmem: -EINVAL.
        Assert.Equal(-(int)Errno.EINVAL, m.P.Fcntl(m.Dev, Memfd.F_GET_SEALS));
        // F_SEAL_WRITE with a shared writable mapping: -EBUSY; after munmap it works and writes are -EPERM.
        long addr = m.P.Mmap(8192, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, s, 0);
        Assert.True(addr > 0);
        Assert.Equal(-(int)Errno.EBUSY, m.P.Fcntl(s, Memfd.F_ADD_SEALS, Memfd.F_SEAL_WRITE));
        Assert.Equal(0, m.P.Munmap((ulong)addr, 8192));
        Assert.Equal(0, m.P.Fcntl(s, Memfd.F_ADD_SEALS, Memfd.F_SEAL_WRITE | Memfd.F_SEAL_SEAL));
        Assert.Equal(-(int)Errno.EPERM, m.Memfd.Pwrite(m.P.Fget(s)!, new byte[1], 0));
        Assert.Equal(-(int)Errno.EPERM, m.P.Fcntl(s, Memfd.F_ADD_SEALS, Memfd.F_SEAL_GROW));
        Assert.Equal(-(long)Errno.EPERM, m.P.Mmap(4096, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, s, 0));
    }

    [Fact]
    public void DeviceExistsOnlyWithTheOption()
    {
        using var m = new Machine("");
        Assert.Equal(-(int)Errno.ENOENT, m.Dev);
    }

    [Fact]
    public void CreateErrnosInLinuxOrder()
    {
        using var m = new Machine("udmabuf udmabuf.size_limit_mb=1 udmabuf.list_limit=2");
        int good = m.SealedMemfd(1 << 20);
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(m.Dev, UdmabufUapi.UDMABUF_CREATE, new UserArg(0)));
        Assert.Equal(-(long)Errno.ENOTTY, m.P.Ioctl(m.Dev, 0x7544, new UserArg(0)));
        // Alignment and size limit are checked before the fd is looked at.
        Assert.Equal(-(long)Errno.EINVAL, m.Create(99, 1, 4096));
        Assert.Equal(-(long)Errno.EINVAL, m.Create(99, 0, 4097));
        Assert.Equal(-(long)Errno.EINVAL, m.Create(99, 0, (1 << 20) + 4096)); // 257 pages > size_limit_mb=1
        Assert.Equal(-(long)Errno.EINVAL, m.Create(99, 0, 0));
        Assert.Equal(-(long)Errno.EBADFD, m.Create(99, 0, 4096));
        Assert.Equal(-(long)Errno.EBADFD, m.Create(m.Dev, 0, 4096)); // not a shmem file
        int unsealed = m.Memfd.Create(m.P, "u", Memfd.MFD_ALLOW_SEALING);
        Memfd.Ftruncate(m.P.Fget(unsealed)!, 4096);
        Assert.Equal(-(long)Errno.EINVAL, m.Create(unsealed, 0, 4096)); // F_SEAL_SHRINK missing
        int writeSealed = m.SealedMemfd(4096, Memfd.F_SEAL_SHRINK | Memfd.F_SEAL_WRITE);
        Assert.Equal(-(long)Errno.EINVAL, m.Create(writeSealed, 0, 4096));
        int futureSealed = m.SealedMemfd(4096, Memfd.F_SEAL_SHRINK | Memfd.F_SEAL_FUTURE_WRITE);
        Assert.Equal(-(long)Errno.EINVAL, m.Create(futureSealed, 0, 4096));
        Assert.Equal(-(long)Errno.EINVAL, m.Create(good, 1 << 20, 4096)); // past the end of the memfd
        // A memfd without MFD_ALLOW_SEALING has F_SEAL_SEAL only: no F_SEAL_SHRINK, -EINVAL.
        int noSeal = m.Memfd.Create(m.P, "n", 0);
        Assert.Equal(-(long)Errno.EINVAL, m.Create(noSeal, 0, 4096));
        // CREATE_LIST: count above list_limit, then the items.
        var three = UdmabufUapi.CreateList(0, ((uint)good, 0, 4096), ((uint)good, 4096, 4096), ((uint)good, 8192, 4096));
        Assert.Equal(-(long)Errno.EINVAL, m.P.Ioctl(m.Dev, UdmabufUapi.UDMABUF_CREATE_LIST, new UserArg(0x1000, three)));
        var two = UdmabufUapi.CreateList(0, ((uint)good, 0, 4096), ((uint)good, 8192, 4096));
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(m.Dev, UdmabufUapi.UDMABUF_CREATE_LIST, new UserArg(0x1000, two[..20])));
        long fd = m.P.Ioctl(m.Dev, UdmabufUapi.UDMABUF_CREATE_LIST, new UserArg(0x1000, two));
        Assert.True(fd > 0);
        Assert.Equal(8192, m.P.Lseek((int)fd, 0, 2));
        Assert.Equal(0, m.P.Fcntl((int)fd, Process.F_GETFD));
        Assert.Equal(2, m.P.Fcntl((int)fd, Process.F_GETFL)); // O_RDWR
        long cloexec = m.Create(good, 0, 4096, UdmabufUapi.UDMABUF_FLAGS_CLOEXEC);
        Assert.Equal(Process.FD_CLOEXEC, m.P.Fcntl((int)cloexec, Process.F_GETFD));
    }

    [Fact]
    public void PagesOutliveTheMemfdUntilTheBufferIsReleased()
    {
        using var m = new Machine();
        var shmem = m.Get<Shmem>();
        int memfd = m.SealedMemfd(8192);
        m.Memfd.Pwrite(m.P.Fget(memfd)!, "hello"u8, 4096);
        long fd = m.Create(memfd, 0, 8192);
        Assert.Equal(0, m.P.Close(memfd));
        Assert.Equal(2, shmem.PagesInUse);
        long addr = m.P.Mmap(8192, Mman.PROT_READ, Mman.MAP_SHARED, (int)fd, 0);
        var b = new byte[5];
        Assert.Equal(0, m.P.Load((ulong)addr + 4096, b));
        Assert.Equal("hello"u8.ToArray(), b);
        Assert.Equal(-(long)Errno.EINVAL, m.P.Mmap(4096, Mman.PROT_READ, Mman.MAP_PRIVATE, (int)fd, 0));
        Assert.Equal(0, m.P.Munmap((ulong)addr, 8192));
        Assert.Equal(0, m.P.Close((int)fd));
        Assert.Equal(0, shmem.PagesInUse);
    }

    /// <summary>
    /// Known bug of 6.1.192 (fixed upstream by 1c0844c6184e "udmabuf: change folios array from kmalloc to kvmalloc",
    /// CVE-2024-56544): udmabuf_create allocates the page array with kmalloc_array, so more than KMALLOC_MAX_SIZE
    /// (4 MiB = 1 &lt;&lt; (MAX_ORDER 11 + PAGE_SHIFT 12 - 1)) of 8-byte pointers, i.e. more than 524288 pages (2 GiB),
    /// reaches __alloc_pages with order 11 &gt;= MAX_ORDER: WARN_ON_ONCE_GFP at mm/page_alloc.c:5634 and -ENOMEM, before
    /// any memfd page is touched. Exactly 2 GiB is order 10 and passes. 6.12's kvmalloc_array falls back to vmalloc.
    /// size_limit_mb must be raised for this (its default 64 MiB is far below).
    /// </summary>
    [Theory]
    [InlineData("kernel=6.1", false)]
    [InlineData("kernel=6.12", true)]
    public void PageArrayAboveKmallocMaxIsAWarnAndEnomemOnlyOn61(string kernel, bool fixedKernel)
    {
        using var m = new Machine(kernel + " mem=4G udmabuf udmabuf.size_limit_mb=4096");
        var printk = m.Get<Sim.Core.Kernel.Printk>();
        var taint = m.Get<Sim.Core.Kernel.Taint>();
        printk.ReadClear();
        const ulong TwoGiB = 2UL << 30;
        int memfd = m.SealedMemfd((long)(TwoGiB + 2 * 4096));
        long over = m.Create(memfd, 0, TwoGiB + 4096); // 524289 pages: a 4 MiB + 8 byte array, order 11
        var lines = printk.ReadClear();
        if (fixedKernel)
        {
            Assert.True(over >= 0, $"6.12 creates the buffer, got {over}");
            Assert.DoesNotContain(lines, l => l.Text.StartsWith("WARNING:", StringComparison.Ordinal));
            Assert.False(taint.Test(Sim.Core.Kernel.Taint.TAINT_WARN));
            Assert.Equal(0, m.P.Close((int)over));
            return;
        }
        Assert.Equal(-(long)Errno.ENOMEM, over);
        Assert.Equal("------------[ cut here ]------------", lines[0].Text);
        Assert.StartsWith("WARNING: CPU: 0 PID: ", lines[1].Text, StringComparison.Ordinal);
        Assert.Contains(" at mm/page_alloc.c:5634 __alloc_pages+", lines[1].Text, StringComparison.Ordinal);
        Assert.True(taint.Test(Sim.Core.Kernel.Taint.TAINT_WARN));
        Assert.Equal(0, m.Get<Shmem>().PagesInUse); // failed before any page was read
        // WARN_ON_ONCE: a second attempt fails the same way without a second report.
        Assert.Equal(-(long)Errno.ENOMEM, m.Create(memfd, 4096, TwoGiB + 4096));
        Assert.DoesNotContain(printk.ReadClear(), l => l.Text.StartsWith("WARNING:", StringComparison.Ordinal));
        // Exactly 2 GiB: 524288 pointers = 4 MiB, order 10, below MAX_ORDER: created.
        long exact = m.Create(memfd, 0, TwoGiB);
        Assert.True(exact >= 0, $"2 GiB fits kmalloc, got {exact}");
        Assert.Equal(0, m.P.Close((int)exact));
    }

    /// <summary>
    /// Known bug of 6.1.192 (upstream 7d79cd784470 "udmabuf: use vmf_insert_pfn and VM_PFNMAP for handling mmap",
    /// not in 6.1.y): 6.1's udmabuf_vm_fault hands out the struct page (vmf->page) of a plain shared mapping, which
    /// mremap may grow (the new part faults in the next pages of the buffer); 6.12's mmap_udmabuf sets VM_PFNMAP |
    /// VM_DONTEXPAND | VM_DONTDUMP, so growing is -EFAULT (vma_to_resize).
    /// </summary>
    [Theory]
    [InlineData("kernel=6.1", false)]
    [InlineData("kernel=6.12", true)]
    public void MappingIsPfnMapAndCannotGrowOnlyOn612(string kernel, bool pfnmap)
    {
        using var m = new Machine(kernel + " udmabuf");
        int memfd = m.SealedMemfd(2 * 4096);
        m.Memfd.Pwrite(m.P.Fget(memfd)!, "first!"u8, 0);
        long fd = m.Create(memfd, 0, 2 * 4096);
        long addr = m.P.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, (int)fd, 0);
        var vma = m.P.Mm.Find((ulong)addr)!;
        Assert.Equal(pfnmap, (vma.Flags & Vma.VM_PFNMAP) != 0);
        Assert.Equal(pfnmap, (vma.Flags & Vma.VM_DONTEXPAND) != 0);
        var b = new byte[6];
        Assert.Equal(0, m.P.Load((ulong)addr, b));
        Assert.Equal("first!"u8.ToArray(), b);
        long grown = m.P.Kernel.Mremap(m.P, (ulong)addr, 4096, 2 * 4096, Syscalls.MREMAP_MAYMOVE);
        if (pfnmap)
        {
            Assert.Equal(-(long)Errno.EFAULT, grown);
            return;
        }
        // 6.1 passes vma_to_resize's VM_DONTEXPAND | VM_PFNMAP check. Growing a plain mapping is not modelled
        // (Syscalls.Mremap: -ENOSYS); Linux grows or moves it, and the new page faults in page 1 of the buffer.
        Assert.NotEqual(-(long)Errno.EFAULT, grown);
    }

    [Property(MaxTest = 100)]
    public bool WritesThroughTheMemfdAreSeenThroughTheDmaBufAndTheImportersSgTable(byte[] data, ushort at, bool viaMapping)
    {
        using var m = new Machine();
        const int Size = 4 * 4096;
        int memfd = m.SealedMemfd(Size);
        long fd = m.Create(memfd, 0, Size);
        long addr = m.P.Mmap(Size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, (int)fd, 0);
        int off = at % Size;
        var chunk = data.AsSpan(0, Math.Min(data.Length, Size - off)).ToArray();
        // One view writes (the memfd, or the dma-buf mapping), the others read the same bytes.
        if (viaMapping)
        {
            m.P.Store((ulong)addr + (ulong)off, chunk);
        }
        else
        {
            m.Memfd.Pwrite(m.P.Fget(memfd)!, chunk, (ulong)off);
        }
        var viaBuf = new byte[chunk.Length];
        m.P.Load((ulong)addr + (ulong)off, viaBuf);
        var viaMemfd = new byte[chunk.Length];
        m.Memfd.Pread(m.P.Fget(memfd)!, viaMemfd, (ulong)off);
        // The importer: attach a device and read the bytes at the DMA addresses of its table (dma-direct: = phys).
        var buf = (DmaBuf)m.P.Fget((int)fd)!.PrivateData!;
        var (attach, err) = buf.DynamicAttach(new Device("importer") { DmaMask = ulong.MaxValue, CoherentDmaMask = ulong.MaxValue }, null, null);
        if (attach is null || err != 0)
        {
            return false;
        }
        var (sgt, mapErr) = DmaBuf.MapAttachmentUnlocked(attach, DmaDataDirection.DMA_BIDIRECTIONAL);
        if (sgt is null || mapErr != 0)
        {
            return false;
        }
        var viaSg = new byte[chunk.Length];
        int pos = 0;
        ulong bufOff = 0;
        foreach (var c in sgt.DmaSgs())
        {
            ulong dma = sgt.At(c).DmaAddress;
            ulong len = sgt.At(c).DmaLength;
            for (ulong k = 0; k < len && pos < chunk.Length; k++)
            {
                ulong o = bufOff + k;
                if (o >= (ulong)off && o < (ulong)(off + chunk.Length))
                {
                    ulong a = dma + k;
                    m.Pages.Read(a >> 12, (int)(a & 4095), viaSg.AsSpan(pos++, 1));
                }
            }
            bufOff += len;
        }
        DmaBuf.UnmapAttachmentUnlocked(attach, sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
        attach.DmaBuf!.Detach(attach);
        return viaBuf.AsSpan().SequenceEqual(chunk) && viaMemfd.AsSpan().SequenceEqual(chunk) && viaSg.AsSpan().SequenceEqual(chunk);
    }
}
