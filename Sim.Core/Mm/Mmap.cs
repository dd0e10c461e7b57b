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
}

/// <summary>
/// <c>struct mm_struct</c>: the mappings of one process. Addresses are handed out top-down from a fixed base,
/// deterministically (traces never record them).
/// </summary>
[Kernel("struct mm_struct", "include/linux/mm_types.h")]
public sealed class MmStruct
{
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
    /// <c>do_mmap</c> + <c>mmap_region</c> for a file mapping: the generic checks in the kernel's order, then
    /// <c>f_op-&gt;mmap</c>. Returns the address or a negative errno (as the syscall does).
    /// <paramref name="offset"/> is the byte offset of mmap(2); <c>offset_in_page</c> is <c>-EINVAL</c> first.
    /// </summary>
    [Kernel("do_mmap", "mm/mmap.c")]
    public long Mmap(KernelFile? file, ulong length, uint prot, uint flags, ulong offset)
    {
        if ((offset & (Align.PAGE_SIZE - 1)) != 0)
        {
            return -(long)Errno.EINVAL;
        }
        ulong pgoff = offset >> 12;
        if (length == 0)
        {
            return -(long)Errno.EINVAL;
        }
        ulong len = unchecked((length + Align.PAGE_SIZE - 1) & ~(Align.PAGE_SIZE - 1));
        if (len == 0)
        {
            return -(long)Errno.ENOMEM;
        }
        if (unchecked(pgoff + (len >> 12)) < pgoff)
        {
            return -(long)Errno.EOVERFLOW;
        }
        if (len > _taskSize)
        {
            return -(long)Errno.ENOMEM;
        }
        ulong vmFlags = CalcVmProtBits(prot) | Vma.VM_MAYREAD | Vma.VM_MAYWRITE | Vma.VM_MAYEXEC;
        if (file is not null)
        {
            if (!FileMmapOk(pgoff, len))
            {
                return -(long)Errno.EOVERFLOW;
            }
            switch (flags & Mman.MAP_TYPE)
            {
                case Mman.MAP_SHARED:
                case Mman.MAP_SHARED_VALIDATE:
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
                    break;
                default:
                    return -(long)Errno.EINVAL;
            }
        }
        else if ((flags & Mman.MAP_TYPE) is not (Mman.MAP_SHARED or Mman.MAP_PRIVATE))
        {
            return -(long)Errno.EINVAL;
        }
        ulong addr = GetUnmappedArea(len);
        if (addr == 0)
        {
            return -(long)Errno.ENOMEM;
        }
        var vma = new Vma(addr, addr + len, pgoff, vmFlags, file);
        if (file is not null)
        {
            // mmap_region: vma->vm_file = get_file(file); error = call_mmap(file, vma);
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

    // file_mmap_ok for a file without FMODE_UNSIGNED_OFFSET: MAX_LFS_FILESIZE bounds the mapping.
    private bool FileMmapOk(ulong pgoff, ulong len)
    {
        ulong maxsize = _is32 ? ((ulong)uint.MaxValue << 12) : long.MaxValue;
        if (len > maxsize)
        {
            return false;
        }
        maxsize -= len;
        return pgoff <= maxsize >> 12;
    }

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
            n = new Vma(v.Start, at, v.PgOff, v.Flags, v.File) { Ops = v.Ops, PrivateData = v.PrivateData };
            v.PgOff += (at - v.Start) >> 12;
            v.Start = at;
        }
        else
        {
            n = new Vma(at, v.End, v.PgOff + ((at - v.Start) >> 12), v.Flags, v.File) { Ops = v.Ops, PrivateData = v.PrivateData };
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

    /// <summary><c>exit_mmap</c>: every mapping goes (close, then the file reference), lowest address first.</summary>
    [Kernel("exit_mmap", "mm/mmap.c")]
    public void ExitMmap()
    {
        var all = _vmas.ToArray();
        _vmas.Clear();
        foreach (var v in all)
        {
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
