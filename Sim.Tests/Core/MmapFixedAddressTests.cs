using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// mmap with MAP_FIXED / MAP_FIXED_NOREPLACE and the MAP_SHARED_VALIDATE mask, from Linux 6.1's mm/mmap.c
/// (<c>do_mmap</c>: NOREPLACE implies FIXED, <c>find_vma_intersection</c> gives <c>-EEXIST</c>; <c>get_unmapped_area</c>:
/// <c>addr &gt; TASK_SIZE - len</c> <c>-ENOMEM</c>, then <c>offset_in_page(addr)</c> <c>-EINVAL</c>, then
/// <c>security_mmap_addr</c>), arch/x86/kernel/sys_x86_64.c (a MAP_FIXED address is returned unchecked) and
/// include/linux/mman.h (<c>LEGACY_MAP_MASK</c> has MAP_32BIT and MAP_HUGE_2MB/1GB, not MAP_FIXED_NOREPLACE).
/// Below <c>mmap_min_addr</c> (65536 in Debian's configs) <c>cap_mmap_addr</c> wants CAP_SYS_RAWIO: root maps page 0,
/// a user gets <c>-EPERM</c>.
/// </summary>
public class MmapFixedAddressTests
{
    private sealed class Dev : IFileOperations, IVmOperations
    {
        public void Release(Inode inode, KernelFile file) { }

        public int Mmap(KernelFile file, Vma vma)
        {
            vma.Ops = this;
            return 0;
        }

        public long Fault(Vma vma, ulong pgoff) => 0x1000 + (long)pgoff;
    }

    private static (Syscalls Sys, Process P) Boot()
    {
        var vfs = new Vfs(new CharDevices(), new LiveObjects());
        int major = vfs.CharDevices.RegisterChrdev(0, "test", new Dev());
        Assert.Equal(0, vfs.Mknod("/dev/test0", 0x1b6, (uint)major, 0));
        var options = new MachineOptions();
        var sys = new Syscalls(vfs, new Ktime(), options);
        var p = new ProcessTable(sys, new SparsePageData(), options).Spawn("t");
        Assert.Equal(0, sys.Openat(p, "/dev/test0", OpenFlags.O_RDWR));
        return (sys, p);
    }

    private const uint Shared = Mman.MAP_SHARED;

    [Fact]
    public void Root_maps_page_0_with_map_fixed()
    {
        var (sys, p) = Boot();
        Assert.Equal(0, sys.MmapAt(p, 0, 4096, Mman.PROT_READ, Shared | Mman.MAP_FIXED, 0, 0));
        Assert.Equal(0UL, Assert.Single(p.Mm.Vmas).Start);
        // again: MAP_FIXED replaces it; MAP_FIXED_NOREPLACE finds it there
        Assert.Equal(0, sys.MmapAt(p, 0, 8192, Mman.PROT_READ, Shared | Mman.MAP_FIXED, 0, 0));
        Assert.Equal(8192UL, Assert.Single(p.Mm.Vmas).End);
        Assert.Equal(-(long)Errno.EEXIST, sys.MmapAt(p, 4096, 4096, Mman.PROT_READ, Shared | Mman.MAP_FIXED_NOREPLACE, 0, 0));
        Assert.Equal(8192, sys.MmapAt(p, 8192, 4096, Mman.PROT_READ, Shared | Mman.MAP_FIXED_NOREPLACE, 0, 0));
        Assert.Equal(0, sys.Munmap(p, 0, 12288));
        Assert.Empty(p.Mm.Vmas);
    }

    [Theory]
    [InlineData(0UL, -(long)Errno.EPERM)]
    [InlineData(65536UL - 4096, -(long)Errno.EPERM)]
    [InlineData(65536UL, 65536L)] // mmap_min_addr itself needs no capability
    public void A_user_may_not_map_below_mmap_min_addr(ulong addr, long expected)
    {
        var (sys, p) = Boot();
        p.Euid = 1000;
        Assert.Equal(expected, sys.MmapAt(p, addr, 4096, Mman.PROT_READ, Shared | Mman.MAP_FIXED, 0, 0));
    }

    [Fact]
    public void Range_is_checked_before_alignment_and_alignment_before_the_capability()
    {
        var (sys, p) = Boot();
        const ulong TaskSize = 0x7ffffffff000UL;
        p.Euid = 1000;
        // unaligned and past TASK_SIZE: -ENOMEM first
        Assert.Equal(-(long)Errno.ENOMEM, sys.MmapAt(p, TaskSize - 4096 + 1, 8192, Mman.PROT_READ, Shared | Mman.MAP_FIXED, 0, 0));
        // unaligned below mmap_min_addr, as a user: -EINVAL before -EPERM
        Assert.Equal(-(long)Errno.EINVAL, sys.MmapAt(p, 1, 4096, Mman.PROT_READ, Shared | Mman.MAP_FIXED, 0, 0));
        // the last page below TASK_SIZE is fine
        Assert.Equal((long)(TaskSize - 4096), sys.MmapAt(p, TaskSize - 4096, 4096, Mman.PROT_READ, Shared | Mman.MAP_FIXED, 0, 0));
    }

    [Theory]
    [InlineData(Mman.MAP_32BIT, true)]
    [InlineData(Mman.MAP_HUGE_2MB, true)]
    [InlineData(Mman.MAP_HUGE_1GB, true)]
    [InlineData(Mman.MAP_FIXED_NOREPLACE, false)]
    [InlineData(0x80000u, false)] // MAP_SYNC: no modelled file has mmap_supported_flags
    public void Map_shared_validate_accepts_the_legacy_mask(uint extra, bool accepted)
    {
        var (sys, p) = Boot();
        long ret = sys.Mmap(p, 4096, Mman.PROT_READ, Mman.MAP_SHARED_VALIDATE | extra, 0, 0);
        if (accepted)
        {
            Assert.True(ret > 0, ret.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            Assert.Equal(-(long)Errno.EOPNOTSUPP, ret);
        }
    }
}
