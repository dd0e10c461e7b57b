// Models include/linux/gfp_types.h (Linux 6.1): the gfp_t allocation flags, with the kernel's values.
namespace Sim.Core.Mm;

/// <summary><c>gfp_t</c> flags as <c>uint</c> constants, spelled and valued as in include/linux/gfp_types.h.</summary>
[Kernel("gfp_t", "include/linux/gfp_types.h")]
public static class GfpTypes
{
    /// <summary><c>__GFP_DMA</c>.</summary>
    public const uint __GFP_DMA = 0x01u;
    /// <summary><c>__GFP_HIGHMEM</c>.</summary>
    public const uint __GFP_HIGHMEM = 0x02u;
    /// <summary><c>__GFP_DMA32</c>.</summary>
    public const uint __GFP_DMA32 = 0x04u;
    /// <summary><c>__GFP_IO</c>.</summary>
    public const uint __GFP_IO = 0x40u;
    /// <summary><c>__GFP_FS</c>.</summary>
    public const uint __GFP_FS = 0x80u;
    /// <summary><c>__GFP_ZERO</c>.</summary>
    public const uint __GFP_ZERO = 0x100u;
    /// <summary><c>__GFP_DIRECT_RECLAIM</c>: the caller may sleep (<c>gfpflags_allow_blocking</c>).</summary>
    public const uint __GFP_DIRECT_RECLAIM = 0x400u;
    /// <summary><c>__GFP_KSWAPD_RECLAIM</c>.</summary>
    public const uint __GFP_KSWAPD_RECLAIM = 0x800u;
    /// <summary><c>__GFP_NOWARN</c>: no allocation-failure report.</summary>
    public const uint __GFP_NOWARN = 0x2000u;
    /// <summary><c>__GFP_NOFAIL</c>.</summary>
    public const uint __GFP_NOFAIL = 0x8000u;
    /// <summary><c>__GFP_COMP</c>.</summary>
    public const uint __GFP_COMP = 0x40000u;
    /// <summary><c>__GFP_RECLAIM</c>.</summary>
    public const uint __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
    /// <summary><c>GFP_KERNEL</c> (0xcc0).</summary>
    public const uint GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
    /// <summary><c>GFP_NOWAIT</c>.</summary>
    public const uint GFP_NOWAIT = __GFP_KSWAPD_RECLAIM;

    /// <summary><c>gfpflags_allow_blocking(gfp)</c>.</summary>
    [Kernel("gfpflags_allow_blocking", "include/linux/gfp.h")]
    public static bool AllowBlocking(uint gfp) => (gfp & __GFP_DIRECT_RECLAIM) != 0;
}
