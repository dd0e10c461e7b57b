using Sim.Core.Dma;
using System.Buffers.Binary;
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// dma_buf_fops as user space sees it. Expectations are the vgem-dmabuf / vgem-fence traces
/// (data/traces/linux-6.1-vgem) and drivers/dma-buf/dma-buf.c; the buffer is 16384 bytes as there.
/// </summary>
public class DmaBufFileTests
{
    private const long EINVAL = -(long)Errno.EINVAL;

    private static (TestMachine M, TestExporter Exp, DmaBuf DmaBuf, int Fd) Setup(uint flags = OpenFlags.O_RDWR)
    {
        var m = TestMachine.Create();
        var exp = new TestExporter([0x100, 0x101, 0x102, 0x103]);
        var (buf, err) = exp.Export(m.List, flags, "drm");
        Assert.Equal(0, err);
        int fd = buf!.Fd(m.Process, OpenFlags.O_CLOEXEC);
        Assert.Equal(0, fd);
        return (m, exp, buf, fd);
    }

    /// <summary>vgem-dmabuf i=6..14: only (0, SEEK_END) and (0, SEEK_SET).</summary>
    [Theory]
    [InlineData(0, 2, 16384)]
    [InlineData(0, 0, 0)]
    [InlineData(0, 1, EINVAL)]
    [InlineData(1, 0, EINVAL)]
    [InlineData(4096, 0, EINVAL)]
    [InlineData(-1, 2, EINVAL)]
    [InlineData(1, 2, EINVAL)]
    [InlineData(0, 3, EINVAL)]
    [InlineData(0, 4, EINVAL)]
    public void Llseek(long offset, int whence, long expected)
    {
        var (m, _, _, fd) = Setup();
        using var _m = m;
        Assert.Equal(expected, m.Process.Lseek(fd, offset, whence));
    }

    /// <summary>vgem-dmabuf i=16, 18, 19: fstat st_mode 0600 without type bits, st_size = size; read/write -EINVAL.</summary>
    [Fact]
    public void FstatReadWrite()
    {
        var (m, _, _, fd) = Setup();
        using var _m = m;
        var (ret, st) = m.Process.Fstat(fd);
        Assert.Equal(0, ret);
        Assert.Equal(384U, st.Mode);
        Assert.Equal(16384, st.Size);
        Assert.Equal(EINVAL, m.Process.Read(fd, new byte[16]));
        Assert.Equal(EINVAL, m.Process.Write(fd, new byte[1]));
    }

    private static long Ioctl(TestMachine m, int fd, uint cmd, byte[]? buffer) =>
        m.Process.Ioctl(fd, cmd, buffer is null ? new UserArg(0) : new UserArg(0x1000, buffer));

    private static byte[] U64(ulong v)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        return b;
    }

    /// <summary>
    /// vgem-dmabuf i=43..56: DMA_BUF_IOCTL_SYNC flag validation; the call reaches begin/end_cpu_access with READ =
    /// DMA_FROM_DEVICE, WRITE = DMA_TO_DEVICE, RW = DMA_BIDIRECTIONAL (dma_buf_ioctl).
    /// </summary>
    [Theory]
    [InlineData(1UL, 0L, "begin_cpu_access DMA_FROM_DEVICE")]
    [InlineData(5UL, 0L, "end_cpu_access DMA_FROM_DEVICE")]
    [InlineData(2UL, 0L, "begin_cpu_access DMA_TO_DEVICE")]
    [InlineData(6UL, 0L, "end_cpu_access DMA_TO_DEVICE")]
    [InlineData(3UL, 0L, "begin_cpu_access DMA_BIDIRECTIONAL")]
    [InlineData(7UL, 0L, "end_cpu_access DMA_BIDIRECTIONAL")]
    [InlineData(4UL, EINVAL, null)]
    [InlineData(0UL, EINVAL, null)]
    [InlineData(8UL, EINVAL, null)]
    [InlineData(11UL, EINVAL, null)]
    [InlineData(17UL, EINVAL, null)]
    [InlineData(4294967297UL, EINVAL, null)]
    [InlineData(ulong.MaxValue, EINVAL, null)]
    public void SyncFlags(ulong flags, long expected, string? call)
    {
        var (m, exp, _, fd) = Setup();
        using var _m = m;
        Assert.Equal(expected, Ioctl(m, fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, U64(flags)));
        Assert.Equal(call is null ? [] : [call], exp.Calls);
    }

    /// <summary>SYNC with an unreadable argument is -EFAULT; the read-only export accepts RW (vgem-dmabuf i=57).</summary>
    [Fact]
    public void SyncFaultAndReadOnly()
    {
        var (m, _, _, fd) = Setup(OpenFlags.O_RDONLY);
        using var _m = m;
        Assert.Equal(-(long)Errno.EFAULT, Ioctl(m, fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, null));
        Assert.Equal(0, Ioctl(m, fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, U64(3)));
    }

    /// <summary>vgem-dmabuf i=68..70: unknown ioctls (nr 9, a DRM ioctl, SYNC with a 4-byte size) are -ENOTTY.</summary>
    [Theory]
    [InlineData(1074291209U)]
    [InlineData(3222299827U)]
    [InlineData(1074029056U)]
    public void UnknownIoctlsAreEnotty(uint request)
    {
        var (m, _, _, fd) = Setup();
        using var _m = m;
        Assert.Equal(-(long)Errno.ENOTTY, Ioctl(m, fd, request, U64(1)));
    }

    /// <summary>The ioctl numbers are the _IOC encodings of include/uapi/linux/dma-buf.h (and the trace's requests).</summary>
    [Fact]
    public void IoctlNumbers()
    {
        Assert.Equal(DmaBufUapi.DMA_BUF_IOCTL_SYNC, Ioc.IOW('b', 0, 8));
        Assert.Equal(1074291200U, DmaBufUapi.DMA_BUF_IOCTL_SYNC);
        Assert.Equal(DmaBufUapi.DMA_BUF_SET_NAME_A, Ioc.IOW('b', 1, 4));
        Assert.Equal(DmaBufUapi.DMA_BUF_SET_NAME_B, Ioc.IOW('b', 1, 8));
        Assert.Equal(1074291201U, DmaBufUapi.DMA_BUF_SET_NAME_B);
        Assert.Equal(DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, Ioc.IOWR('b', 2, 8));
        Assert.Equal(3221774850U, DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE);
        Assert.Equal(DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE, Ioc.IOW('b', 3, 8));
        Assert.Equal(1074291203U, DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE);
    }

    private static byte[] Str(string s) => Encoding.ASCII.GetBytes(s + "\0");

    private static string FdinfoTail(TestMachine m, int fd)
    {
        var text = m.Process.Fdinfo(fd)!;
        return text[text.IndexOf("size:", StringComparison.Ordinal)..];
    }

    /// <summary>
    /// vgem-dmabuf i=59..67: DMA_BUF_SET_NAME of 9, 0 and 31 characters works (fdinfo shows it, an empty name as an
    /// empty line); 32 and 33 are -EINVAL and keep the old name; an unreadable pointer is -EFAULT.
    /// </summary>
    [Fact]
    public void SetNameLengths()
    {
        var (m, _, buf, fd) = Setup();
        using var _m = m;
        Assert.Equal("size:\t16384\ncount:\t1\nexp_name:\tdrm\n", FdinfoTail(m, fd));
        Assert.Equal(0, Ioctl(m, fd, DmaBufUapi.DMA_BUF_SET_NAME_B, Str("teach-buf")));
        Assert.Equal("size:\t16384\ncount:\t1\nexp_name:\tdrm\nname:\tteach-buf\n", FdinfoTail(m, fd));
        Assert.Equal(0, Ioctl(m, fd, DmaBufUapi.DMA_BUF_SET_NAME_B, Str("")));
        Assert.Equal("size:\t16384\ncount:\t1\nexp_name:\tdrm\nname:\t\n", FdinfoTail(m, fd));
        Assert.Equal(0, Ioctl(m, fd, DmaBufUapi.DMA_BUF_SET_NAME_A, Str("0123456789abcdef0123456789abcde")));
        Assert.Equal(EINVAL, Ioctl(m, fd, DmaBufUapi.DMA_BUF_SET_NAME_B, Str("0123456789abcdef0123456789abcdef")));
        Assert.Equal(EINVAL, Ioctl(m, fd, DmaBufUapi.DMA_BUF_SET_NAME_B, Str("0123456789abcdef0123456789abcdef0")));
        Assert.Equal("0123456789abcdef0123456789abcde", buf.Name);
        Assert.Equal(-(long)Errno.EFAULT, Ioctl(m, fd, DmaBufUapi.DMA_BUF_SET_NAME_B, null));
        Assert.Equal(-(long)Errno.EFAULT, Ioctl(m, fd, DmaBufUapi.DMA_BUF_SET_NAME_B, Encoding.ASCII.GetBytes("no-nul")));
    }

    /// <summary>
    /// vgem-dmabuf i=17: the fdinfo text (pos, flags with O_CLOEXEC from the fd table, mnt_id, ino, then size, count,
    /// exp_name); count is every reference of the file (here: the fd + two kernel references, as vgem's GEM object
    /// and PRIME cache hold), and a mapping adds one (i=20 -> i=60: 3 -> 4).
    /// </summary>
    [Fact]
    public void FdinfoTextAndMappingReference()
    {
        var (m, _, buf, fd) = Setup();
        using var _m = m;
        buf.Get();
        buf.Get();
        Assert.Equal($"pos:\t0\nflags:\t02000002\nmnt_id:\t11\nino:\t{buf.File.Inode.Ino}\nsize:\t16384\ncount:\t3\nexp_name:\tdrm\n", m.Process.Fdinfo(fd));
        long addr = m.Process.Mmap(16384, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        Assert.True(addr > 0);
        Assert.Contains("count:\t4\n", m.Process.Fdinfo(fd), StringComparison.Ordinal);
        Assert.Equal(0, m.Process.Munmap((ulong)addr, 16384));
        Assert.Contains("count:\t3\n", m.Process.Fdinfo(fd), StringComparison.Ordinal);
        buf.Put();
        buf.Put();
    }

    /// <summary>
    /// vgem-dmabuf i=20..40: mmap bounds (dma_buf_mmap_internal: pgoff + pages past the size -&gt; -EINVAL), an unaligned
    /// offset (-EINVAL), PROT_WRITE on a read-only export (-EACCES), PROT_READ on it works.
    /// </summary>
    [Theory]
    [InlineData(16384UL, 3U, 0UL, false, 0)]
    [InlineData(12288UL, 1U, 4096UL, false, 0)]
    [InlineData(20480UL, 1U, 0UL, false, -22)]
    [InlineData(4096UL, 1U, 16384UL, false, -22)]
    [InlineData(8192UL, 1U, 12288UL, false, -22)]
    [InlineData(4096UL, 1U, 100UL, false, -22)]
    [InlineData(4096UL, 3U, 0UL, true, -13)]
    [InlineData(4096UL, 1U, 0UL, true, 0)]
    public void MmapBounds(ulong length, uint prot, ulong offset, bool readOnly, int expected)
    {
        var (m, exp, _, fd) = Setup(readOnly ? OpenFlags.O_RDONLY : OpenFlags.O_RDWR);
        using var _m = m;
        long r = m.Process.Mmap(length, prot, Mman.MAP_SHARED, fd, offset);
        Assert.Equal(expected, expected == 0 ? (r > 0 ? 0 : r) : r);
        Assert.Equal(expected == 0, exp.Calls.Contains("mmap"));
    }

    /// <summary>Bytes stored through a dma-buf mapping land in the exporter's frames (the mapping faults them in).</summary>
    [Fact]
    public void StoresThroughTheMappingReachThePages()
    {
        var (m, _, _, fd) = Setup();
        using var _m = m;
        long addr = m.Process.Mmap(16384, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
        Assert.Equal(0, m.Process.Store((ulong)addr + 4096, "Hello, world!\0"u8));
        var back = new byte[5];
        m.PageData.Read(0x101, 0, back);
        Assert.Equal("Hello"u8.ToArray(), back);
    }

    /// <summary>
    /// vgem-dmabuf snapshot 0 (event 61): two buffers, newest first, with size, f_flags, f_mode (0x80005 read-only,
    /// 0x80007 read/write), count, exp_name, ino, name; totals. The trace's inode numbers 3 and 4 are this machine's 1
    /// and 2 (same equality pattern).
    /// </summary>
    [Fact]
    public void BufinfoText()
    {
        using var m = TestMachine.Create();
        var (rw, _) = new TestExporter([1, 2, 3, 4]).Export(m.List, OpenFlags.O_RDWR, "drm");
        var (ro, _) = new TestExporter([5, 6, 7, 8]).Export(m.List, OpenFlags.O_RDONLY, "drm");
        rw!.Get();
        rw.Get();
        rw.Get();
        ro!.Get();
        ro.Get();
        rw.SetName("teach-buf");
        string expected = File.ReadAllText(Path.Combine(DataDir(), "vgem-dmabuf.bufinfo.txt"));
        expected = expected[(expected.IndexOf('\n') + 1)..].Replace("drm\t00000004\t<none>", "drm\t00000002\t<none>").Replace("drm\t00000003\tteach", "drm\t00000001\tteach");
        Assert.Equal(expected, m.List.DebugShow());
    }

    /// <summary>An attached device is listed by name under its buffer.</summary>
    [Fact]
    public void BufinfoListsAttachedDevices()
    {
        using var m = TestMachine.Create();
        var (b, _) = new TestExporter([1]).Export(m.List, OpenFlags.O_RDWR, "virtio_gpu");
        var (a, _) = b!.Attach(new Device("vgem"));
        Assert.Contains("\tAttached Devices:\n\tvgem\nTotal 1 devices attached\n", m.List.DebugShow(), StringComparison.Ordinal);
        b.Detach(a);
        b.Put();
        Assert.Equal("\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n\nTotal 0 objects, 0 bytes\n", m.List.DebugShow());
    }

    internal static string DataDir()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !Directory.Exists(Path.Combine(d.FullName, "data", "traces")))
        {
            d = d.Parent;
        }
        return Path.Combine(d!.FullName, "data", "traces", "linux-6.1-vgem");
    }

    /// <summary>After the last fd, mapping and kernel reference go, nothing is left (LiveObjects) and the exporter's release ran once.</summary>
    [Fact]
    public void NothingLivesAfterTheLastReference()
    {
        var (m, exp, buf, fd) = Setup();
        using var _m = m;
        int fd2 = m.Process.Dup(fd);
        long addr = m.Process.Mmap(4096, Mman.PROT_READ, Mman.MAP_SHARED, fd, 0);
        Assert.True(addr > 0);
        Assert.Equal(0, m.Process.Close(fd));
        Assert.Equal(0, m.Process.Close(fd2));
        Assert.Equal(0, exp.Released);
        Assert.Single(m.List.Buffers);
        m.Process.Exit();
        Assert.Equal(1, exp.Released);
        Assert.True(buf.Released);
        Assert.Empty(m.List.Buffers);
        Assert.Equal(0, m.Live.Count());
        Assert.Equal(0, m.Warnings.Count);
    }
}
