// The seam between page-frame users (mm/vmalloc.c, the ARM DMA allocator's __dma_clear_buffer, /proc/meminfo)
// and the machine's physical memory + buddy allocator (mm/page_alloc.c), which the integrator wires in.
namespace Sim.Core.Mm;

/// <summary>
/// What vmalloc, CMA users and <c>/proc/meminfo</c> need from the page allocator and physical memory; the
/// machine's implementation is <see cref="BuddyPageFrames"/>, over <c>PageAlloc</c>/<c>PhysicalMemory</c>.
/// </summary>
public interface IPageFrames
{
    /// <summary><c>totalram_pages()</c>: pages managed by the page allocator (CMA pages included).</summary>
    ulong TotalRamPages { get; }

    /// <summary><c>NR_FREE_PAGES</c> outside every CMA area (free CMA pages are added by <c>/proc/meminfo</c>).</summary>
    ulong FreePagesOutsideCma { get; }

    /// <summary><c>alloc_page(GFP_KERNEL)</c>: any free order-0 frame, contents undefined; false when none is left.</summary>
    bool TryAllocPage(out ulong pfn);

    /// <summary><c>__free_page</c> of a frame from <see cref="TryAllocPage"/>.</summary>
    void FreePage(ulong pfn);

    /// <summary><c>memset(page_address(pfn), 0, count * PAGE_SIZE)</c> (also the <c>__GFP_ZERO</c> post-alloc hook).</summary>
    void ZeroPages(ulong pfn, ulong count);
}
