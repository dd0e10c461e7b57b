// Models the part of mm/shmem.c (Linux 6.1) that GEM uses: shmem_file_setup gives an object a tmpfs file whose
// page cache holds its pages; shmem_read_mapping_page brings page k in (a new page is zero-filled); the pages live
// as long as the file (fput of the last reference truncates the page cache).
using Sim.Core.Debug;
using Sim.Core.Uapi;

namespace Sim.Core.Mm;

/// <summary>
/// The machine's shmem (tmpfs) page source: page frames come from the buddy allocator (<see cref="PageAlloc"/>)
/// and are zero-filled through <see cref="PhysicalMemory"/>; <see cref="PagesInUse"/> counts the frames that
/// shmem files hold (a leak check reads it).
/// </summary>
[Kernel("shmem", "mm/shmem.c")]
public sealed class Shmem(PageAlloc pageAlloc, PhysicalMemory memory)
{
    /// <summary>Frames held by live shmem files.</summary>
    public long PagesInUse { get; private set; }

    /// <summary>The buddy allocator.</summary>
    public PageAlloc PageAlloc { get; } = pageAlloc;

    /// <summary><c>shmem_file_setup(name, size, VM_NORESERVE)</c>: an empty file of <paramref name="size"/> bytes (no page yet).</summary>
    [Kernel("shmem_file_setup", "mm/shmem.c")]
    public ShmemFile FileSetup(ulong size) => new(this, size);

    internal int AllocZeroedPage(out ulong pfn)
    {
        int err = PageAlloc.AllocPage(Gfp.GFP_KERNEL, out pfn);
        if (err != 0)
        {
            return err;
        }
        memory.ZeroPages(pfn, 1);
        PagesInUse++;
        return 0;
    }

    internal int AdoptZeroed(ReadOnlySpan<ulong> pfns)
    {
        int err = PageAlloc.AdoptFrames(pfns);
        if (err != 0)
        {
            return err;
        }
        foreach (ulong pfn in pfns)
        {
            memory.ZeroPages(pfn, 1);
        }
        PagesInUse += pfns.Length;
        return 0;
    }

    internal void FreePage(ulong pfn)
    {
        PageAlloc.FreePage(pfn);
        PagesInUse--;
    }
}

/// <summary>
/// A shmem file (<c>obj-&gt;filp</c> of a GEM object): its page cache, page index to frame, filled on demand.
/// </summary>
[Kernel("shmem_file_setup", "mm/shmem.c")]
public sealed class ShmemFile : MemfdInode
{
    private readonly Shmem _shmem;
    private readonly Dictionary<ulong, ulong> _cache = [];

    internal ShmemFile(Shmem shmem, ulong size)
    {
        _shmem = shmem;
        Size = size;
    }

    /// <summary>
    /// Sets <c>i_size</c> (<c>shmem_setattr</c>'s <c>i_size_write</c>): a smaller size truncates the page cache past
    /// the new end (<c>shmem_truncate_range</c>), the pages going back to the allocator.
    /// </summary>
    [Kernel("shmem_truncate_range", "mm/shmem.c")]
    public void SetSize(ulong newSize)
    {
        if (newSize < Size)
        {
            ulong firstGone = (newSize + 4095) >> 12;
            foreach (var k in _cache.Keys.Where(k => k >= firstGone).ToList())
            {
                _shmem.FreePage(_cache[k]);
                _cache.Remove(k);
            }
        }
        Size = newSize;
    }

    /// <inheritdoc/>
    public override bool TryFindPage(ulong index, out ulong pfn) => _cache.TryGetValue(index, out pfn);

    /// <summary>Pages in the page cache.</summary>
    public int CachedPages => _cache.Count;

    /// <summary>
    /// <c>shmem_read_mapping_page(mapping, index)</c>: the frame of page <paramref name="index"/>, a new zero-filled
    /// one when it is not in the page cache yet. <c>-EINVAL</c> past the end, <c>-ENOMEM</c> when no frame is free.
    /// </summary>
    [Kernel("shmem_read_mapping_page_gfp", "mm/shmem.c")]
    public int ReadMappingPage(ulong index, out ulong pfn)
    {
        KernelBugException.On(Released, "shmem_read_mapping_page on a released file");
        if (index >= (Size + 4095) >> 12)
        {
            pfn = 0;
            return -(int)Errno.EINVAL;
        }
        if (_cache.TryGetValue(index, out pfn))
        {
            return 0;
        }
        int err = _shmem.AllocZeroedPage(out pfn);
        if (err != 0)
        {
            return err;
        }
        _cache[index] = pfn;
        return 0;
    }

    /// <summary>
    /// Page identity for replay: fills the (empty) page cache with exactly <paramref name="pfns"/> (page k =
    /// frame k), zero-filled, as the traced kernel's allocator placed them. All or nothing: <c>-EBUSY</c> /
    /// <c>-EINVAL</c> from the allocator, <c>-EINVAL</c> when the count does not match the size or pages exist.
    /// </summary>
    public int AdoptPages(ReadOnlySpan<ulong> pfns)
    {
        if (_cache.Count != 0 || (ulong)pfns.Length != (Size + 4095) >> 12)
        {
            return -(int)Errno.EINVAL;
        }
        int err = _shmem.AdoptZeroed(pfns);
        if (err != 0)
        {
            return err;
        }
        for (int k = 0; k < pfns.Length; k++)
        {
            _cache[(ulong)k] = pfns[k];
        }
        return 0;
    }

    /// <summary>The last <c>fput</c>: the page cache is truncated and every frame goes back to the buddy allocator (once no holder pins them).</summary>
    [Kernel("shmem_evict_inode", "mm/shmem.c")]
    public void Release()
    {
        if (Released)
        {
            return;
        }
        Released = true;
        if (Pins == 0)
        {
            FreeAll();
        }
    }

    /// <inheritdoc/>
    protected override void LastUnpinAfterRelease() => FreeAll();

    private void FreeAll()
    {
        foreach (var pfn in _cache.Values)
        {
            _shmem.FreePage(pfn);
        }
        _cache.Clear();
    }
}
