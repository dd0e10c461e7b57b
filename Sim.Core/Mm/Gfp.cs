// Models gfp_t: include/linux/gfp_types.h (the bits, with the kernel's values), gfpflags_allow_blocking of
// include/linux/gfp.h, and the %pGg printing of lib/vsprintf.c + include/trace/events/mmflags.h (Linux 6.1).
using System.Globalization;
using System.Text;

namespace Sim.Core.Mm;

/// <summary>
/// <c>gfp_t</c>: allocation flags, spelled and valued as in include/linux/gfp_types.h (6.1, no lockdep, no KASAN).
/// Only the bits that change a result or a message are modelled.
/// </summary>
[Flags]
[Kernel("gfp_t", "include/linux/gfp_types.h")]
public enum Gfp : uint
{
    /// <summary>No flag.</summary>
    None = 0,
    /// <summary><c>__GFP_DMA</c>: ZONE_DMA (below 16 MiB on x86).</summary>
    __GFP_DMA = 0x01,
    /// <summary><c>__GFP_HIGHMEM</c>.</summary>
    __GFP_HIGHMEM = 0x02,
    /// <summary><c>__GFP_DMA32</c>: ZONE_DMA32 (below 4 GiB).</summary>
    __GFP_DMA32 = 0x04,
    /// <summary><c>__GFP_IO</c>.</summary>
    __GFP_IO = 0x40,
    /// <summary><c>__GFP_FS</c>.</summary>
    __GFP_FS = 0x80,
    /// <summary><c>__GFP_ZERO</c>: zero the pages.</summary>
    __GFP_ZERO = 0x100,
    /// <summary><c>__GFP_DIRECT_RECLAIM</c>: the caller may sleep (<c>gfpflags_allow_blocking</c>).</summary>
    __GFP_DIRECT_RECLAIM = 0x400,
    /// <summary><c>__GFP_KSWAPD_RECLAIM</c>.</summary>
    __GFP_KSWAPD_RECLAIM = 0x800,
    /// <summary><c>__GFP_NOWARN</c>: no allocation-failure report.</summary>
    __GFP_NOWARN = 0x2000,
    /// <summary><c>__GFP_NOFAIL</c>.</summary>
    __GFP_NOFAIL = 0x8000,
    /// <summary><c>__GFP_NORETRY</c>: fail rather than retry hard (no OOM killer).</summary>
    __GFP_NORETRY = 0x10000,
    /// <summary><c>__GFP_COMP</c>: compound page.</summary>
    __GFP_COMP = 0x40000,
    /// <summary><c>__GFP_HARDWALL</c>: enforce the cpuset memory allocation policy.</summary>
    __GFP_HARDWALL = 0x100000,
    /// <summary><c>__GFP_RECLAIM</c>.</summary>
    __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM,
    /// <summary><c>GFP_KERNEL</c> (0xcc0; the simulator has no reclaim, the bits matter for blocking and names).</summary>
    GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS,
    /// <summary><c>GFP_USER</c>.</summary>
    GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL,
    /// <summary><c>GFP_HIGHUSER</c>.</summary>
    GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM,
    /// <summary><c>GFP_NOFS</c>.</summary>
    GFP_NOFS = __GFP_RECLAIM | __GFP_IO,
    /// <summary><c>GFP_NOIO</c>.</summary>
    GFP_NOIO = __GFP_RECLAIM,
    /// <summary><c>GFP_NOWAIT</c>.</summary>
    GFP_NOWAIT = __GFP_KSWAPD_RECLAIM,
    /// <summary><c>GFP_DMA</c>.</summary>
    GFP_DMA = __GFP_DMA,
    /// <summary><c>GFP_DMA32</c>.</summary>
    GFP_DMA32 = __GFP_DMA32,
}

/// <summary>Reading and printing <see cref="Gfp"/> masks, and the predicates of include/linux/gfp.h.</summary>
public static class GfpNames
{
    // __def_gfpflag_names, in its order (composite masks first), restricted to the modelled bits.
    private static readonly (Gfp Mask, string Name)[] s_names =
    [
        (Gfp.GFP_HIGHUSER, "GFP_HIGHUSER"), (Gfp.GFP_USER, "GFP_USER"), (Gfp.GFP_KERNEL, "GFP_KERNEL"), (Gfp.GFP_NOFS, "GFP_NOFS"), (Gfp.GFP_NOIO, "GFP_NOIO"),
        (Gfp.GFP_NOWAIT, "GFP_NOWAIT"), (Gfp.GFP_DMA, "GFP_DMA"),
        (Gfp.__GFP_HIGHMEM, "__GFP_HIGHMEM"), (Gfp.GFP_DMA32, "GFP_DMA32"), (Gfp.__GFP_IO, "__GFP_IO"),
        (Gfp.__GFP_FS, "__GFP_FS"), (Gfp.__GFP_NOWARN, "__GFP_NOWARN"), (Gfp.__GFP_NOFAIL, "__GFP_NOFAIL"),
        (Gfp.__GFP_NORETRY, "__GFP_NORETRY"), (Gfp.__GFP_COMP, "__GFP_COMP"), (Gfp.__GFP_ZERO, "__GFP_ZERO"),
        (Gfp.__GFP_HARDWALL, "__GFP_HARDWALL"), (Gfp.__GFP_RECLAIM, "__GFP_RECLAIM"),
        (Gfp.__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"), (Gfp.__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
    ];

    /// <summary>The flags named by <paramref name="text"/> as the traces spell them (<c>GFP_KERNEL|__GFP_ZERO</c>;
    /// empty = GFP_KERNEL; unknown words are ignored).</summary>
    public static Gfp Parse(string? text)
    {
        var g = Gfp.None;
        if (string.IsNullOrEmpty(text))
        {
            return Gfp.GFP_KERNEL;
        }
        foreach (var w in text.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (Enum.TryParse<Gfp>(w, out var bit) && Enum.IsDefined(bit))
            {
                g |= bit;
            }
        }
        return g;
    }

    /// <summary><c>%pGg</c>: the names of <c>__def_gfpflag_names</c> that are wholly set, in that order, joined
    /// by '|', then the remaining bits in hex.</summary>
    [Kernel("format_flags", "lib/vsprintf.c")]
    public static string Format(Gfp gfp)
    {
        var sb = new StringBuilder();
        foreach (var (mask, name) in s_names)
        {
            if (mask != 0 && (gfp & mask) == mask)
            {
                if (sb.Length > 0)
                {
                    sb.Append('|');
                }
                sb.Append(name);
                gfp &= ~mask;
            }
        }
        if (gfp != 0)
        {
            if (sb.Length > 0)
            {
                sb.Append('|');
            }
            sb.Append("0x").Append(((uint)gfp).ToString("x", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary><c>gfpflags_allow_blocking(gfp)</c>: whether the caller may sleep.</summary>
    [Kernel("gfpflags_allow_blocking", "include/linux/gfp.h")]
    public static bool AllowBlocking(this Gfp gfp) => (gfp & Gfp.__GFP_DIRECT_RECLAIM) != 0;
}
