// Models struct page (include/linux/mm_types.h) and its flags (include/linux/page-flags.h), kept sparse:
// only frames whose state differs from "free, refcount 0, no flags" have an entry (mem=1T costs nothing).
namespace Sim.Core.Mm;

/// <summary>The page flags the models use (<c>PG_*</c> / page types of include/linux/page-flags.h).</summary>
[Flags]
[Kernel("enum pageflags", "include/linux/page-flags.h")]
public enum PageFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>PG_head</c>: first page of a compound allocation.</summary>
    Head = 1 << 0,
    /// <summary><c>PG_reserved</c>: never handed to the buddy allocator (memblock reservations, the swiotlb pool).</summary>
    Reserved = 1 << 1,
    /// <summary>Frame belongs to the CMA area (<c>MIGRATE_CMA</c> pageblock).</summary>
    Cma = 1 << 2,
    /// <summary>Head of a block handed out by the page allocator (the simulator's marker for <c>__free_pages</c> checks).</summary>
    Allocated = 1 << 3,
}

/// <summary>
/// The state of one frame: <c>_refcount</c>, <c>flags</c> and, for the head of an allocated block, its order
/// (the kernel keeps it in <c>page_private</c>/<c>compound_order</c>).
/// </summary>
[Kernel("struct page", "include/linux/mm_types.h")]
public struct Page
{
    /// <summary><c>page_ref_count</c>.</summary>
    public int Refcount;

    /// <summary>Flags.</summary>
    public PageFlags Flags;

    /// <summary>Order of the block this page heads.</summary>
    public byte Order;

    /// <summary>True when nothing is recorded for the frame.</summary>
    public readonly bool IsDefault => Refcount == 0 && Flags == PageFlags.None && Order == 0;
}

/// <summary>
/// The memmap (<c>vmemmap</c>/<c>mem_map</c>): <c>pfn_to_page</c> as a sparse dictionary. Frames never touched
/// have the default <see cref="Page"/> and no entry.
/// </summary>
[Kernel("mem_map", "mm/memory.c")]
public sealed class PageMap
{
    private readonly Dictionary<ulong, Page> _pages = [];

    /// <summary>The state of <paramref name="pfn"/> (<c>pfn_to_page</c>).</summary>
    public Page Get(ulong pfn) => _pages.GetValueOrDefault(pfn);

    /// <summary>Replaces the state of <paramref name="pfn"/> (an all-default state drops the entry).</summary>
    public void Set(ulong pfn, Page page)
    {
        if (page.IsDefault)
        {
            _pages.Remove(pfn);
        }
        else
        {
            _pages[pfn] = page;
        }
    }

    /// <summary><c>page_ref_count(pfn_to_page(pfn))</c>.</summary>
    public int RefCount(ulong pfn) => Get(pfn).Refcount;

    /// <summary><c>get_page</c>: one more reference.</summary>
    [Kernel("get_page", "include/linux/mm.h")]
    public void GetPage(ulong pfn)
    {
        var p = Get(pfn);
        p.Refcount++;
        Set(pfn, p);
    }

    /// <summary><c>put_page_testzero</c>: drops a reference; true when it was the last one.</summary>
    [Kernel("put_page_testzero", "include/linux/mm.h")]
    public bool PutPageTestZero(ulong pfn)
    {
        var p = Get(pfn);
        Debug.KernelBugException.On(p.Refcount <= 0, $"put_page of pfn 0x{pfn:x} with refcount {p.Refcount}");
        p.Refcount--;
        Set(pfn, p);
        return p.Refcount == 0;
    }

    /// <summary>Frames with recorded state.</summary>
    public int Count => _pages.Count;
}
