using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs.Kvmfr;
using Sim.Drm;
using Sim.Drm.Uapi;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// mmap(2) at offsets and lengths near the ends of the offset space, per file type and architecture. Every
/// expected errno follows the order of checks in Linux 6.1 (the same in 6.12 for these files):
/// <list type="number">
/// <item>x86_64 <c>sys_mmap</c> (arch/x86/kernel/sys_x86_64.c): <c>if (off &amp; ~PAGE_MASK) return -EINVAL;</c>,
/// before the fd is looked up. ARM: glibc's mmap64 -&gt; mmap2 rejects (EINVAL) an unaligned offset or one
/// &gt;= 2^44 (<c>MMAP_OFF_HIGH_MASK</c>); the kernel gets a 32-bit page offset.</item>
/// <item><c>ksys_mmap_pgoff</c>: <c>fget</c> -&gt; <c>-EBADF</c>.</item>
/// <item><c>do_mmap</c>: <c>!len</c> -&gt; <c>-EINVAL</c>; <c>PAGE_ALIGN(len) == 0</c> -&gt; <c>-ENOMEM</c>;
/// <c>pgoff + (len &gt;&gt; PAGE_SHIFT) &lt; pgoff</c> (unsigned long) -&gt; <c>-EOVERFLOW</c>;
/// <c>get_unmapped_area</c>: <c>len &gt; TASK_SIZE</c> -&gt; <c>-ENOMEM</c>.</item>
/// <item><c>file_mmap_ok</c> with <c>file_mmap_size_max</c>: regular files <c>MAX_LFS_FILESIZE</c>; DRM files
/// (FMODE_UNSIGNED_OFFSET, set by drm_open_helper) 0; character devices and dma-buf's mode-less anon inodes
/// <c>ULONG_MAX</c> -&gt; <c>-EOVERFLOW</c>.</item>
/// <item>the driver's <c>.mmap</c>: kvmfr <c>device_mmap</c> (<c>offset + size &gt; kdev-&gt;size</c> -&gt;
/// <c>-EINVAL</c>), <c>dma_buf_mmap_internal</c> (<c>vm_pgoff + vma_pages &gt; size &gt;&gt; PAGE_SHIFT</c> -&gt;
/// <c>-EINVAL</c>), <c>drm_gem_mmap</c> (no node at exactly vm_pgoff in the vma offset manager -&gt; <c>-EINVAL</c>).</item>
/// </list>
/// </summary>
public class MmapBoundaryTests
{
    private const long EINVAL = -(long)Errno.EINVAL;
    private const long EOVERFLOW = -(long)Errno.EOVERFLOW;
    private const long ENOMEM = -(long)Errno.ENOMEM;
    private const long ENODEV = -(long)Errno.ENODEV;
    private const long EBADF = -(long)Errno.EBADF;
    private const uint RW = Mman.PROT_READ | Mman.PROT_WRITE;
    private const ulong Two63 = 1UL << 63;
    private const ulong Top = ulong.MaxValue - 4095; // the last page-aligned 64-bit offset, 2^64 - 4096

    private sealed class Machine : IDisposable
    {
        public Machine(string options, bool arm = false)
        {
            var o = arm ? new MachineOptions().ApplyArmBoard() : new MachineOptions();
            o.Apply(options, strict: true);
            Sp = Composition.BuildMachine(o);
            Sp.GetRequiredService<BootState>().Apply();
            _ = Sp.GetRequiredService<DrmCore>();
            P = Sp.GetRequiredService<ProcessTable>().Spawn("t");
        }

        public ServiceProvider Sp { get; }
        public Process P { get; }

        public long Map(int fd, ulong length, ulong offset) => P.Mmap(length, RW, Mman.MAP_SHARED, fd, offset);

        /// <summary>KVMFR_DMABUF_CREATE on <paramref name="dev"/>: the dma-buf fd.</summary>
        public int KvmfrBuf(int dev, ulong offset, ulong size)
        {
            var create = new kvmfr_dmabuf_create { flags = 1, offset = offset, size = size };
            long fd = P.Ioctl(dev, KvmfrUapi.KVMFR_DMABUF_CREATE, new UserArg(0x1000, create.ToBytes()));
            Assert.True(fd >= 0);
            return (int)fd;
        }

        /// <summary>A 64x64x32 dumb buffer (16 KiB): (handle, fake offset).</summary>
        public (uint Handle, ulong Offset) Dumb(int fd)
        {
            var b = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(b, 64);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 64);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 32);
            Assert.Equal(0, P.Ioctl(fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, new UserArg(0x1000, b)));
            uint handle = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16));
            var m = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(m, handle);
            Assert.Equal(0, P.Ioctl(fd, DrmH.DRM_IOCTL_MODE_MAP_DUMB, new UserArg(0x1000, m)));
            return (handle, BinaryPrimitives.ReadUInt64LittleEndian(m.AsSpan(8)));
        }

        /// <summary>PRIME_HANDLE_TO_FD (DRM_CLOEXEC | DRM_RDWR): the dma-buf fd.</summary>
        public int Export(int fd, uint handle)
        {
            var b = new byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 0x80002);
            Assert.Equal(0, P.Ioctl(fd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, new UserArg(0x1000, b)));
            return BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8));
        }

        public void Dispose()
        {
            P.Exit();
            Sp.Dispose();
        }
    }

    [Theory]
    [InlineData("kernel=6.1")]
    [InlineData("kernel=6.12")] // 6.12's do_mmap and file_mmap_size_max order the same checks for char devices
    public void Kvmfr_device_x86_64_offset_2_63_reaches_device_mmap(string kernel)
    {
        using var m = new Machine("kvmfr.static_size_mb=1 " + kernel);
        int dev = m.P.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        // The case: file_mmap_size_max is ULONG_MAX for a char device, (ULONG_MAX - 4096) >> 12 = 2^52 - 2
        // >= pgoff 2^51, so file_mmap_ok passes; device_mmap: offset 2^63 + 4096 > kdev->size (1 MiB) -> -EINVAL.
        Assert.Equal(EINVAL, m.Map(dev, 4096, Two63));
        // 2^64 - 8192 + one page ends at 2^64 - 4096 < 2^64: file_mmap_ok passes, device_mmap -> -EINVAL.
        Assert.Equal(EINVAL, m.Map(dev, 4096, Top - 4096));
        // The last page: pgoff 2^52 - 1 > 2^52 - 2 -> file_mmap_ok fails -> -EOVERFLOW (the mapping would end at 2^64).
        Assert.Equal(EOVERFLOW, m.Map(dev, 4096, Top));
        Assert.Equal(EOVERFLOW, m.Map(dev, 8192, Top - 4096));
        // An unaligned offset is sys_mmap's -EINVAL, before fget (so even for a closed fd).
        Assert.Equal(EINVAL, m.Map(dev, 4096, Two63 + 1));
        Assert.Equal(EINVAL, m.Map(99, 4096, 1));
        Assert.Equal(EBADF, m.Map(99, 4096, Two63));
        // Lengths: 0 -> -EINVAL; 2^64 - 1 page-aligns to 0 -> -ENOMEM; 2^63 > TASK_SIZE in get_unmapped_area ->
        // -ENOMEM, which comes before file_mmap_ok (-ENOMEM even at the last offset).
        Assert.Equal(EINVAL, m.Map(dev, 0, Two63));
        Assert.Equal(ENOMEM, m.Map(dev, ulong.MaxValue, 0));
        Assert.Equal(ENOMEM, m.Map(dev, Two63, Top));
        // The whole device still maps at 0.
        Assert.True(m.Map(dev, 1 << 20, 0) > 0);
    }

    [Fact]
    public void DmaBuf_file_x86_64_is_bounded_by_ulong_max_then_by_the_buffer()
    {
        using var m = new Machine("kvmfr.static_size_mb=1");
        int dev = m.P.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        int buf = m.KvmfrBuf(dev, 0, 8192);
        // dma-buf files have an anon inode without a file type (alloc_anon_inode: S_IRUSR | S_IWUSR) -> ULONG_MAX.
        // 2^63: file_mmap_ok passes; dma_buf_mmap_internal: 2^51 + 1 > 2 pages -> -EINVAL.
        Assert.Equal(EINVAL, m.Map(buf, 4096, Two63));
        Assert.Equal(EINVAL, m.Map(buf, 4096, Top - 4096));
        Assert.Equal(EOVERFLOW, m.Map(buf, 4096, Top));
        Assert.True(m.Map(buf, 8192, 0) > 0);
    }

    [Theory]
    [InlineData("kernel=6.1")]
    // 6.12 reads FOP_UNSIGNED_OFFSET from the fops instead of FMODE_UNSIGNED_OFFSET set at open; vgem's
    // DEFINE_DRM_GEM_FOPS carries it (include/drm/drm_gem.h), so the bounds are the same.
    [InlineData("kernel=6.12")]
    public void Drm_file_x86_64_may_reach_the_end_of_the_offset_space(string kernel)
    {
        using var m = new Machine("vgem " + kernel);
        int fd = m.P.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        var (_, off) = m.Dumb(fd);
        Assert.Equal(0x100000000UL, off); // DRM_FILE_PAGE_OFFSET_START on 64-bit
        // FMODE_UNSIGNED_OFFSET: maxsize 0, so file_mmap_ok only asks pgoff <= (0 - len) >> 12. The last page passes
        // it (2^52 - 1 <= 2^52 - 1) and drm_gem_mmap finds no node there -> -EINVAL; so does 2^63.
        Assert.Equal(EINVAL, m.Map(fd, 4096, Top));
        Assert.Equal(EINVAL, m.Map(fd, 4096, Two63));
        // Two pages at the last page would end past 2^64: 2^52 - 1 > 2^52 - 2 -> -EOVERFLOW.
        Assert.Equal(EOVERFLOW, m.Map(fd, 8192, Top));
        Assert.True(m.Map(fd, 16384, off) > 0);
    }

    [Fact]
    public void Regular_file_x86_64_is_bounded_by_max_lfs_filesize()
    {
        using var m = new Machine("");
        m.Sp.GetRequiredService<Vfs>().AddFile("/tmp/f", NullFileOperations.Instance);
        int fd = m.P.Openat("/tmp/f", OpenFlags.O_RDWR);
        // MAX_LFS_FILESIZE = LLONG_MAX: (2^63 - 1 - 4096) >> 12 = 2^51 - 2. 2^63 (pgoff 2^51) -> -EOVERFLOW.
        Assert.Equal(EOVERFLOW, m.Map(fd, 4096, Two63));
        Assert.Equal(EOVERFLOW, m.Map(fd, 4096, Two63 - 4096));
        // 2^63 - 8192 passes file_mmap_ok; a file without .mmap -> -ENODEV.
        Assert.Equal(ENODEV, m.Map(fd, 4096, Two63 - 8192));
    }

    [Fact]
    public void Drm_file_arm_page_offset_wraps_at_2_32()
    {
        using var m = new Machine("", arm: true);
        int fd = m.P.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        var (_, off) = m.Dumb(fd);
        Assert.Equal(0x10000000UL, off); // DRM_FILE_PAGE_OFFSET_START on 32-bit
        const ulong LastPage = 0xFFFFFFFFUL << 12; // pgoff 2^32 - 1
        // glibc's mmap64: an offset >= 2^44 does not fit mmap2's 32-bit page offset -> EINVAL.
        Assert.Equal(EINVAL, m.Map(fd, 4096, 1UL << 44));
        Assert.Equal(EINVAL, m.Map(fd, 4096, Two63));
        // pgoff 2^32 - 1 + 1 page wraps the 32-bit unsigned long -> do_mmap's "offset overflow?" -EOVERFLOW.
        Assert.Equal(EOVERFLOW, m.Map(fd, 4096, LastPage));
        // pgoff 2^32 - 2 + 1 page = 2^32 - 1, no wrap; maxsize 0 (unsigned offsets) passes; no node -> -EINVAL.
        Assert.Equal(EINVAL, m.Map(fd, 4096, LastPage - 4096));
        Assert.Equal(EOVERFLOW, m.Map(fd, 8192, LastPage - 4096));
        Assert.True(m.Map(fd, 16384, off) > 0);
    }

    [Fact]
    public void DmaBuf_file_arm_must_end_below_4_gib()
    {
        using var m = new Machine("", arm: true);
        int fd = m.P.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        var (h, _) = m.Dumb(fd);
        int buf = m.Export(fd, h);
        // ULONG_MAX is 2^32 - 1 on ARM: (2^32 - 1 - 4096) >> 12 = 0xFFFFE. pgoff 0xFFFFF (offset 4 GiB - 4 KiB)
        // -> -EOVERFLOW; so does pgoff 2^20 (offset 4 GiB), which a 32-bit vm_pgoff << PAGE_SHIFT would wrap to 0.
        Assert.Equal(EOVERFLOW, m.Map(buf, 4096, 0xFFFFF000));
        Assert.Equal(EOVERFLOW, m.Map(buf, 4096, 1UL << 32));
        // pgoff 0xFFFFE passes file_mmap_ok; dma_buf_mmap_internal: 0xFFFFE + 1 > 4 pages -> -EINVAL.
        Assert.Equal(EINVAL, m.Map(buf, 4096, 0xFFFFE000));
        Assert.True(m.Map(buf, 16384, 0) > 0);
    }

    [Fact]
    public void Kvmfr_device_arm_must_end_below_4_gib()
    {
        using var m = new Machine("kvmfr.static_size_mb=1", arm: true);
        int dev = m.P.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        // As for dma-buf files: a char device's ULONG_MAX (2^32 - 1). Without this check device_mmap's 32-bit
        // "offset = vm_pgoff << PAGE_SHIFT" would wrap 4 GiB to 0 and map the device's first page.
        Assert.Equal(EOVERFLOW, m.Map(dev, 4096, 1UL << 32));
        Assert.Equal(EOVERFLOW, m.Map(dev, 4096, 0xFFFFF000));
        Assert.Equal(EINVAL, m.Map(dev, 4096, 0xFFFFE000));
        Assert.True(m.Map(dev, 1 << 20, 0) > 0);
    }
}
