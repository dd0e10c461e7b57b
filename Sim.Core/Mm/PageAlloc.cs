// Models mm/page_alloc.c (Linux 6.1): the buddy allocator (alloc_pages / __free_pages, expand / __free_one_page),
// alloc_contig_range-style "these exact frames" allocation, memblock-style reservations and the meminfo counters.
using System.Numerics;
using Sim.Core.Boot;
using Sim.Core.Lib;
using Sim.Core.Uapi;

namespace Sim.Core.Mm;

/// <summary>The <c>/proc/meminfo</c> lines the models report, in KiB.</summary>
public readonly record struct BuddyMeminfo(ulong MemTotal, ulong MemFree, ulong CmaTotal, ulong CmaFree);

/// <summary>
/// The buddy allocator of one zone covering all of RAM. Free blocks of order &lt; <see cref="MAX_ORDER"/>−1 sit
/// in per-order sorted sets; blocks of the top order in a bitmap (1 bit per 4 MiB: 32 KiB of host memory
/// for 1 TiB). Allocation takes the lowest suitable block of the smallest sufficient order and splits it
/// (<c>expand</c>: the low half is kept, high halves go back); freeing merges with free buddies
/// (<c>__free_one_page</c>). <see cref="AllocExact"/> / <see cref="AdoptFrames"/> let the replayer hand out
/// exactly the frames a trace recorded. Errors are values: <c>-ENOMEM</c>, <c>-EBUSY</c>, <c>-EINVAL</c>.
/// </summary>
[Kernel("struct zone / buddy allocator", "mm/page_alloc.c")]
public sealed class PageAlloc
{
    /// <summary><c>MAX_ORDER</c> of 6.1 (orders 0 .. 10, 4 MiB blocks).</summary>
    public const int MAX_ORDER = 11;

    private const int TopOrder = MAX_ORDER - 1;

    private readonly SortedSet<ulong>[] _free = new SortedSet<ulong>[TopOrder];
    private readonly ulong[] _topBitmap;
    private readonly ulong _topBase;
    private int _topHint;
    private readonly PhysicalMemory _memory;
    private readonly PageMap _pages;

    // x86_64 zones (pfn bounds): ZONE_DMA below 16 MiB, ZONE_DMA32 below 4 GiB, ZONE_NORMAL above.
    private const ulong DmaZoneEndPfn = (16UL << 20) >> Align.PAGE_SHIFT;
    private const ulong Dma32ZoneEndPfn = (4UL << 30) >> Align.PAGE_SHIFT;

    // True on x86_64 machines: allocations walk the zonelist (NORMAL, DMA32, DMA) instead of one zone.
    private bool _x86Zones;

    // Frames the modelled boot holds (kernel image, memblock's top-down boot allocations): [start, end) ranges a
    // replayed capture whose boot left them free may still adopt.
    private readonly List<(ulong Start, ulong End)> _bootHeld = [];

    private static readonly Debug.FaultSite s_failPageAlloc = Debug.FaultSite.Register("alloc_pages:fail_page_alloc", Debug.FaultKind.Page);

    /// <summary>Builds the allocator over all of <paramref name="memory"/>, minus the swiotlb pool when the machine has one.</summary>
    public PageAlloc(PhysicalMemory memory, PageMap pages, MachineOptions options)
        : this(memory, pages)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Is32Bit && options.RamBase == 0)
        {
            MemblockFreeAllX86(options);
        }
        if (Dma.Swiotlb.PoolFor(options, memory) is { } pool)
        {
            _ = Reserve(pool.Base >> Align.PAGE_SHIFT, pool.Size >> Align.PAGE_SHIFT);
        }
    }

    /// <summary>Builds the allocator over all of <paramref name="memory"/> (every frame free).</summary>
    public PageAlloc(PhysicalMemory memory, PageMap pages)
    {
        _memory = memory;
        _pages = pages;
        for (int o = 0; o < TopOrder; o++)
        {
            _free[o] = [];
        }
        ulong start = memory.StartPfn, end = memory.EndPfn;
        _topBase = Align.Down(start, 1UL << TopOrder);
        ulong topBlocks = ((end - _topBase) >> TopOrder) + 1;
        _topBitmap = new ulong[(topBlocks + 63) / 64];
        ulong pfn = start;
        while (pfn < end)
        {
            int o = LargestBlock(pfn, end - pfn);
            InsertFree(pfn, o);
            pfn += 1UL << o;
        }
        TotalPages = (long)(end - start);
        FreePages = TotalPages;
    }

    /// <summary>
    /// The first frame a fresh boot of the captured x86 kernel handed out to user space, per DMA path: the first
    /// <c>alloc_page</c> of the 6.1 sg captures (q35, 512 MiB; data/traces/linux-6.1-sg, <c>alloc_page</c> event
    /// i=2: pfns 25646, 25647, ... with dma-direct, 25838 with swiotlb=force, 27178 with the IOMMU; their order-9
    /// block (i=1) is the first free 2 MiB block above: 26112, 26112, 27648). Below it, from the kernel's 16 MiB
    /// load address (CONFIG_PHYSICAL_START), the boot's own image and allocations hold the frames. The 6.12
    /// captures start elsewhere (38747, 26656, 24316: physical KASLR moves the image from boot to boot), which is
    /// why the replay adopts pfns instead of comparing them.
    /// </summary>
    public static ulong X86BootFirstFreePfn(DmaPath path) => path switch
    {
        DmaPath.Iommu => 27178,
        DmaPath.Swiotlb => 25838,
        _ => 25646,
    };

    /// <summary>
    /// <c>memblock_free_all</c> on an x86_64 machine: only e820 RAM outside memblock's reservations reaches the
    /// buddy lists (<see cref="E820Table.NeverFreedPfns"/>: never the first 1 MiB, e820-reserved ranges or the
    /// PCI hole). <c>__free_pages_memory</c> frees each range in ascending order in max-order chunks with
    /// <c>FPI_TO_TAIL</c> (<c>__free_pages_core</c>), so a fresh boot's free lists are in ascending pfn order and
    /// <c>__rmqueue_smallest</c> (which takes the head of a list) hands out the lowest free block of a zone: the
    /// order this model's lowest-first search keeps. The boot's own frames, from 16 MiB up to
    /// <see cref="X86BootFirstFreePfn"/> (at most a quarter of the RAM above 16 MiB), are held as allocated; a
    /// replayed capture whose boot left some of them free may still adopt them (<see cref="AllocExact"/>).
    /// </summary>
    [Kernel("memblock_free_all", "mm/memblock.c")]
    private void MemblockFreeAllX86(MachineOptions options)
    {
        _x86Zones = true;
        var e820 = E820Table.For(options);
        foreach (var (s, e) in e820.NeverFreedPfns())
        {
            _ = Reserve(s, e - s);
        }
        // memblock allocates top-down (the memmap, page tables, per-cpu areas), starting at the end of RAM. How
        // much it keeps there depends on the boot (the 512 MiB q35 captures handed out pfns up to 130803 of 131036,
        // so it kept about 1 MiB there); the model holds the partial MAX_ORDER block at the end, which a fresh boot
        // would hand out last anyway, and lets a replayed capture adopt what its boot had left free of it.
        foreach (var r in e820.Entries.Where(x => x.Type == E820Type.Ram && x.End > 0x100000))
        {
            ulong endPfn = r.End >> Align.PAGE_SHIFT;
            ulong from = Math.Max(Align.Down(endPfn, 1UL << TopOrder), r.Addr >> Align.PAGE_SHIFT);
            if (endPfn > from)
            {
                _bootHeld.Add((from, endPfn));
                _ = Reserve(from, endPfn - from);
            }
        }
        ulong lowEnd = e820.LowRamEnd >> Align.PAGE_SHIFT;
        if (lowEnd > DmaZoneEndPfn)
        {
            ulong first = Math.Min(X86BootFirstFreePfn(options.DmaPath), DmaZoneEndPfn + (lowEnd - DmaZoneEndPfn) / 4);
            _bootHeld.Add((DmaZoneEndPfn, first));
            _ = Reserve(DmaZoneEndPfn, first - DmaZoneEndPfn);
        }
    }

    /// <summary>Managed pages (<c>totalram_pages</c>): RAM minus reservations.</summary>
    public long TotalPages { get; private set; }

    /// <summary>Free pages in the buddy lists (<c>NR_FREE_PAGES</c>, without CMA frames held aside).</summary>
    public long FreePages { get; private set; }

    /// <summary>Pages of CMA areas (<c>totalcma_pages</c>): set by the CMA model through <see cref="AccountCma"/>.</summary>
    public long CmaTotalPages { get; private set; }

    /// <summary>Free pages of CMA areas (<c>NR_FREE_CMA_PAGES</c>).</summary>
    public long CmaFreePages { get; private set; }

    /// <summary>The memmap.</summary>
    public PageMap Pages => _pages;

    /// <summary>RAM.</summary>
    public PhysicalMemory Memory => _memory;

    /// <summary><c>si_meminfo</c>: MemTotal / MemFree / CmaTotal / CmaFree in KiB (CMA frames count as free when unused).</summary>
    [Kernel("si_meminfo", "mm/page_alloc.c")]
    public BuddyMeminfo Meminfo() => new(
        (ulong)TotalPages * 4,
        (ulong)(FreePages + CmaFreePages) * 4,
        (ulong)CmaTotalPages * 4,
        (ulong)CmaFreePages * 4);

    /// <summary>
    /// Hook for mm/cma.c: a CMA area took <paramref name="totalDelta"/> pages out of (or back into) the normal
    /// lists and <paramref name="freeDelta"/> of its pages became free (positive) or allocated (negative).
    /// </summary>
    public void AccountCma(long totalDelta, long freeDelta)
    {
        CmaTotalPages += totalDelta;
        CmaFreePages += freeDelta;
    }

    /// <summary>
    /// <c>alloc_pages(gfp, order)</c>: a block of 2^order frames, head refcount 1. <c>-ENOMEM</c> when no block
    /// is free (or order &gt;= MAX_ORDER, with the kernel's WARN unless __GFP_NOWARN). Zone modifiers
    /// (<c>__GFP_DMA</c>, <c>__GFP_DMA32</c>) limit the frame numbers.
    /// </summary>
    [Kernel("alloc_pages", "mm/page_alloc.c")]
    public int AllocPages(Gfp gfp, int order, out ulong pfn)
    {
        pfn = 0;
        if ((uint)order >= MAX_ORDER)
        {
            return -(int)Errno.ENOMEM;
        }
        if (s_failPageAlloc.ShouldFail())
        {
            return -(int)Errno.ENOMEM; // prepare_alloc_pages: should_fail_alloc_page
        }
        ulong limit = ZoneLimitPfn(gfp);
        if (_x86Zones)
        {
            return AllocFromZonelist(gfp, order, limit, out pfn);
        }
        for (int o = order; o <= TopOrder; o++)
        {
            if (!TryLowestFree(o, out ulong head) || head + (1UL << order) > limit)
            {
                continue;
            }
            RemoveFree(head, o);
            Expand(head, order, o);
            pfn = head;
            Prepare(head, order, gfp);
            return 0;
        }
        return -(int)Errno.ENOMEM;
    }

    // get_page_from_freelist over the x86_64 zonelist: the highest zone the gfp allows first (NORMAL, then DMA32,
    // then DMA), the lowest free block of the smallest sufficient order within a zone (__rmqueue_smallest).
    private int AllocFromZonelist(Gfp gfp, int order, ulong limit, out ulong pfn)
    {
        pfn = 0;
        Span<(ulong Lo, ulong Hi)> zones = [(Dma32ZoneEndPfn, ulong.MaxValue), (DmaZoneEndPfn, Dma32ZoneEndPfn), (0, DmaZoneEndPfn)];
        foreach (var (lo, hi) in zones)
        {
            if (lo >= limit)
            {
                continue;
            }
            for (int o = order; o <= TopOrder; o++)
            {
                if (!TryLowestFreeIn(o, lo, hi, out ulong head))
                {
                    continue;
                }
                RemoveFree(head, o);
                Expand(head, order, o);
                pfn = head;
                Prepare(head, order, gfp);
                return 0;
            }
        }
        return -(int)Errno.ENOMEM;
    }

    /// <summary><c>alloc_page(gfp)</c>.</summary>
    [Kernel("alloc_page", "include/linux/gfp.h")]
    public int AllocPage(Gfp gfp, out ulong pfn) => AllocPages(gfp, 0, out pfn);

    /// <summary>
    /// Page identity for replay: allocates exactly the aligned block of 2^order frames at <paramref name="pfn"/>
    /// as if <c>alloc_pages</c> had returned it. <c>-EINVAL</c> for a misaligned or out-of-RAM block,
    /// <c>-EBUSY</c> when a frame of it is not free.
    /// </summary>
    public int AllocExact(ulong pfn, int order, Gfp gfp = Gfp.GFP_KERNEL)
    {
        if ((uint)order >= MAX_ORDER || (pfn & ((1UL << order) - 1)) != 0 ||
            !_memory.PfnValid(pfn) || !_memory.PfnValid(pfn + (1UL << order) - 1))
        {
            return -(int)Errno.EINVAL;
        }
        if (!TakeFree(pfn, order))
        {
            if (!HeldByBoot(pfn, order))
            {
                return -(int)Errno.EBUSY;
            }
            // The captured boot left this frame free where the modelled boot holds it: hand it over.
            FreePages += 1L << order;
        }
        Prepare(pfn, order, gfp);
        return 0;
    }

    /// <summary>
    /// Page identity for replay: allocates each frame of <paramref name="pfns"/> as a single page (as the traced
    /// <c>alloc_page</c> calls or a vgem buffer's <c>buffer_pfns</c> did). All or nothing: on failure the frames
    /// taken so far are freed again and the errno is returned.
    /// </summary>
    public int AdoptFrames(ReadOnlySpan<ulong> pfns, Gfp gfp = Gfp.GFP_KERNEL)
    {
        for (int k = 0; k < pfns.Length; k++)
        {
            int err = AllocExact(pfns[k], 0, gfp);
            if (err != 0)
            {
                for (int j = k - 1; j >= 0; j--)
                {
                    FreePagesBlock(pfns[j], 0);
                }
                return err;
            }
        }
        return 0;
    }

    /// <summary>
    /// <c>alloc_contig_range(start, end)</c>-style: takes the frames [<paramref name="startPfn"/>, +<paramref name="count"/>)
    /// out of the free lists as order-0 pages with refcount 1 (<c>-EBUSY</c> if one is not free; nothing changes then).
    /// </summary>
    [Kernel("alloc_contig_range", "mm/page_alloc.c")]
    public int AllocContigRange(ulong startPfn, ulong count)
    {
        if (count == 0 || !_memory.PfnValid(startPfn) || !_memory.PfnValid(startPfn + count - 1))
        {
            return -(int)Errno.EINVAL;
        }
        for (ulong p = startPfn; p < startPfn + count; p++)
        {
            if (!IsFrameFree(p))
            {
                return -(int)Errno.EBUSY;
            }
        }
        TakeRange(startPfn, count);
        for (ulong p = startPfn; p < startPfn + count; p++)
        {
            Prepare(p, 0, Gfp.GFP_KERNEL);
        }
        return 0;
    }

    /// <summary><c>free_contig_range(pfn, nr_pages)</c>: drops one reference of each frame, freeing those that reach zero.</summary>
    [Kernel("free_contig_range", "mm/page_alloc.c")]
    public void FreeContigRange(ulong pfn, ulong count)
    {
        for (ulong p = pfn; p < pfn + count; p++)
        {
            FreePagesBlock(p, 0);
        }
    }

    /// <summary>
    /// <c>__free_pages(page, order)</c>: drops the head's reference; the last one returns the block to the buddy
    /// lists, merging with free buddies.
    /// </summary>
    [Kernel("__free_pages", "mm/page_alloc.c")]
    public void FreePagesBlock(ulong pfn, int order)
    {
        var head = _pages.Get(pfn);
        Debug.KernelBugException.On((head.Flags & PageFlags.Allocated) == 0, $"__free_pages of pfn 0x{pfn:x} that is not allocated");
        Debug.KernelBugException.On(head.Order != order, $"__free_pages of pfn 0x{pfn:x} with order {order}, allocated with {head.Order}");
        if (!_pages.PutPageTestZero(pfn))
        {
            return;
        }
        _pages.Set(pfn, default);
        FreeOnePage(pfn, order);
        FreePages += 1L << order;
    }

    /// <summary><c>__free_page(page)</c>.</summary>
    [Kernel("__free_page", "include/linux/gfp.h")]
    public void FreePage(ulong pfn) => FreePagesBlock(pfn, 0);

    /// <summary>
    /// <c>memblock_reserve</c> before the buddy allocator owns memory: removes the free frames of the range
    /// from the lists and from <see cref="TotalPages"/> (returns how many were removed).
    /// </summary>
    [Kernel("memblock_reserve", "mm/memblock.c")]
    public long Reserve(ulong startPfn, ulong count)
    {
        ulong start = Math.Max(startPfn, _memory.StartPfn);
        ulong end = Math.Min(startPfn + count, _memory.EndPfn);
        // TakeFreeFramesOf takes every free frame of the range exactly once: its count is the frames removed
        // (counting them first frame by frame, 11 set lookups each, was a third of a replayed file's boot).
        long taken = end > start ? TakeFreeFramesOf(start, end) : 0;
        TotalPages -= taken;
        return taken;
    }

    /// <summary>True when frame <paramref name="pfn"/> lies in a free buddy block.</summary>
    public bool IsFrameFree(ulong pfn)
    {
        for (int o = 0; o <= TopOrder; o++)
        {
            if (IsFree(pfn & ~((1UL << o) - 1), o))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Free blocks per order (<c>/proc/buddyinfo</c>).</summary>
    [Kernel("buddyinfo", "mm/vmstat.c")]
    public long[] BuddyInfo()
    {
        var info = new long[MAX_ORDER];
        for (int o = 0; o < TopOrder; o++)
        {
            info[o] = _free[o].Count;
        }
        foreach (ulong w in _topBitmap)
        {
            info[TopOrder] += BitOperations.PopCount(w);
        }
        return info;
    }

    private ulong ZoneLimitPfn(Gfp gfp)
    {
        if ((gfp & Gfp.__GFP_DMA) != 0)
        {
            return (16UL << 20) >> Align.PAGE_SHIFT;
        }
        if ((gfp & Gfp.__GFP_DMA32) != 0)
        {
            return (4UL << 30) >> Align.PAGE_SHIFT;
        }
        return ulong.MaxValue;
    }

    private void Prepare(ulong pfn, int order, Gfp gfp)
    {
        _pages.Set(pfn, new Page { Refcount = 1, Flags = PageFlags.Allocated | ((gfp & Gfp.__GFP_COMP) != 0 && order > 0 ? PageFlags.Head : 0), Order = (byte)order });
        FreePages -= 1L << order;
        if ((gfp & Gfp.__GFP_ZERO) != 0)
        {
            _memory.ZeroPages(pfn, 1UL << order);
        }
    }

    private static int LargestBlock(ulong pfn, ulong pagesLeft)
    {
        int align = pfn == 0 ? TopOrder : Math.Min(TopOrder, BitOperations.TrailingZeroCount(pfn));
        int fit = 63 - BitOperations.LeadingZeroCount(pagesLeft);
        return Math.Min(align, fit);
    }

    /// <summary>Removes the frames [start, end) that are free from the lists (splitting blocks around them); returns how many.</summary>
    private long TakeFreeFramesOf(ulong start, ulong end)
    {
        long taken = 0;
        ulong p = start;
        while (p < end)
        {
            int o = LargestBlock(p, end - p);
            while (o > 0 && !WhollyFree(p, o))
            {
                o--;
            }
            if (WhollyFree(p, o))
            {
                _ = TakeFree(p, o);
                FreePages -= 1L << o;
                taken += 1L << o;
            }
            p += 1UL << o;
        }
        return taken;
    }

    private bool WhollyFree(ulong head, int order)
    {
        for (int o = order; o <= TopOrder; o++)
        {
            if (IsFree(head & ~((1UL << o) - 1), o))
            {
                return true;
            }
        }
        return false;
    }

    private void TakeRange(ulong start, ulong count)
    {
        ulong end = start + count;
        ulong p = start;
        while (p < end)
        {
            int o = LargestBlock(p, end - p);
            _ = TakeFree(p, o);
            p += 1UL << o;
        }
    }

    /// <summary>Takes the aligned block (pfn, order) out of whichever free block contains it, splitting as needed.</summary>
    private bool TakeFree(ulong pfn, int order)
    {
        for (int o = order; o <= TopOrder; o++)
        {
            ulong head = pfn & ~((1UL << o) - 1);
            if (!IsFree(head, o))
            {
                continue;
            }
            RemoveFree(head, o);
            while (o > order)
            {
                o--;
                ulong half = 1UL << o;
                if (pfn >= head + half)
                {
                    InsertFree(head, o);
                    head += half;
                }
                else
                {
                    InsertFree(head + half, o);
                }
            }
            return true;
        }
        return false;
    }

    /// <summary><c>expand</c>: keeps the low 2^low frames of a 2^high block, frees the high halves.</summary>
    [Kernel("expand", "mm/page_alloc.c")]
    private void Expand(ulong head, int low, int high)
    {
        while (high > low)
        {
            high--;
            InsertFree(head + (1UL << high), high);
        }
    }

    /// <summary><c>__free_one_page</c>: merges with the buddy while it is free.</summary>
    [Kernel("__free_one_page", "mm/page_alloc.c")]
    private void FreeOnePage(ulong pfn, int order)
    {
        while (order < TopOrder)
        {
            ulong buddy = pfn ^ (1UL << order);
            if (!IsFree(buddy, order))
            {
                break;
            }
            RemoveFree(buddy, order);
            pfn &= buddy;
            order++;
        }
        InsertFree(pfn, order);
    }

    private bool IsFree(ulong head, int order)
    {
        if (order < TopOrder)
        {
            return _free[order].Contains(head);
        }
        if (head < _topBase)
        {
            return false;
        }
        ulong bit = (head - _topBase) >> TopOrder;
        return bit < (ulong)_topBitmap.Length * 64 && (_topBitmap[bit >> 6] & (1UL << (int)(bit & 63))) != 0;
    }

    private void InsertFree(ulong head, int order)
    {
        if (order < TopOrder)
        {
            _free[order].Add(head);
            return;
        }
        ulong bit = (head - _topBase) >> TopOrder;
        _topBitmap[bit >> 6] |= 1UL << (int)(bit & 63);
        _topHint = Math.Min(_topHint, (int)(bit >> 6));
    }

    private void RemoveFree(ulong head, int order)
    {
        if (order < TopOrder)
        {
            _free[order].Remove(head);
            return;
        }
        ulong bit = (head - _topBase) >> TopOrder;
        _topBitmap[bit >> 6] &= ~(1UL << (int)(bit & 63));
    }

    private bool HeldByBoot(ulong pfn, int order)
    {
        ulong end = pfn + (1UL << order);
        if (!_bootHeld.Exists(r => pfn >= r.Start && end <= r.End))
        {
            return false;
        }
        for (ulong p = pfn; p < end; p++)
        {
            if ((_pages.Get(p).Flags & PageFlags.Allocated) != 0 || IsFrameFree(p))
            {
                return false;
            }
        }
        return true;
    }

    // The lowest free block of this order with lo <= head and head + 2^order <= hi.
    private bool TryLowestFreeIn(int order, ulong lo, ulong hi, out ulong head)
    {
        head = 0;
        ulong size = 1UL << order;
        if (hi < size || hi - size < lo)
        {
            return false;
        }
        ulong maxHead = hi - size;
        if (order < TopOrder)
        {
            foreach (ulong h in _free[order].GetViewBetween(lo, maxHead))
            {
                head = h;
                return true;
            }
            return false;
        }
        ulong firstBit = lo <= _topBase ? 0 : (lo - _topBase + size - 1) >> TopOrder;
        for (ulong w = firstBit >> 6; w < (ulong)_topBitmap.Length; w++)
        {
            ulong word = _topBitmap[w];
            if (w == firstBit >> 6)
            {
                word &= ~0UL << (int)(firstBit & 63);
            }
            if (word == 0)
            {
                continue;
            }
            head = _topBase + (((w << 6) + (ulong)BitOperations.TrailingZeroCount(word)) << TopOrder);
            return head <= maxHead;
        }
        return false;
    }

    private bool TryLowestFree(int order, out ulong head)
    {
        if (order < TopOrder)
        {
            var set = _free[order];
            head = set.Count > 0 ? set.Min : 0;
            return set.Count > 0;
        }
        for (int w = _topHint; w < _topBitmap.Length; w++)
        {
            if (_topBitmap[w] != 0)
            {
                _topHint = w;
                head = _topBase + ((((ulong)w << 6) + (ulong)BitOperations.TrailingZeroCount(_topBitmap[w])) << TopOrder);
                return true;
            }
        }
        _topHint = _topBitmap.Length;
        head = 0;
        return false;
    }
}
