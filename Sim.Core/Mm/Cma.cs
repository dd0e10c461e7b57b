// Models mm/cma.c, mm/cma.h and include/linux/cma.h (Linux 6.1): the Contiguous Memory Allocator's areas,
// their allocation bitmap, cma_alloc / cma_release and the cma:* tracepoints (include/trace/events/cma.h).
using System.Numerics;
using Sim.Core.Debug;
using Sim.Core.Uapi;

namespace Sim.Core.Mm;

/// <summary>What <c>cma_state</c> (the capture's debugfs dump of an area) shows.</summary>
/// <param name="Name">The area's name (<c>reserved</c> for the default area).</param>
/// <param name="BasePfn">First page frame of the area.</param>
/// <param name="Count">Pages in the area.</param>
/// <param name="OrderPerBit">Order of pages one bitmap bit stands for.</param>
/// <param name="Used">Pages allocated (bits set, in pages).</param>
/// <param name="MaxChunk">Longest run of free pages, alignment ignored.</param>
/// <param name="Bitmap">The bitmap in hex: bytes in address order, each byte's LSB first (pool page k = bit k % 8 of byte k / 8).</param>
public sealed record CmaState(string Name, ulong BasePfn, ulong Count, int OrderPerBit, ulong Used, ulong MaxChunk, string Bitmap);

/// <summary>
/// Where a CMA area may be reserved (<c>cma_declare_contiguous_nid</c>'s view of memblock).
/// </summary>
/// <param name="MemblockStart">First byte of RAM.</param>
/// <param name="MemblockEnd"><c>memblock_end_of_DRAM()</c>.</param>
/// <param name="HighmemStart"><c>__pa(high_memory - 1) + 1</c>: end of lowmem (= MemblockEnd when all RAM is lowmem).</param>
/// <param name="MinAlignmentBytes"><c>CMA_MIN_ALIGNMENT_BYTES</c> = PAGE_SIZE &lt;&lt; pageblock_order.</param>
/// <param name="PhysAddr64"><c>CONFIG_PHYS_ADDR_T_64BIT</c> (bottom-up above 4 GiB first).</param>
public readonly record struct CmaMemblock(ulong MemblockStart, ulong MemblockEnd, ulong HighmemStart, ulong MinAlignmentBytes, bool PhysAddr64);

/// <summary>
/// <c>struct cma</c>: one contiguous area of <see cref="Count"/> pages from <see cref="BasePfn"/>, with a bitmap
/// of which (groups of 2^<see cref="OrderPerBit"/>) pages are allocated. <see cref="Alloc"/> is first fit in
/// address order over the starts aligned to the requested order; every allocation and release fires the
/// kernel's tracepoints into the machine's <see cref="KernelTrace"/>.
/// </summary>
[Kernel("struct cma", "mm/cma.h")]
public sealed class Cma
{
    /// <summary><c>CMA_MAX_NAME</c>.</summary>
    public const int CMA_MAX_NAME = 64;

    private readonly ulong[] _bitmap;
    private readonly ulong _maxno;
    private readonly KernelTrace? _trace;
    private readonly ulong _longMask;
    private ulong _usedBits;

    /// <summary>
    /// <c>cma_init_reserved_mem</c> + <c>cma_activate_area</c>: an area over already reserved memory, its bitmap
    /// zeroed. <paramref name="bitsPerLong"/> is the machine's <c>BITS_PER_LONG</c> (32 on ARM: the failed
    /// allocation's pfn -1 traces as 0xffffffff).
    /// </summary>
    [Kernel("cma_init_reserved_mem", "mm/cma.c")]
    public Cma(string name, ulong basePfn, ulong count, int orderPerBit, KernelTrace? trace, int bitsPerLong = 64)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegative(orderPerBit);
        Name = name.Length >= CMA_MAX_NAME ? name[..(CMA_MAX_NAME - 1)] : name;
        BasePfn = basePfn;
        Count = count;
        OrderPerBit = orderPerBit;
        _maxno = count >> orderPerBit;
        _bitmap = new ulong[(int)((_maxno + 63) / 64)];
        _trace = trace;
        _longMask = bitsPerLong >= 64 ? ulong.MaxValue : (1UL << bitsPerLong) - 1;
    }

    /// <summary><c>cma->name</c> (<c>cma_get_name</c>).</summary>
    public string Name { get; }

    /// <summary><c>cma->base_pfn</c>.</summary>
    public ulong BasePfn { get; }

    /// <summary><c>cma->count</c>: pages in the area (<c>cma_get_size</c> = Count &lt;&lt; PAGE_SHIFT).</summary>
    public ulong Count { get; }

    /// <summary><c>cma->order_per_bit</c>.</summary>
    public int OrderPerBit { get; }

    /// <summary>Pages allocated now (set bits &lt;&lt; order_per_bit).</summary>
    public ulong UsedPages => _usedBits << OrderPerBit;

    /// <summary>Free pages of the area: its share of <c>NR_FREE_CMA_PAGES</c> (meminfo <c>CmaFree</c>).</summary>
    public ulong FreePages => Count - UsedPages;

    /// <summary>
    /// How many times <c>cma_alloc</c> called <c>alloc_contig_range</c> (each call drains the per-cpu page lists:
    /// <c>drain_all_pages(zone)</c>, see <see cref="PerCpuPages"/>). A request that finds no room in the bitmap
    /// does not call it.
    /// </summary>
    public ulong ContigRangeCalls { get; private set; }

    /// <summary>
    /// Seam for <c>alloc_contig_range(start, end, MIGRATE_CMA, gfp)</c>: null = the range is always free (nothing
    /// movable lives in the model's CMA pages); the integrator may return -EBUSY to exercise the retry loop.
    /// </summary>
    public Func<ulong, ulong, int>? AllocContigRange { get; set; }

    /// <summary>Seam for <c>free_contig_range(pfn, count)</c> (the pages go back to the buddy allocator).</summary>
    public Action<ulong, ulong>? FreeContigRange { get; set; }

    /// <summary>Seam for the kernel log (<c>pr_err_ratelimited</c> of a failed allocation): level and text.</summary>
    public Action<int, string>? Printk { get; set; }

    /// <summary><c>cma_get_base</c>: the physical base address.</summary>
    [Kernel("cma_get_base", "mm/cma.c")]
    public ulong GetBase() => BasePfn << Lib.Align.PAGE_SHIFT;

    /// <summary><c>cma_get_size</c>: the size in bytes.</summary>
    [Kernel("cma_get_size", "mm/cma.c")]
    public ulong GetSize() => Count << Lib.Align.PAGE_SHIFT;

    /// <summary><c>cma_bitmap_maxno</c>: bits in the bitmap.</summary>
    [Kernel("cma_bitmap_maxno", "mm/cma.h")]
    public ulong BitmapMaxno => _maxno;

    /// <summary>
    /// <c>cma_declare_contiguous_nid</c>'s placement rules: alignment at least <c>CMA_MIN_ALIGNMENT_BYTES</c>
    /// (one pageblock: 4 MiB on ARM, whose pageblock_order is MAX_ORDER-1 = 10; 2 MiB on x86_64), base and size
    /// rounded up to it, limit rounded down and clamped to the end of memblock; a fixed base must be aligned and
    /// may not straddle lowmem/highmem; otherwise the area is taken top-down below the limit (highmem first when
    /// the range crosses into it; on 64-bit physical addresses bottom-up from 4 GiB first when RAM reaches that
    /// far). Assumes nothing else is reserved at the top of RAM (what the ARM board's boot log shows:
    /// <c>cma: Reserved 16 MiB at 0x7f000000</c>). Returns 0 and the area, or the kernel's -errno.
    /// </summary>
    [Kernel("cma_declare_contiguous_nid", "mm/cma.c")]
    public static int DeclareContiguous(CmaMemblock mem, ulong @base, ulong size, ulong limit, ulong alignment,
        int orderPerBit, bool @fixed, out ulong basePfn, out ulong count)
    {
        basePfn = 0;
        count = 0;
        if (size == 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (alignment != 0 && !BitOperations.IsPow2(alignment))
        {
            return -(int)Errno.EINVAL;
        }
        alignment = Math.Max(alignment, mem.MinAlignmentBytes);
        if (@fixed && (@base & (alignment - 1)) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        @base = Lib.Align.Up(@base, alignment);
        size = Lib.Align.Up(size, alignment);
        limit &= ~(alignment - 1);
        if (@base == 0)
        {
            @fixed = false;
        }
        if (((size >> Lib.Align.PAGE_SHIFT) & ((1UL << orderPerBit) - 1)) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        ulong highmemStart = mem.HighmemStart;
        if (@fixed && @base < highmemStart && @base + size > highmemStart)
        {
            return -(int)Errno.EINVAL;
        }
        if (limit == 0 || limit > mem.MemblockEnd)
        {
            limit = mem.MemblockEnd;
        }
        if (@base + size > limit)
        {
            return -(int)Errno.EINVAL;
        }
        if (@fixed)
        {
            if (@base < mem.MemblockStart)
            {
                return -(int)Errno.EBUSY;
            }
        }
        else
        {
            ulong addr = 0;
            if (@base < highmemStart && limit > highmemStart)
            {
                addr = AllocRangeTopDown(size, alignment, highmemStart, limit);
                limit = highmemStart;
            }
            if (mem.PhysAddr64 && mem.MemblockEnd >= (1UL << 32) + size)
            {
                addr = AllocRangeBottomUp(size, alignment, 1UL << 32, limit);
            }
            if (addr == 0)
            {
                addr = AllocRangeTopDown(size, alignment, Math.Max(@base, mem.MemblockStart), limit);
                if (addr == 0)
                {
                    return -(int)Errno.ENOMEM;
                }
            }
            @base = addr;
        }
        basePfn = @base >> Lib.Align.PAGE_SHIFT;
        count = size >> Lib.Align.PAGE_SHIFT;
        return 0;
    }

    // memblock_alloc_range_nid over free memory (nothing reserved in the range), top-down / bottom-up; 0 = none.
    private static ulong AllocRangeTopDown(ulong size, ulong align, ulong start, ulong end)
    {
        if (end < size || end - size < start)
        {
            return 0;
        }
        ulong addr = Lib.Align.Down(end - size, align);
        return addr >= start && addr != 0 ? addr : 0;
    }

    private static ulong AllocRangeBottomUp(ulong size, ulong align, ulong start, ulong end)
    {
        ulong addr = Lib.Align.Up(start, align);
        return addr != 0 && addr + size <= end ? addr : 0;
    }

    /// <summary>
    /// Marks the first pages taken before tracing started (the ARM DMA atomic pool: <c>atomic_pool_init</c> takes
    /// 256 KiB with <c>__alloc_from_contiguous</c> at boot). Allocates like <see cref="Alloc"/> without firing
    /// tracepoints; returns the pfn or null.
    /// </summary>
    public ulong? AllocAtBoot(ulong count, uint align) => AllocCore(count, align, true, emit: false);

    /// <summary>
    /// <c>cma_alloc(cma, count, align, no_warn)</c>: the first aligned free range of <paramref name="count"/>
    /// pages, or null (NULL page). Fires <c>cma_alloc_start</c> (after the <c>!count</c> check) and
    /// <c>cma_alloc_finish</c> (pfn -1 and a NULL page on failure); a request larger than the whole area
    /// returns before the finish tracepoint, as in the kernel.
    /// </summary>
    [Kernel("cma_alloc", "mm/cma.c")]
    public ulong? Alloc(ulong count, uint align, bool noWarn) => AllocCore(count, align, noWarn, emit: true);

    private static readonly Debug.FaultSite s_allocContigRange = Debug.FaultSite.Register("cma_alloc:alloc_contig_range", Debug.FaultKind.Cma);

    private ulong? AllocCore(ulong count, uint align, bool noWarn, bool emit)
    {
        ulong pfn = ulong.MaxValue;
        ulong start = 0;
        ulong? page = null;
        int ret = -(int)Errno.ENOMEM;

        if (Count == 0)
        {
            return null;
        }
        if (count == 0)
        {
            return null;
        }
        emit &= _trace is { Enabled: true };
        if (emit)
        {
            _trace!.Emit(new KernelTraceRecord("cma_alloc_start",
                new("name", Name), new("count", count & _longMask), new("align", (ulong)align)));
        }

        ulong mask = BitmapAlignedMask(align);
        ulong offset = BitmapAlignedOffset(align);
        ulong bitmapMaxno = _maxno;
        ulong bitmapCount = PagesToBits(count);

        if (bitmapCount > bitmapMaxno)
        {
            return null;
        }

        for (; ; )
        {
            ulong bitmapNo = FindNextZeroAreaOff(bitmapMaxno, start, (uint)bitmapCount, mask, offset);
            if (bitmapNo >= bitmapMaxno)
            {
                break;
            }
            SetBits(bitmapNo, bitmapCount);
            pfn = BasePfn + (bitmapNo << OrderPerBit);
            ContigRangeCalls++; // alloc_contig_range: start_isolate_page_range, then drain_all_pages(zone)
            ret = s_allocContigRange.ShouldFail() ? -(int)Errno.ENOMEM : AllocContigRange?.Invoke(pfn, pfn + count) ?? 0;
            if (ret == 0)
            {
                page = pfn;
                break;
            }
            ClearBitmap(pfn, count);
            if (ret != -(int)Errno.EBUSY)
            {
                break;
            }
            if (emit)
            {
                _trace!.Emit(new KernelTraceRecord("cma_alloc_busy_retry",
                    new("name", Name), new("pfn", pfn & _longMask), new("page_null", false),
                    new("count", count & _longMask), new("align", (ulong)align)));
            }
            start = bitmapNo + mask + 1;
        }

        if (emit)
        {
            _trace!.Emit(new KernelTraceRecord("cma_alloc_finish",
                new("name", Name), new("count", count & _longMask), new("align", (ulong)align),
                new("pfn", pfn & _longMask), new("page_null", page is null), new("ret", page is null ? (long)ret : 0L)));
        }
        if (page is null && !noWarn)
        {
            Printk?.Invoke(3, $"cma: cma_alloc: {Name}: alloc failed, req-size: {count} pages, ret: {ret}");
        }
        return page;
    }

    /// <summary><c>cma_pages_valid</c>: true when <paramref name="pfn"/> lies inside the area.</summary>
    [Kernel("cma_pages_valid", "mm/cma.c")]
    public bool PagesValid(ulong pfn, ulong count) => Count != 0 && pfn >= BasePfn && pfn < BasePfn + Count;

    /// <summary>
    /// <c>cma_release(cma, pages, count)</c>: clears the range's bits and fires <c>cma_release</c>; false (nothing
    /// done) when <paramref name="pfn"/> is not in the area. A range running past the area's end is the kernel's
    /// <c>VM_BUG_ON</c>.
    /// </summary>
    [Kernel("cma_release", "mm/cma.c")]
    public bool Release(ulong pfn, ulong count)
    {
        if (!PagesValid(pfn, count))
        {
            return false;
        }
        KernelBugException.On(pfn + count > BasePfn + Count, $"cma_release: pfn 0x{pfn:x} + {count} runs past the area");
        FreeContigRange?.Invoke(pfn, count);
        ClearBitmap(pfn, count);
        if (_trace is { Enabled: true })
        {
            _trace.Emit(new KernelTraceRecord("cma_release",
                new("name", Name), new("pfn", pfn & _longMask), new("count", count & _longMask)));
        }
        return true;
    }

    /// <summary>True when bit <paramref name="bitmapNo"/> is set (page group allocated).</summary>
    public bool IsAllocated(ulong bitmapNo) => bitmapNo < _maxno && (_bitmap[bitmapNo >> 6] & (1UL << (int)(bitmapNo & 63))) != 0;

    /// <summary>The area as the capture's <c>cma_state</c> dump shows it.</summary>
    public CmaState GetState() => new(Name, BasePfn, Count, OrderPerBit, UsedPages, MaxChunk(), BitmapHex());

    /// <summary>Longest run of free pages in the area, alignment ignored.</summary>
    public ulong MaxChunk()
    {
        ulong best = 0;
        ulong i = 0;
        while (i < _maxno)
        {
            ulong zero = FindNextZeroBit(_maxno, i);
            if (zero >= _maxno)
            {
                break;
            }
            ulong set = FindNextBit(_maxno, zero);
            best = Math.Max(best, set - zero);
            i = set;
        }
        return best << OrderPerBit;
    }

    /// <summary>The bitmap in the trace's hex encoding: byte k holds bits 8k..8k+7, LSB first, two lower-case digits each.</summary>
    public string BitmapHex()
    {
        int bytes = (int)((_maxno + 7) / 8);
        return string.Create(bytes * 2, this, static (span, cma) =>
        {
            const string digits = "0123456789abcdef";
            for (int k = 0; k < span.Length / 2; k++)
            {
                ulong word = cma._bitmap[k >> 3];
                int b = (int)((word >> ((k & 7) * 8)) & 0xff);
                ulong validBits = Math.Min(8UL, cma._maxno - (ulong)k * 8);
                b &= (int)((1UL << (int)validBits) - 1);
                span[2 * k] = digits[b >> 4];
                span[2 * k + 1] = digits[b & 15];
            }
        });
    }

    [Kernel("cma_bitmap_aligned_mask", "mm/cma.c")]
    private ulong BitmapAlignedMask(uint alignOrder) =>
        alignOrder <= (uint)OrderPerBit ? 0 : (1UL << (int)(alignOrder - (uint)OrderPerBit)) - 1;

    [Kernel("cma_bitmap_aligned_offset", "mm/cma.c")]
    private ulong BitmapAlignedOffset(uint alignOrder) =>
        (BasePfn & ((1UL << (int)alignOrder) - 1)) >> OrderPerBit;

    [Kernel("cma_bitmap_pages_to_bits", "mm/cma.c")]
    private ulong PagesToBits(ulong pages) => Lib.Align.Up(pages, 1UL << OrderPerBit) >> OrderPerBit;

    [Kernel("cma_clear_bitmap", "mm/cma.c")]
    private void ClearBitmap(ulong pfn, ulong count)
    {
        ulong bitmapNo = (pfn - BasePfn) >> OrderPerBit;
        ulong bitmapCount = PagesToBits(count);
        ClearBits(bitmapNo, bitmapCount);
    }

    /// <summary><c>bitmap_find_next_zero_area_off</c> (lib/bitmap.c), line for line.</summary>
    [Kernel("bitmap_find_next_zero_area_off", "lib/bitmap.c")]
    private ulong FindNextZeroAreaOff(ulong size, ulong start, uint nr, ulong alignMask, ulong alignOffset)
    {
        for (; ; )
        {
            ulong index = FindNextZeroBit(size, start);
            index = ((index + alignOffset + alignMask) & ~alignMask) - alignOffset;
            ulong end = index + nr;
            if (end > size)
            {
                return end;
            }
            ulong i = FindNextBit(end, index);
            if (i < end)
            {
                start = i + 1;
                continue;
            }
            return index;
        }
    }

    private ulong FindNextZeroBit(ulong size, ulong offset)
    {
        while (offset < size)
        {
            ulong word = ~_bitmap[offset >> 6] & (ulong.MaxValue << (int)(offset & 63));
            if (word != 0)
            {
                ulong r = (offset & ~63UL) + (ulong)BitOperations.TrailingZeroCount(word);
                return Math.Min(r, size);
            }
            offset = (offset & ~63UL) + 64;
        }
        return size;
    }

    private ulong FindNextBit(ulong size, ulong offset)
    {
        while (offset < size)
        {
            ulong word = _bitmap[offset >> 6] & (ulong.MaxValue << (int)(offset & 63));
            if (word != 0)
            {
                ulong r = (offset & ~63UL) + (ulong)BitOperations.TrailingZeroCount(word);
                return Math.Min(r, size);
            }
            offset = (offset & ~63UL) + 64;
        }
        return size;
    }

    private void SetBits(ulong start, ulong n)
    {
        for (ulong b = start; b < start + n; b++)
        {
            ref ulong w = ref _bitmap[b >> 6];
            ulong m = 1UL << (int)(b & 63);
            if ((w & m) == 0)
            {
                w |= m;
                _usedBits++;
            }
        }
    }

    private void ClearBits(ulong start, ulong n)
    {
        for (ulong b = start; b < start + n && b < _maxno; b++)
        {
            ref ulong w = ref _bitmap[b >> 6];
            ulong m = 1UL << (int)(b & 63);
            if ((w & m) != 0)
            {
                w &= ~m;
                _usedBits--;
            }
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"cma {Name}: [0x{BasePfn:x}, 0x{BasePfn + Count:x}) used {UsedPages}/{Count}";
}
