// Models mm/mmap.c (Linux 6.1: ksys_mmap_pgoff, __vm_munmap) and mm/mremap.c (mremap) for the caller's mm.
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>MREMAP_MAYMOVE (include/uapi/linux/mman.h).</summary>
    public const uint MREMAP_MAYMOVE = 1;
    /// <summary>MREMAP_FIXED.</summary>
    public const uint MREMAP_FIXED = 2;
    /// <summary>MREMAP_DONTUNMAP.</summary>
    public const uint MREMAP_DONTUNMAP = 4;

    /// <summary><c>mmap(NULL, length, prot, flags, fd, offset)</c>: the address, or a negative errno.</summary>
    [Kernel("ksys_mmap_pgoff", "mm/mmap.c")]
    public long Mmap(Process caller, ulong length, uint prot, uint flags, int fd, ulong offset) =>
        MmapAt(caller, 0, length, prot, flags, fd, offset);

    /// <summary><c>mmap(addr, length, prot, flags, fd, offset)</c>: with MAP_FIXED at <paramref name="addr"/>.</summary>
    public long MmapAt(Process caller, ulong addr, ulong length, uint prot, uint flags, int fd, ulong offset)
    {
        // The syscall entry (x86_64 sys_mmap; glibc's mmap64 -> mmap2 on 32-bit) rejects an offset it cannot
        // pass as a page offset before the fd is looked up.
        int err = caller.Mm.MmapOffsetToPgoff(offset, out ulong pgoff);
        if (err != 0)
        {
            return err;
        }
        using var syscall = Enter(caller);
        KernelFile? f = null;
        if ((flags & Mman.MAP_ANONYMOUS) == 0)
        {
            f = caller.Files.Lookup(fd);
            if (f is null)
            {
                return -(long)Errno.EBADF;
            }
            // ksys_mmap_pgoff: MAP_HUGETLB on a file that is not hugetlbfs.
            if ((flags & Mman.MAP_HUGETLB) != 0)
            {
                return -(long)Errno.EINVAL;
            }
        }
        long ret = caller.Mm.DoMmap(f, addr, length, prot, flags, pgoff, capSysRawio: caller.Euid == 0);
        if (ret >= 0 && f is not null && _check is { Enabled: true } check && caller.Mm.Find((ulong)ret) is { } vma)
        {
            vma.Origin = check.Origin();
        }
        return ret;
    }

    /// <summary><c>munmap(addr, length)</c>: 0 or <c>-EINVAL</c>.</summary>
    [Kernel("__vm_munmap", "mm/mmap.c")]
    public int Munmap(Process caller, ulong addr, ulong length)
    {
        using var syscall = Enter(caller);
        return caller.Mm.Munmap(addr, length);
    }

    /// <summary>
    /// <c>mremap(addr, old_len, new_len, flags)</c>: the argument checks (<c>-EINVAL</c>), no mapping at
    /// <paramref name="addr"/> (<c>-EFAULT</c>), shrinking (the tail is unmapped, <paramref name="addr"/> returned) and
    /// the same size (<paramref name="addr"/>) are modelled, and growing a VM_DONTEXPAND or VM_PFNMAP mapping (DRM
    /// mappings, the dma-buf heaps' and 6.12's udmabuf) gives <c>-EFAULT</c> as <c>vma_to_resize</c> does. Growing any other mapping and
    /// MREMAP_FIXED/MREMAP_DONTUNMAP moves are not modelled (<c>-ENOSYS</c>).
    /// </summary>
    [Kernel("mremap", "mm/mremap.c")]
    public long Mremap(Process caller, ulong addr, ulong oldLen, ulong newLen, uint flags)
    {
        const ulong Page = 4096;
        if ((flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) != 0 ||
            ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0) ||
            ((flags & MREMAP_DONTUNMAP) != 0 && ((flags & MREMAP_MAYMOVE) == 0 || oldLen != newLen)) ||
            (addr & (Page - 1)) != 0)
        {
            return -(long)Errno.EINVAL;
        }
        oldLen = unchecked((oldLen + Page - 1) & ~(Page - 1));
        newLen = unchecked((newLen + Page - 1) & ~(Page - 1));
        if (newLen == 0)
        {
            return -(long)Errno.EINVAL;
        }
        using var syscall = Enter(caller);
        var vma = caller.Mm.Find(addr);
        if (vma is null)
        {
            return -(long)Errno.EFAULT;
        }
        if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0)
        {
            return Enosys;
        }
        if (oldLen >= newLen)
        {
            int ret = oldLen == newLen ? 0 : caller.Mm.Munmap(addr + newLen, oldLen - newLen);
            return ret != 0 ? ret : (long)addr;
        }
        if (oldLen > vma.End - addr || (vma.Flags & (Vma.VM_DONTEXPAND | Vma.VM_PFNMAP)) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        return Enosys;
    }
}
