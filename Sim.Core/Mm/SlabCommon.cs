// Models the kmalloc size classes of mm/slab_common.c (SLUB, x86_64, Linux 6.1): what ksize() reports.
namespace Sim.Core.Mm;

/// <summary>
/// The kmalloc size classes: a request is served from the smallest cache that fits (8, 16, 32, 64, 96, 128, 192,
/// 256, 512 .. 8192 bytes); larger requests go to the page allocator and get whole pages
/// (<c>PAGE_SIZE &lt;&lt; get_order(size)</c>) up to <c>KMALLOC_MAX_SIZE</c> (4 MiB). Callers that size a table by
/// <c>ksize()</c> (e.g. <c>dma_resv_list_alloc</c>) see the rounded-up capacity.
/// </summary>
[Kernel("kmalloc_size_roundup", "mm/slab_common.c")]
public static class SlabCommon
{
    /// <summary><c>KMALLOC_MAX_SIZE</c>: 1 &lt;&lt; (MAX_ORDER - 1 + PAGE_SHIFT) = 4 MiB.</summary>
    public const ulong KMALLOC_MAX_SIZE = 4UL << 20;

    /// <summary><c>KMALLOC_MAX_CACHE_SIZE</c>: the largest slab cache (2 pages).</summary>
    public const ulong KMALLOC_MAX_CACHE_SIZE = 8192;

    /// <summary>
    /// <c>kmalloc_size_roundup(size)</c> = <c>ksize(kmalloc(size))</c>; 0 when kmalloc would fail (size 0 gives
    /// ZERO_SIZE_PTR, sizes above <see cref="KMALLOC_MAX_SIZE"/> fail).
    /// </summary>
    public static ulong KmallocSizeRoundup(ulong size)
    {
        if (size == 0 || size > KMALLOC_MAX_SIZE)
        {
            return 0;
        }
        if (size <= 8)
        {
            return 8;
        }
        if (size <= KMALLOC_MAX_CACHE_SIZE)
        {
            if (size > 64 && size <= 96)
            {
                return 96;
            }
            if (size > 128 && size <= 192)
            {
                return 192;
            }
            return RoundUpPow2(size);
        }
        return RoundUpPow2((size + 4095) & ~4095UL);
    }

    private static ulong RoundUpPow2(ulong v) => 1UL << (64 - System.Numerics.BitOperations.LeadingZeroCount(v - 1));
}
