// The machine's IPageFrames: vmalloc pages and page zeroing come from the buddy allocator (mm/page_alloc.c)
// and physical memory; the CMA area is reserved out of the buddy allocator at boot (its pages belong to cma.c).
using Sim.Core.Boot;
using Sim.Core.Dma;

namespace Sim.Core.Mm;

/// <summary>
/// <see cref="IPageFrames"/> over <see cref="PageAlloc"/> and <see cref="PhysicalMemory"/>. The CMA range is
/// taken out of the buddy allocator (<c>PageAlloc.Reserve</c>), so free CMA pages are counted once, by
/// <c>cma.c</c>; so are the pages the kernel kept at boot (at the start of RAM). <see cref="TotalRamPages"/> is
/// the captured machines' figure, RAM pages minus what their kernels kept at boot: 5721 pages on the ARM board
/// (MemTotal 501404 kB of 512 MiB), 130 on the x86_64 1 GiB guest (totalram 262014 pages, as the kvmfr section of
/// the traces README states).
/// </summary>
public sealed class BuddyPageFrames : IPageFrames
{
    private readonly PageAlloc _alloc;
    private readonly PhysicalMemory _memory;

    /// <summary>Creates the adapter and reserves the CMA range of <paramref name="options"/> from the buddy allocator.</summary>
    public BuddyPageFrames(PageAlloc alloc, PhysicalMemory memory, MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(alloc);
        ArgumentNullException.ThrowIfNull(options);
        _alloc = alloc;
        _memory = memory;
        ulong ramPages = options.RamBytes >> Lib.Align.PAGE_SHIFT;
        ulong kept = options.Is32Bit ? 5721UL : 130UL;
        TotalRamPages = ramPages > kept ? ramPages - kept : ramPages;
        // What the kernel keeps at boot (image, memmap, reserved ranges) never reaches the buddy allocator.
        _alloc.Reserve(options.RamBase >> Lib.Align.PAGE_SHIFT, Math.Min(kept, ramPages));
        if (DmaContiguous.TryReserve(options, out ulong cmaBase, out ulong cmaCount) == 0)
        {
            _alloc.Reserve(cmaBase, cmaCount);
        }
    }

    /// <inheritdoc/>
    public ulong TotalRamPages { get; }

    /// <inheritdoc/>
    public ulong FreePagesOutsideCma => (ulong)Math.Max(0, _alloc.FreePages);

    /// <inheritdoc/>
    public bool TryAllocPage(out ulong pfn) => _alloc.AllocPage(Gfp.GFP_KERNEL, out pfn) == 0;

    /// <inheritdoc/>
    public void FreePage(ulong pfn) => _alloc.FreePage(pfn);

    /// <inheritdoc/>
    public void ZeroPages(ulong pfn, ulong count) => _memory.ZeroPages(pfn, count);
}
