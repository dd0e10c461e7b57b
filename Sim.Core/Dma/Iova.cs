// Models drivers/iommu/iova.c (Linux 6.1): the IOVA allocator of a DMA domain (alloc_iova_fast / free_iova_fast).
namespace Sim.Core.Dma;

/// <summary>
/// <c>struct iova_domain</c> with a 4 KiB granule: allocated ranges [pfn_lo, pfn_hi] kept sorted; allocation is
/// top-down first fit below the limit, size-aligned (the start is a multiple of the size rounded up to a power
/// of two, as <c>__alloc_and_insert_iova_range</c> with <c>size_aligned</c>), and requests under 32 pages are
/// rounded to a power of two (<c>alloc_iova_fast</c>). pfn 0 is never handed out (<c>start_pfn</c> 1). The
/// kernel's rbtree cache and per-CPU rcaches only change which free range is reused; addresses are not part
/// of any compared result (traces compare IOVAs relative to a table's base).
/// </summary>
[Kernel("struct iova_domain", "drivers/iommu/iova.c")]
public sealed class IovaDomain
{
    /// <summary><c>IOVA_RANGE_CACHE_MAX_SIZE</c>: sizes below 2^(6-1) pages are rounded to a power of two.</summary>
    public const int IOVA_RANGE_CACHE_MAX_SIZE = 6;

    private readonly List<(ulong Lo, ulong Hi)> _ranges = [];

    /// <summary><c>iova_shift</c>: the granule's shift (12).</summary>
    public int Shift { get; } = 12;

    /// <summary><c>start_pfn</c>.</summary>
    public ulong StartPfn { get; } = 1;

    /// <summary>Ranges currently allocated.</summary>
    public int Count => _ranges.Count;

    /// <summary><c>iova_rcache_range()</c>: the largest size the rcaches serve (128 KiB): <c>dma_opt_mapping_size</c> under an IOMMU.</summary>
    [Kernel("iova_rcache_range", "drivers/iommu/iova.c")]
    public static ulong RcacheRange() => 4096UL << (IOVA_RANGE_CACHE_MAX_SIZE - 1);

    /// <summary><c>alloc_iova_fast(iovad, size, limit_pfn, flush_rcache)</c>: the first pfn of the range, or 0 when none fits.</summary>
    [Kernel("alloc_iova_fast", "drivers/iommu/iova.c")]
    public ulong AllocFast(ulong size, ulong limitPfn, bool flushRcache = true)
    {
        if (size == 0)
        {
            return 0;
        }
        if (size < (1UL << (IOVA_RANGE_CACHE_MAX_SIZE - 1)))
        {
            size = System.Numerics.BitOperations.RoundUpToPowerOf2(size);
        }
        ulong pfn = Alloc(size, limitPfn, sizeAligned: true);
        // retry: with flush_rcache the rcaches are flushed and alloc_iova tried once more.
        return pfn != 0 || !flushRcache ? pfn : Alloc(size, limitPfn, sizeAligned: true);
    }

    private static readonly Debug.FaultSite s_allocIovaMem = Debug.FaultSite.Register("alloc_iova:alloc_iova_mem");

    /// <summary><c>alloc_iova(iovad, size, limit_pfn, size_aligned)</c>: the first pfn of the new range, or 0.</summary>
    [Kernel("alloc_iova", "drivers/iommu/iova.c")]
    public ulong Alloc(ulong size, ulong limitPfn, bool sizeAligned)
    {
        if (s_allocIovaMem.ShouldFail())
        {
            return 0; // alloc_iova_mem: kmem_cache_zalloc(iova_cache) failed
        }
        ulong alignMask = ulong.MaxValue;
        if (sizeAligned && size > 1)
        {
            alignMask <<= 64 - System.Numerics.BitOperations.LeadingZeroCount(size - 1);
        }
        ulong high = limitPfn == ulong.MaxValue ? limitPfn : limitPfn + 1;
        // Walk the allocated ranges from the top down; the gap above each is a candidate.
        int k = _ranges.Count - 1;
        while (k >= 0 && _ranges[k].Lo >= high)
        {
            k--;
        }
        while (true)
        {
            if (high < size)
            {
                return 0;
            }
            ulong newPfn = (high - size) & alignMask;
            ulong floor = k >= 0 ? _ranges[k].Hi + 1 : StartPfn;
            if (newPfn >= floor && newPfn + size <= high && newPfn >= StartPfn)
            {
                _ranges.Insert(k + 1, (newPfn, newPfn + size - 1));
                return newPfn;
            }
            if (k < 0)
            {
                return 0;
            }
            high = Math.Min(high, _ranges[k].Lo);
            k--;
        }
    }

    /// <summary><c>free_iova_fast</c> / <c>free_iova(iovad, pfn)</c>: frees the range containing <paramref name="pfn"/> (nothing if none does).</summary>
    [Kernel("free_iova", "drivers/iommu/iova.c")]
    public bool Free(ulong pfn)
    {
        for (int k = 0; k < _ranges.Count; k++)
        {
            if (_ranges[k].Lo <= pfn && pfn <= _ranges[k].Hi)
            {
                _ranges.RemoveAt(k);
                return true;
            }
        }
        return false;
    }

    /// <summary>The range containing <paramref name="pfn"/> (<c>find_iova</c>), or null.</summary>
    [Kernel("find_iova", "drivers/iommu/iova.c")]
    public (ulong Lo, ulong Hi)? Find(ulong pfn)
    {
        foreach (var r in _ranges)
        {
            if (r.Lo <= pfn && pfn <= r.Hi)
            {
                return r;
            }
        }
        return null;
    }
}
