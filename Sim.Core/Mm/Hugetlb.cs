// Models the part of mm/hugetlb.c and fs/hugetlbfs/inode.c (Linux 6.1 and 6.12) that a hugetlb memfd reaches
// (memfd_create(MFD_HUGETLB), which the 6.12 udmabuf selftest uses): the default x86 hstate (2 MiB pages; a
// machine without gbpages, such as QEMU's qemu64 CPU, has no 1 GiB hstate), its pool of huge pages (kernel command
// line hugepages=N, allocated from the buddy allocator at boot, 0 by default as on Debian), the pool's reservation
// counter (hugetlb_acct_memory), and the hugetlbfs file: i_size in huge pages (hugetlbfs_setattr), the mapping's
// reservation (hugetlbfs_file_mmap -> hugetlb_reserve_pages, -ENOMEM when the pool cannot cover it), faults that
// take a pool page (hugetlb_no_page), truncation and eviction that give pages and reservations back.
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Mm;

/// <summary>
/// <c>struct hstate</c> of the default huge page size (2 MiB on x86_64): the pool, its free and reserved counts.
/// </summary>
[Kernel("struct hstate", "include/linux/hugetlb.h")]
public sealed class Hugetlb
{
    /// <summary>HPAGE_SHIFT (x86_64: PMD_SHIFT).</summary>
    public const int HPAGE_SHIFT = 21;
    /// <summary>huge_page_order(h).</summary>
    public const int Order = HPAGE_SHIFT - Sim.Core.Lib.Align.PAGE_SHIFT;
    /// <summary>huge_page_size(h).</summary>
    public const ulong HPAGE_SIZE = 1UL << HPAGE_SHIFT;
    /// <summary>pages_per_huge_page(h).</summary>
    public const ulong PagesPerHugePage = 1UL << Order;

    private readonly PageAlloc _pageAlloc;
    private readonly PhysicalMemory _memory;
    private readonly Stack<ulong> _free = new();

    /// <summary>
    /// <c>hugetlb_hstate_alloc_pages</c>: <paramref name="options"/>' hugepages=N pool pages from the buddy allocator
    /// (fewer when memory runs out, as the kernel warns and keeps what it got).
    /// </summary>
    [Kernel("hugetlb_hstate_alloc_pages", "mm/hugetlb.c")]
    public Hugetlb(PageAlloc pageAlloc, PhysicalMemory memory, Sim.Core.Boot.MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pageAlloc = pageAlloc;
        _memory = memory;
        for (int k = 0; k < options.HugePages; k++)
        {
            if (pageAlloc.AllocPages(Gfp.GFP_KERNEL, Order, out ulong pfn) != 0)
            {
                break;
            }
            _free.Push(pfn);
            NrHugePages++;
        }
        // the pool's first page on top: pages are handed out in allocation order
        var order = _free.ToArray();
        _free.Clear();
        foreach (var pfn in order)
        {
            _free.Push(pfn);
        }
    }

    /// <summary><c>nr_huge_pages</c> (HugePages_Total).</summary>
    public long NrHugePages { get; }

    /// <summary><c>free_huge_pages</c> (HugePages_Free).</summary>
    public long FreeHugePages => _free.Count;

    /// <summary>
    /// <c>resv_huge_pages</c> (HugePages_Rsvd): pages promised to mappings and not faulted yet. The kernel's counter
    /// is unsigned; 6.12.118's <c>alloc_hugetlb_folio_reserve</c> decrements it without a reservation behind it
    /// (VM_BUG_ON only), which here shows as a negative value.
    /// </summary>
    public long ResvHugePages { get; private set; }

    /// <summary>
    /// <c>hugetlb_acct_memory(h, delta)</c> without surplus pages (nr_overcommit_hugepages 0): a positive delta
    /// needs that many unreserved free pages (<c>-ENOMEM</c>); a negative one gives reservations back.
    /// </summary>
    [Kernel("hugetlb_acct_memory", "mm/hugetlb.c")]
    public int AcctMemory(long delta)
    {
        if (delta > 0 && FreeHugePages - ResvHugePages < delta)
        {
            return -(int)Errno.ENOMEM;
        }
        ResvHugePages += delta;
        return 0;
    }

    /// <summary>
    /// <c>dequeue_hugetlb_folio_vma</c>/<c>alloc_hugetlb_folio</c>: a pool page, its reservation consumed when
    /// <paramref name="reserved"/>; without one, only an unreserved free page will do (<c>-ENOSPC</c> otherwise).
    /// The page is zeroed (<c>folio_zero_user</c>).
    /// </summary>
    [Kernel("alloc_hugetlb_folio", "mm/hugetlb.c")]
    public int Alloc(bool reserved, out ulong pfn)
    {
        pfn = 0;
        if (_free.Count == 0 || (!reserved && FreeHugePages - ResvHugePages <= 0))
        {
            return -(int)Errno.ENOSPC;
        }
        pfn = _free.Pop();
        if (reserved)
        {
            ResvHugePages--;
        }
        _memory.ZeroPages(pfn, (int)PagesPerHugePage);
        return 0;
    }

    /// <summary>
    /// 6.12's <c>alloc_hugetlb_folio_reserve</c> (memfd_alloc_folio, for memfd_pin_folios): the first free page,
    /// <c>resv_huge_pages--</c> whether or not a reservation stood behind it; <c>-ENOMEM</c> when the pool is empty.
    /// </summary>
    [Kernel("alloc_hugetlb_folio_reserve", "mm/hugetlb.c")]
    public int AllocReserve(out ulong pfn)
    {
        pfn = 0;
        if (_free.Count == 0)
        {
            return -(int)Errno.ENOMEM;
        }
        pfn = _free.Pop();
        ResvHugePages--;
        _memory.ZeroPages(pfn, (int)PagesPerHugePage);
        return 0;
    }

    /// <summary><c>free_huge_folio</c>: the page goes back to the pool's free list.</summary>
    [Kernel("free_huge_folio", "mm/hugetlb.c")]
    public void Free(ulong pfn) => _free.Push(pfn);

    /// <summary>
    /// <c>hstate_sizelog(page_size_log)</c> for memfd_create's MFD_HUGE_* bits: 0 is the default hstate, 21 (2 MiB) is
    /// it too; any other size has no hstate on this machine.
    /// </summary>
    [Kernel("hstate_sizelog", "include/linux/hugetlb.h")]
    public static bool HasHstate(int pageSizeLog) => pageSizeLog is 0 or HPAGE_SHIFT;

    /// <summary><c>is_file_hugepages(file)</c>: the hugetlbfs file behind <paramref name="file"/>, or null.</summary>
    [Kernel("is_file_hugepages", "include/linux/hugetlb.h")]
    public static HugetlbFile? FileHugepages(KernelFile? file) =>
        file is not null && ReferenceEquals(file.Ops, HugetlbFops.Instance) ? (HugetlbFile)file.PrivateData! : null;

    /// <summary>
    /// <c>hugetlb_file_setup(name, 0, VM_NORESERVE, HUGETLB_ANONHUGE_INODE, page_size_log)</c>: an empty hugetlbfs
    /// file (no reservation at size 0) and its struct file, O_RDWR.
    /// </summary>
    [Kernel("hugetlb_file_setup", "fs/hugetlbfs/inode.c")]
    public KernelFile FileSetup(string name, Vfs vfs, LiveObjects live)
    {
        ArgumentNullException.ThrowIfNull(vfs);
        var h = new HugetlbFile(this) { Name = name };
        var inode = new Inode(vfs.NextIno(), Inode.S_IFREG | 0x1ff) { Private = h };
        return new KernelFile(inode, HugetlbFops.Instance, OpenFlags.O_RDWR, live, "/" + name + " (deleted)")
        {
            PrivateData = h,
        };
    }

    /// <summary>
    /// <c>hugetlbfs_file_operations</c>: mmap (<c>hugetlbfs_file_mmap</c>), llseek; no write (a write is
    /// <c>-EINVAL</c>); release evicts the inode (<c>hugetlbfs_evict_inode</c>).
    /// </summary>
    [Kernel("hugetlbfs_file_operations", "fs/hugetlbfs/inode.c")]
    internal sealed class HugetlbFops : IFileOperations
    {
        public static readonly HugetlbFops Instance = new();

        public void Release(Inode inode, KernelFile file) => ((HugetlbFile)file.PrivateData!).Release();

        public long Llseek(KernelFile file, long offset, int whence)
        {
            var h = (HugetlbFile)file.PrivateData!;
            long pos = whence switch { 0 => offset, 1 => file.Pos + offset, 2 => (long)h.Size + offset, _ => -1 };
            if (pos < 0)
            {
                return -(long)Errno.EINVAL;
            }
            file.Pos = pos;
            return pos;
        }

        /// <summary>
        /// <c>hugetlbfs_file_mmap</c>: VM_HUGETLB | VM_DONTEXPAND; a pgoff not huge-page aligned is <c>-EINVAL</c>;
        /// the mapped huge pages not reserved yet are reserved (<c>-ENOMEM</c>); a writable mapping past i_size
        /// grows the file to the mapping's end.
        /// </summary>
        [Kernel("hugetlbfs_file_mmap", "fs/hugetlbfs/inode.c")]
        public int Mmap(KernelFile file, Vma vma)
        {
            var h = (HugetlbFile)file.PrivateData!;
            vma.Flags |= Vma.VM_HUGETLB | Vma.VM_DONTEXPAND;
            if ((vma.PgOff & (PagesPerHugePage - 1)) != 0)
            {
                return -(int)Errno.EINVAL;
            }
            ulong len = vma.Length + (vma.PgOff << Sim.Core.Lib.Align.PAGE_SHIFT);
            if (len < vma.Length)
            {
                return -(int)Errno.EINVAL;
            }
            int err = h.ReservePages(vma.PgOff >> Order, len >> HPAGE_SHIFT);
            if (err != 0)
            {
                return err;
            }
            if ((vma.Flags & Vma.VM_WRITE) != 0 && h.Size < len)
            {
                h.Size = len;
                file.Inode.Size = (long)len;
            }
            vma.Ops = new HugetlbVmOps(h);
            return 0;
        }
    }

    // hugetlb_vm_ops: a fault takes the huge page of the index (hugetlb_no_page), past i_size SIGBUS.
    private sealed class HugetlbVmOps(HugetlbFile h) : IVmOperations
    {
        [Kernel("hugetlb_fault", "mm/hugetlb.c")]
        public long Fault(Vma vma, ulong pgoff)
        {
            int err = h.FaultPage(pgoff >> Order, out ulong pfn);
            return err != 0 ? -(long)Errno.EFAULT : (long)(pfn + (pgoff & (PagesPerHugePage - 1)));
        }
    }
}

/// <summary>
/// A hugetlbfs inode (<c>struct hugetlbfs_inode_info</c>) of a hugetlb memfd: i_size, seals, the page cache by huge
/// page index, the inode's reservation map (<c>resv_map</c>: which huge page indexes hold a reservation).
/// </summary>
[Kernel("struct hugetlbfs_inode_info", "include/linux/hugetlb.h")]
public sealed class HugetlbFile : MemfdInode
{
    private readonly Hugetlb _hstate;
    private readonly SortedDictionary<ulong, ulong> _cache = [];
    private readonly HashSet<ulong> _reserved = [];

    internal HugetlbFile(Hugetlb hstate) => _hstate = hstate;

    /// <summary>The hstate.</summary>
    public Hugetlb Hstate => _hstate;

    /// <summary>Huge pages in the page cache.</summary>
    public int CachedHugePages => _cache.Count;

    /// <summary>
    /// <c>hugetlb_reserve_pages(inode, from, to)</c> for a shared mapping: the indexes of [from, to) without a
    /// reservation or a page are charged to the pool (<c>-ENOMEM</c>, nothing reserved) and recorded.
    /// </summary>
    [Kernel("hugetlb_reserve_pages", "mm/hugetlb.c")]
    public int ReservePages(ulong from, ulong to)
    {
        var add = new List<ulong>();
        for (ulong i = from; i < to; i++)
        {
            if (!_reserved.Contains(i) && !_cache.ContainsKey(i))
            {
                add.Add(i);
            }
        }
        int err = _hstate.AcctMemory(add.Count);
        if (err != 0)
        {
            return err;
        }
        _reserved.UnionWith(add);
        return 0;
    }

    /// <summary>
    /// <c>hugetlb_no_page</c>: the page of huge index <paramref name="idx"/>, taken from the pool on first touch
    /// (its reservation consumed) and added to the page cache; past i_size <c>-EFAULT</c> (SIGBUS), an empty pool
    /// <c>-ENOSPC</c>.
    /// </summary>
    [Kernel("hugetlb_no_page", "mm/hugetlb.c")]
    public int FaultPage(ulong idx, out ulong pfn)
    {
        KernelBugException.On(Released, "hugetlb fault on a released file");
        if (_cache.TryGetValue(idx, out pfn))
        {
            return 0;
        }
        if (idx >= Size >> Hugetlb.HPAGE_SHIFT)
        {
            return -(int)Errno.EFAULT;
        }
        bool reserved = _reserved.Remove(idx);
        int err = _hstate.Alloc(reserved, out pfn);
        if (err != 0)
        {
            if (reserved)
            {
                _reserved.Add(idx);
            }
            return err;
        }
        _cache[idx] = pfn;
        return 0;
    }

    /// <summary>
    /// 6.12's <c>memfd_alloc_folio</c> for a hugetlb memfd (memfd_pin_folios of a page not in the cache):
    /// <c>alloc_hugetlb_folio_reserve</c> then <c>hugetlb_add_to_page_cache</c>.
    /// </summary>
    [Kernel("memfd_alloc_folio", "mm/memfd.c")]
    public int AllocForPin(ulong idx, out ulong pfn)
    {
        if (_cache.TryGetValue(idx, out pfn))
        {
            return 0;
        }
        int err = _hstate.AllocReserve(out pfn);
        if (err != 0)
        {
            return err;
        }
        _reserved.Remove(idx);
        _cache[idx] = pfn;
        return 0;
    }

    /// <summary><c>find_get_page</c> on the huge page of index <paramref name="idx"/>: its first frame if cached.</summary>
    public bool TryFindHugePage(ulong idx, out ulong pfn) => _cache.TryGetValue(idx, out pfn);

    /// <inheritdoc/>
    public override bool TryFindPage(ulong index, out ulong pfn)
    {
        bool found = _cache.TryGetValue(index >> Hugetlb.Order, out pfn);
        pfn += index & (Hugetlb.PagesPerHugePage - 1);
        return found;
    }

    /// <summary>
    /// <c>hugetlbfs_setattr</c>'s size change: not a multiple of the huge page size <c>-EINVAL</c>, F_SEAL_SHRINK /
    /// F_SEAL_GROW <c>-EPERM</c>; a smaller size (<c>hugetlb_vmtruncate</c>) frees the pages and reservations past it.
    /// </summary>
    [Kernel("hugetlbfs_setattr", "fs/hugetlbfs/inode.c")]
    public int Setattr(ulong newsize)
    {
        if ((newsize & (Hugetlb.HPAGE_SIZE - 1)) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        if ((newsize < Size && (Seals & Memfd.F_SEAL_SHRINK) != 0) || (newsize > Size && (Seals & Memfd.F_SEAL_GROW) != 0))
        {
            return -(int)Errno.EPERM;
        }
        if (newsize < Size)
        {
            RemoveFrom(newsize >> Hugetlb.HPAGE_SHIFT);
        }
        Size = newsize;
        return 0;
    }

    /// <summary>The last <c>fput</c> (<c>hugetlbfs_evict_inode</c>): pages back to the pool, reservations given back (once no holder pins them).</summary>
    [Kernel("hugetlbfs_evict_inode", "fs/hugetlbfs/inode.c")]
    public void Release()
    {
        if (Released)
        {
            return;
        }
        Released = true;
        if (Pins == 0)
        {
            RemoveFrom(0);
        }
    }

    /// <inheritdoc/>
    protected override void LastUnpinAfterRelease() => RemoveFrom(0);

    // remove_inode_hugepages + hugetlb_unreserve_pages from huge index start
    [Kernel("remove_inode_hugepages", "fs/hugetlbfs/inode.c")]
    private void RemoveFrom(ulong start)
    {
        foreach (var k in _cache.Keys.Where(k => k >= start).ToList())
        {
            _hstate.Free(_cache[k]);
            _cache.Remove(k);
        }
        int unreserve = _reserved.RemoveWhere(k => k >= start);
        _hstate.AcctMemory(-unreserve);
    }
}
