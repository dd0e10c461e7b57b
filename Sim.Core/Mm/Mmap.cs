// Models the user address space of a process: struct mm_struct with do_mmap / mmap_region / do_munmap
// (mm/mmap.c, Linux 6.1) and CPU loads and stores through mappings (page faults, MAP_PRIVATE copy-on-write).
using Sim.Core.Fs;
using Sim.Core.Lib;
using Sim.Core.Uapi;

namespace Sim.Core.Mm;

/// <summary>mmap(2) constants (asm-generic/mman-common.h).</summary>
public static class Mman
{
    /// <summary>PROT_READ.</summary>
    public const uint PROT_READ = 0x1;
    /// <summary>PROT_WRITE.</summary>
    public const uint PROT_WRITE = 0x2;
    /// <summary>PROT_EXEC.</summary>
    public const uint PROT_EXEC = 0x4;
    /// <summary>MAP_SHARED.</summary>
    public const uint MAP_SHARED = 0x01;
    /// <summary>MAP_PRIVATE.</summary>
    public const uint MAP_PRIVATE = 0x02;
    /// <summary>MAP_SHARED_VALIDATE.</summary>
    public const uint MAP_SHARED_VALIDATE = 0x03;
    /// <summary>MAP_TYPE.</summary>
    public const uint MAP_TYPE = 0x0f;
    /// <summary>MAP_FIXED.</summary>
    public const uint MAP_FIXED = 0x10;
    /// <summary>MAP_ANONYMOUS.</summary>
    public const uint MAP_ANONYMOUS = 0x20;
    /// <summary>MAP_GROWSDOWN.</summary>
    public const uint MAP_GROWSDOWN = 0x0100;
    /// <summary>MAP_DENYWRITE.</summary>
    public const uint MAP_DENYWRITE = 0x0800;
    /// <summary>MAP_EXECUTABLE.</summary>
    public const uint MAP_EXECUTABLE = 0x1000;
    /// <summary>MAP_LOCKED.</summary>
    public const uint MAP_LOCKED = 0x2000;
    /// <summary>MAP_NORESERVE.</summary>
    public const uint MAP_NORESERVE = 0x4000;
    /// <summary>MAP_POPULATE.</summary>
    public const uint MAP_POPULATE = 0x8000;
    /// <summary>MAP_NONBLOCK.</summary>
    public const uint MAP_NONBLOCK = 0x10000;
    /// <summary>MAP_STACK.</summary>
    public const uint MAP_STACK = 0x20000;
    /// <summary>MAP_HUGETLB.</summary>
    public const uint MAP_HUGETLB = 0x40000;
    /// <summary>MAP_32BIT (x86 only, arch/x86/include/uapi/asm/mman.h; 0 on other architectures).</summary>
    public const uint MAP_32BIT = 0x40;
    /// <summary>MAP_FIXED_NOREPLACE.</summary>
    public const uint MAP_FIXED_NOREPLACE = 0x100000;
    /// <summary>MAP_HUGE_2MB (HUGETLB_FLAG_ENCODE_2MB: 21 &lt;&lt; MAP_HUGE_SHIFT).</summary>
    public const uint MAP_HUGE_2MB = 21u << 26;
    /// <summary>MAP_HUGE_1GB (HUGETLB_FLAG_ENCODE_1GB: 30 &lt;&lt; MAP_HUGE_SHIFT).</summary>
    public const uint MAP_HUGE_1GB = 30u << 26;

    /// <summary>
    /// <c>mmap_min_addr</c> = <c>CONFIG_DEFAULT_MMAP_MIN_ADDR</c> of Debian's kernels (65536): below it
    /// <c>security_mmap_addr</c> (<c>cap_mmap_addr</c>) wants CAP_SYS_RAWIO, <c>-EPERM</c> without it.
    /// </summary>
    public const ulong MMAP_MIN_ADDR = 65536;

    /// <summary>
    /// LEGACY_MAP_MASK (include/linux/mman.h): the flags MAP_SHARED accepts silently and MAP_SHARED_VALIDATE
    /// accepts at all (MAP_UNINITIALIZED is 0 without CONFIG_MMAP_ALLOW_UNINITIALIZED, as in Debian's kernels).
    /// MAP_32BIT is in it on x86 only (<see cref="MmStruct"/> adds it there); MAP_FIXED_NOREPLACE and MAP_SYNC are not.
    /// </summary>
    public const uint LEGACY_MAP_MASK = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE |
        MAP_EXECUTABLE | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | MAP_STACK |
        MAP_HUGETLB | MAP_HUGE_2MB | MAP_HUGE_1GB;
}

/// <summary>
/// <c>struct mm_struct</c>: the mappings of one process. Addresses are handed out top-down from a fixed base,
/// deterministically (traces never record them).
/// </summary>
[Kernel("struct mm_struct", "include/linux/mm_types.h")]
public sealed class MmStruct
{
    // sysctl_max_map_count = DEFAULT_MAX_MAP_COUNT (USHRT_MAX - MAPCOUNT_ELF_CORE_MARGIN).
    private const int SysctlMaxMapCount = 65530;
    private readonly List<Vma> _vmas = [];
    private readonly IPageDataAccess _pages;
    private readonly ulong _mmapBase;
    private readonly ulong _taskSize;
    private readonly bool _is32;

    /// <summary>Creates an empty address space.</summary>
    public MmStruct(IPageDataAccess pages, bool is32Bit)
    {
        _pages = pages;
        _is32 = is32Bit;
        _taskSize = is32Bit ? 0xbf000000UL : 0x7ffffffff000UL;
        _mmapBase = is32Bit ? 0xb6f00000UL : 0x7f0000000000UL;
    }

    /// <summary>The mappings in address order.</summary>
    public IReadOnlyList<Vma> Vmas => _vmas;

    /// <summary>
    /// The syscall entry's conversion of mmap(2)'s byte <paramref name="offset"/> into the page offset that
    /// <c>ksys_mmap_pgoff</c> receives, before the fd is looked up. x86_64 <c>sys_mmap</c>
    /// (arch/x86/kernel/sys_x86_64.c): <c>if (off &amp; ~PAGE_MASK) return -EINVAL;</c> then <c>off &gt;&gt; PAGE_SHIFT</c>,
    /// so every page-aligned 64-bit offset reaches <c>do_mmap</c>. 32-bit ARM has no byte-offset mmap for EABI
    /// programs: glibc's <c>mmap64</c> calls <c>mmap2</c> (arch/arm/kernel/entry-common.S: "off_4k (r5) is always
    /// units of 4K", straight into <c>sys_mmap_pgoff</c>) with the offset in 4 KiB units in a 32-bit register, and
    /// rejects with <c>EINVAL</c> an offset that is not page aligned or does not fit (<c>MMAP_OFF_HIGH_MASK</c>:
    /// offset &gt;= 2^44), so the kernel sees pgoff in [0, 2^32).
    /// </summary>
    [Kernel("sys_mmap", "arch/x86/kernel/sys_x86_64.c")]
    public int MmapOffsetToPgoff(ulong offset, out ulong pgoff)
    {
        pgoff = 0;
        ulong invalid = _is32 ? 0xFFFFF00000000FFFUL : Align.PAGE_SIZE - 1;
        if ((offset & invalid) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        pgoff = offset >> Align.PAGE_SHIFT;
        return 0;
    }

    /// <summary>
    /// <c>do_mmap</c> + <c>mmap_region</c>: the generic checks in the kernel's order, then <c>f_op-&gt;mmap</c>.
    /// Returns the address or a negative errno (as the syscall does). <c>unsigned long</c> arithmetic is done at
    /// the machine's width (32 bits on ARM), so the overflow checks wrap where the kernel's do:
    /// <list type="number">
    /// <item><c>if (!len) return -EINVAL;</c></item>
    /// <item><c>len = PAGE_ALIGN(len); if (!len) return -ENOMEM;</c></item>
    /// <item><c>if ((pgoff + (len &gt;&gt; PAGE_SHIFT)) &lt; pgoff) return -EOVERFLOW;</c> (unreachable on x86_64,
    /// where pgoff &lt; 2^52; on ARM pgoff + pages must stay below 2^32)</item>
    /// <item><c>mm-&gt;map_count &gt; sysctl_max_map_count</c>: <c>-ENOMEM</c></item>
    /// <item><c>get_unmapped_area</c>: <c>len &gt; TASK_SIZE</c> or no room: <c>-ENOMEM</c></item>
    /// <item>for a file: <c>file_mmap_ok</c> (<c>-EOVERFLOW</c>), then the MAP_TYPE switch (unknown flags with
    /// MAP_SHARED_VALIDATE <c>-EOPNOTSUPP</c>, PROT_WRITE on a file not open for writing <c>-EACCES</c>, a file not
    /// open for reading <c>-EACCES</c>, MAP_GROWSDOWN <c>-EINVAL</c>, another type <c>-EINVAL</c>)</item>
    /// <item><c>mmap_region</c>: <c>call_mmap</c>, the driver's <c>.mmap</c> (a file without one: <c>-ENODEV</c>).</item>
    /// </list>
    /// </summary>
    [Kernel("do_mmap", "mm/mmap.c")]
    public long DoMmap(KernelFile? file, ulong length, uint prot, uint flags, ulong pgoff) => DoMmap(file, 0, length, prot, flags, pgoff, capSysRawio: true);

    /// <summary>
    /// <c>do_mmap</c> with the caller's <paramref name="addr"/>: with MAP_FIXED the mapping goes exactly there
    /// (<c>get_unmapped_area</c>: a range past TASK_SIZE <c>-ENOMEM</c>, then an unaligned address <c>-EINVAL</c>, then
    /// <c>security_mmap_addr</c>: below <c>mmap_min_addr</c> without CAP_SYS_RAWIO (<paramref name="capSysRawio"/>,
    /// root's) <c>-EPERM</c>, so root may map page 0; MAP_FIXED_NOREPLACE over a mapping <c>-EEXIST</c>;
    /// <c>mmap_region</c> unmaps whatever was mapped there first); without it the hint is ignored, as the top-down
    /// search here does not try hints.
    /// </summary>
    public long DoMmap(KernelFile? file, ulong addr, ulong length, uint prot, uint flags, ulong pgoff, bool capSysRawio)
    {
        ulong ulongMax = _is32 ? uint.MaxValue : ulong.MaxValue;
        // size_t len and unsigned long pgoff arrive in registers of the machine's width.
        length &= ulongMax;
        pgoff &= ulongMax;
        if (length == 0)
        {
            return -(long)Errno.EINVAL;
        }
        ulong len = unchecked((length + Align.PAGE_SIZE - 1) & ~(Align.PAGE_SIZE - 1)) & ulongMax;
        if (len == 0)
        {
            return -(long)Errno.ENOMEM;
        }
        if ((unchecked(pgoff + (len >> Align.PAGE_SHIFT)) & ulongMax) < pgoff)
        {
            return -(long)Errno.EOVERFLOW;
        }
        if (_vmas.Count > SysctlMaxMapCount)
        {
            return -(long)Errno.ENOMEM;
        }
        // get_unmapped_area: "Careful about overflows.." len > TASK_SIZE, then the search.
        if (len > _taskSize)
        {
            return -(long)Errno.ENOMEM;
        }
        // do_mmap: "force arch specific MAP_FIXED handling in get_unmapped_area".
        if ((flags & Mman.MAP_FIXED_NOREPLACE) != 0)
        {
            flags |= Mman.MAP_FIXED;
        }
        bool fixedAddr = (flags & Mman.MAP_FIXED) != 0;
        if (fixedAddr)
        {
            // arch_get_unmapped_area(_topdown) returns a MAP_FIXED address unchecked; get_unmapped_area then
            // checks the range, the alignment and security_mmap_addr in this order.
            if (addr > _taskSize - len)
            {
                return -(long)Errno.ENOMEM;
            }
            if ((addr & (Align.PAGE_SIZE - 1)) != 0)
            {
                return -(long)Errno.EINVAL;
            }
            if (addr < Mman.MMAP_MIN_ADDR && !capSysRawio)
            {
                return -(long)Errno.EPERM;
            }
            // MAP_FIXED_NOREPLACE: find_vma_intersection.
            if ((flags & Mman.MAP_FIXED_NOREPLACE) != 0 && _vmas.Any(v => v.Start < addr + len && addr < v.End))
            {
                return -(long)Errno.EEXIST;
            }
        }
        else
        {
            addr = GetUnmappedArea(len);
            if (addr == 0)
            {
                return -(long)Errno.ENOMEM;
            }
        }
        ulong vmFlags = CalcVmProtBits(prot) | CalcVmFlagBits(flags) | Vma.VM_MAYREAD | Vma.VM_MAYWRITE | Vma.VM_MAYEXEC;
        if (file is not null)
        {
            if (!FileMmapOk(file, pgoff, len))
            {
                return -(long)Errno.EOVERFLOW;
            }
            switch (flags & Mman.MAP_TYPE)
            {
                case Mman.MAP_SHARED:
                case Mman.MAP_SHARED_VALIDATE:
                    // MAP_SHARED drops the non-legacy flags silently; MAP_SHARED_VALIDATE refuses them
                    // (no modelled file has mmap_supported_flags: MAP_SYNC is DAX only).
                    if ((flags & Mman.MAP_TYPE) == Mman.MAP_SHARED_VALIDATE && (flags & ~(Mman.LEGACY_MAP_MASK | (_is32 ? 0 : Mman.MAP_32BIT))) != 0)
                    {
                        return -(long)Errno.EOPNOTSUPP;
                    }
                    if ((prot & Mman.PROT_WRITE) != 0 && (file.Mode & KernelFile.FMODE_WRITE) == 0)
                    {
                        return -(long)Errno.EACCES;
                    }
                    vmFlags |= Vma.VM_SHARED | Vma.VM_MAYSHARE;
                    if ((file.Mode & KernelFile.FMODE_WRITE) == 0)
                    {
                        vmFlags &= ~(Vma.VM_MAYWRITE | Vma.VM_SHARED);
                    }
                    goto case Mman.MAP_PRIVATE;
                case Mman.MAP_PRIVATE:
                    if ((file.Mode & KernelFile.FMODE_READ) == 0)
                    {
                        return -(long)Errno.EACCES;
                    }
                    if ((vmFlags & Vma.VM_GROWSDOWN) != 0)
                    {
                        return -(long)Errno.EINVAL;
                    }
                    break;
                default:
                    return -(long)Errno.EINVAL;
            }
        }
        else
        {
            switch (flags & Mman.MAP_TYPE)
            {
                case Mman.MAP_SHARED:
                    if ((vmFlags & Vma.VM_GROWSDOWN) != 0)
                    {
                        return -(long)Errno.EINVAL;
                    }
                    break;
                case Mman.MAP_PRIVATE:
                    break;
                default:
                    return -(long)Errno.EINVAL;
            }
        }
        if (fixedAddr)
        {
            // mmap_region: "Clear old maps, set up prev and uf" (do_vmi_munmap of the range).
            Munmap(addr, len);
        }
        return MmapRegion(file, addr, len, vmFlags, pgoff);
    }

    /// <summary>
    /// <c>mmap_region</c>: a new vma at <paramref name="addr"/> with <c>vm_pgoff</c> = <paramref name="pgoff"/>;
    /// for a file, <c>vma-&gt;vm_file = get_file(file); error = call_mmap(file, vma);</c> and on error the
    /// reference goes again and nothing is mapped.
    /// </summary>
    [Kernel("mmap_region", "mm/mmap.c")]
    private long MmapRegion(KernelFile? file, ulong addr, ulong len, ulong vmFlags, ulong pgoff)
    {
        var vma = new Vma(addr, addr + len, pgoff, vmFlags & ~Vma.VM_GROWSDOWN, file);
        if (file is not null)
        {
            file.Get();
            int err = file.Ops.Mmap(file, vma);
            if (err < 0)
            {
                vma.File = null;
                file.Put();
                return err;
            }
        }
        Insert(vma);
        return (long)addr;
    }

    /// <summary>
    /// <c>file_mmap_size_max</c>: how far (in bytes) a mapping of this file may reach. Regular files, block
    /// devices and sockets: <c>MAX_LFS_FILESIZE</c> (<c>LLONG_MAX</c> on 64-bit, <c>ULONG_MAX &lt;&lt; PAGE_SHIFT</c>
    /// on 32-bit). Files with unsigned offsets (DRM nodes: 6.1's <c>drm_open_helper</c> sets
    /// <c>FMODE_UNSIGNED_OFFSET</c>; 6.12 reads <c>FOP_UNSIGNED_OFFSET</c> from the DRM fops, which every modelled
    /// driver's <c>DEFINE_DRM_GEM_FOPS</c> / <c>DEFINE_DRM_GEM_DMA_FOPS</c> carries): 0, meaning no limit but the
    /// end of the offset space. Everything else, character devices such as kvmfr and the mode-less anon inodes of
    /// dma-buf files: <c>ULONG_MAX</c> ("random drivers might want more").
    /// </summary>
    [Kernel("file_mmap_size_max", "mm/mmap.c")]
    private ulong FileMmapSizeMax(KernelFile file)
    {
        uint type = file.Inode.Mode & Inode.S_IFMT;
        if (type is Inode.S_IFREG or Inode.S_IFBLK or Inode.S_IFSOCK)
        {
            return _is32 ? (ulong)uint.MaxValue << Align.PAGE_SHIFT : long.MaxValue;
        }
        if ((file.Mode & KernelFile.FMODE_UNSIGNED_OFFSET) != 0)
        {
            return 0;
        }
        return _is32 ? uint.MaxValue : ulong.MaxValue;
    }

    /// <summary>
    /// <c>file_mmap_ok</c> (u64 arithmetic on every architecture): <c>if (maxsize &amp;&amp; len &gt; maxsize) return false;
    /// maxsize -= len; if (pgoff &gt; maxsize &gt;&gt; PAGE_SHIFT) return false;</c>. For <c>ULONG_MAX</c> the mapping must
    /// end below 2^64 (2^32 on ARM): offset 2^63 passes on x86_64 and the driver's <c>.mmap</c> decides; for 0
    /// (DRM) it may end exactly at 2^64.
    /// </summary>
    [Kernel("file_mmap_ok", "mm/mmap.c")]
    private bool FileMmapOk(KernelFile file, ulong pgoff, ulong len)
    {
        ulong maxsize = FileMmapSizeMax(file);
        if (maxsize != 0 && len > maxsize)
        {
            return false;
        }
        maxsize = unchecked(maxsize - len);
        return pgoff <= maxsize >> Align.PAGE_SHIFT;
    }

    // calc_vm_flag_bits: MAP_GROWSDOWN -> VM_GROWSDOWN (the only one of its bits a modelled path tests).
    private static ulong CalcVmFlagBits(uint flags) => (flags & Mman.MAP_GROWSDOWN) != 0 ? Vma.VM_GROWSDOWN : 0;

    private static ulong CalcVmProtBits(uint prot) =>
        ((prot & Mman.PROT_READ) != 0 ? Vma.VM_READ : 0) |
        ((prot & Mman.PROT_WRITE) != 0 ? Vma.VM_WRITE : 0) |
        ((prot & Mman.PROT_EXEC) != 0 ? Vma.VM_EXEC : 0);

    private ulong GetUnmappedArea(ulong len)
    {
        // Top-down: just below the lowest mapping (or the base), first gap that fits.
        ulong top = _mmapBase;
        for (int k = _vmas.Count - 1; k >= 0; k--)
        {
            var v = _vmas[k];
            if (v.Start >= top)
            {
                continue;
            }
            if (v.End <= top - len)
            {
                return top - len;
            }
            top = v.Start;
        }
        return top > len + 0x10000 ? top - len : 0;
    }

    private void Insert(Vma vma)
    {
        int i = 0;
        while (i < _vmas.Count && _vmas[i].Start < vma.Start)
        {
            i++;
        }
        _vmas.Insert(i, vma);
    }

    /// <summary>The mapping containing <paramref name="addr"/>, or null (<c>find_vma</c> + range check).</summary>
    public Vma? Find(ulong addr)
    {
        foreach (var v in _vmas)
        {
            if (addr >= v.Start && addr < v.End)
            {
                return v;
            }
        }
        return null;
    }

    /// <summary>
    /// <c>do_munmap</c>: removes [addr, addr+len) from every mapping it touches, splitting mappings that extend
    /// past either end (<c>.open</c> is called for a new piece, <c>.close</c> for every removed piece, and each
    /// removed piece drops its file reference). An unaligned address is <c>-EINVAL</c>; a range with nothing
    /// mapped returns 0 and changes nothing.
    /// </summary>
    [Kernel("do_munmap", "mm/mmap.c")]
    public int Munmap(ulong addr, ulong length)
    {
        if ((addr & (Align.PAGE_SIZE - 1)) != 0 || addr > _taskSize || length > _taskSize - addr)
        {
            return -(int)Errno.EINVAL;
        }
        ulong len = unchecked((length + Align.PAGE_SIZE - 1) & ~(Align.PAGE_SIZE - 1));
        if (len == 0)
        {
            return -(int)Errno.EINVAL;
        }
        ulong end = addr + len;
        var removed = new List<Vma>();
        for (int k = 0; k < _vmas.Count; k++)
        {
            var v = _vmas[k];
            if (v.End <= addr || v.Start >= end)
            {
                continue;
            }
            if (v.Start < addr)
            {
                var head = SplitAt(v, addr, keepLow: true);
                _vmas.Insert(k, head);
                k++;
            }
            if (v.End > end)
            {
                var tail = SplitAt(v, end, keepLow: false);
                _vmas.Insert(k + 1, tail);
            }
            removed.Add(v);
            _vmas.RemoveAt(k);
            k--;
        }
        foreach (var v in removed)
        {
            Remove(v);
        }
        return 0;
    }

    // __split_vma: v keeps one side, the returned new vma the other; the new one gets vm_ops->open and a file ref.
    private static Vma SplitAt(Vma v, ulong at, bool keepLow)
    {
        Vma n;
        if (keepLow)
        {
            // New vma = [v.Start, at); v becomes [at, v.End).
            n = new Vma(v.Start, at, v.PgOff, v.Flags, v.File) { Ops = v.Ops, PrivateData = v.PrivateData, Origin = v.Origin, Inherited = v.Inherited };
            v.PgOff += (at - v.Start) >> 12;
            v.Start = at;
        }
        else
        {
            n = new Vma(at, v.End, v.PgOff + ((at - v.Start) >> 12), v.Flags, v.File) { Ops = v.Ops, PrivateData = v.PrivateData, Origin = v.Origin, Inherited = v.Inherited };
            v.End = at;
        }
        if (v.CowPages is not null)
        {
            n.CowPages = [];
            foreach (var (pg, data) in v.CowPages)
            {
                if (pg >= n.PgOff && pg < n.PgOff + n.Pages)
                {
                    n.CowPages[pg] = data;
                }
            }
        }
        n.File?.Get();
        n.Ops?.Open(n);
        return n;
    }

    private static void Remove(Vma v)
    {
        v.Ops?.Close(v);
        var f = v.File;
        v.File = null;
        f?.Put();
    }

    /// <summary>
    /// <c>dup_mmap</c> (kernel/fork.c): the child's address space gets a copy of every mapping except VM_DONTCOPY
    /// ones, each with a file reference and <c>vm_ops-&gt;open</c>; private pages already copied on write are
    /// copied again (the child sees what the parent saw at fork).
    /// </summary>
    [Kernel("dup_mmap", "kernel/fork.c")]
    public void DupMmap(MmStruct child)
    {
        ArgumentNullException.ThrowIfNull(child);
        foreach (var v in _vmas)
        {
            if ((v.Flags & Vma.VM_DONTCOPY) != 0)
            {
                continue;
            }
            var n = new Vma(v.Start, v.End, v.PgOff, v.Flags, v.File) { Ops = v.Ops, PrivateData = v.PrivateData, Origin = v.Origin, Inherited = true };
            if (v.CowPages is not null)
            {
                n.CowPages = [];
                foreach (var (pg, data) in v.CowPages)
                {
                    n.CowPages[pg] = (byte[])data.Clone();
                }
            }
            n.File?.Get();
            n.Ops?.Open(n);
            child.Insert(n);
        }
    }

    /// <summary>
    /// <c>exit_mmap</c>: every mapping goes (close, then the file reference), lowest address first. The exit's
    /// leak check sees each one first (<paramref name="unmapping"/>: its scope covers what the removal releases).
    /// </summary>
    [Kernel("exit_mmap", "mm/mmap.c")]
    public void ExitMmap(Func<Vma, Debug.LeakCheck.Scope>? unmapping = null)
    {
        var all = _vmas.ToArray();
        _vmas.Clear();
        foreach (var v in all)
        {
            using var lost = unmapping is null ? default : unmapping(v);
            Remove(v);
        }
    }

    /// <summary>
    /// A CPU load of <paramref name="destination"/>.Length bytes at <paramref name="addr"/>: 0, or <c>-EFAULT</c>
    /// (SIGSEGV: unmapped or not readable) / the fault's errno (SIGBUS).
    /// </summary>
    public int Load(ulong addr, Span<byte> destination) => Access(addr, destination, default, write: false);

    /// <summary>A CPU store: 0, or <c>-EFAULT</c> (unmapped or not writable) / the fault's errno.</summary>
    public int Store(ulong addr, ReadOnlySpan<byte> source) => Access(addr, default, source, write: true);

    private int Access(ulong addr, Span<byte> dst, ReadOnlySpan<byte> src, bool write)
    {
        int total = write ? src.Length : dst.Length;
        int done = 0;
        while (done < total)
        {
            ulong a = addr + (ulong)done;
            var v = Find(a);
            if (v is null || (write ? (v.Flags & Vma.VM_WRITE) == 0 : (v.Flags & Vma.VM_READ) == 0))
            {
                return -(int)Errno.EFAULT;
            }
            int inPage = (int)(a & (Align.PAGE_SIZE - 1));
            int n = Math.Min(total - done, (int)Align.PAGE_SIZE - inPage);
            ulong pgoff = v.PgOff + ((a - v.Start) >> 12);
            if (v.CowPages is not null && v.CowPages.TryGetValue(pgoff, out var cow))
            {
                if (write)
                {
                    src.Slice(done, n).CopyTo(cow.AsSpan(inPage));
                }
                else
                {
                    cow.AsSpan(inPage, n).CopyTo(dst.Slice(done, n));
                }
                done += n;
                continue;
            }
            if (v.Ops is null)
            {
                return -(int)Errno.EFAULT;
            }
            long pfn = v.Ops.Fault(v, pgoff);
            if (pfn < 0)
            {
                return (int)pfn;
            }
            if (write && !v.Shared)
            {
                // MAP_PRIVATE write fault: copy the page, then write the copy (the file's page is untouched).
                var copy = new byte[Align.PAGE_SIZE];
                _pages.Read((ulong)pfn, 0, copy);
                v.CowPages ??= [];
                v.CowPages[pgoff] = copy;
                src.Slice(done, n).CopyTo(copy.AsSpan(inPage));
            }
            else if (write)
            {
                _pages.Write((ulong)pfn, inPage, src.Slice(done, n));
            }
            else
            {
                _pages.Read((ulong)pfn, inPage, dst.Slice(done, n));
            }
            done += n;
        }
        return 0;
    }
}
