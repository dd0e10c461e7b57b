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
