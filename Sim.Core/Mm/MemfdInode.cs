// What mm/memfd.c needs of the two file systems a memfd can live on (tmpfs: ShmemFile, hugetlbfs: HugetlbFile):
// i_size, the seals (memfd_file_seals_ptr), i_mmap_writable, and the page references held outside the page cache
// (udmabuf's pins), which memfd_wait_for_pins looks for before F_SEAL_WRITE.
using Sim.Core.Debug;

namespace Sim.Core.Mm;

/// <summary>The inode of a memfd-capable file: tmpfs (<see cref="ShmemFile"/>) or hugetlbfs (<see cref="HugetlbFile"/>).</summary>
[Kernel("memfd_file_seals_ptr", "mm/memfd.c")]
public abstract class MemfdInode
{
    private int _pins;

    /// <summary><c>i_size</c> in bytes.</summary>
    public ulong Size { get; protected internal set; }

    /// <summary><c>info-&gt;seals</c> (F_SEAL_*): F_SEAL_SEAL at creation (no sealing) until memfd_create's MFD_ALLOW_SEALING clears it.</summary>
    public uint Seals { get; set; } = Memfd.F_SEAL_SEAL;

    /// <summary>The file's name (<c>memfd:NAME</c> for memfds).</summary>
    public string Name { get; init; } = "";

    /// <summary><c>i_mmap_writable</c>: shared writable mappings of the file (F_SEAL_WRITE needs none).</summary>
    public int MmapWritable { get; internal set; }

    /// <summary>True once the file's last reference went.</summary>
    public bool Released { get; protected set; }

    /// <summary>Holders of the file's pages outside the page cache (<see cref="PinPages"/>).</summary>
    protected int Pins => _pins;

    /// <summary>
    /// Page references beyond the page cache's and the mappings' (<c>folio_ref_count - folio_mapcount</c> above
    /// the folio's own): udmabuf's <c>get_page</c> (6.1) or <c>FOLL_PIN</c> (6.12) on each page it holds.
    /// </summary>
    public long ExtraPageRefs { get; private set; }

    /// <summary>The frame of page <paramref name="index"/> (4 KiB units) if it is in the page cache.</summary>
    public abstract bool TryFindPage(ulong index, out ulong pfn);

    /// <summary>
    /// <c>get_page</c>/<c>try_grab_folio(FOLL_PIN)</c> by a holder outside the page cache (udmabuf) on
    /// <paramref name="pages"/> pages: until the matching <see cref="UnpinPages"/>, the frames outlive the file.
    /// </summary>
    [Kernel("get_page", "include/linux/mm.h")]
    public void PinPages(long pages = 0)
    {
        _pins++;
        ExtraPageRefs += pages;
    }

    /// <summary><c>put_page</c>/<c>unpin_folio</c> of <see cref="PinPages"/>: frees the frames when the file is gone and this was the last holder.</summary>
    [Kernel("put_page", "include/linux/mm.h")]
    public void UnpinPages(long pages = 0)
    {
        ExtraPageRefs -= pages;
        if (--_pins == 0 && Released)
        {
            LastUnpinAfterRelease();
        }
    }

    /// <summary>Adds <paramref name="pages"/> page references to a holder's pin (pages taken one by one).</summary>
    public void AddPageRefs(long pages) => ExtraPageRefs += pages;

    /// <summary>The file was released while pinned and the last pin went: free the pages now.</summary>
    protected abstract void LastUnpinAfterRelease();
}
