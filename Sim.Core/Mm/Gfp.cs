// Models the gfp_t bits the simulator honours (include/linux/gfp_types.h, Linux 6.1).
namespace Sim.Core.Mm;

/// <summary><c>gfp_t</c>: allocation flags. Only the bits that change a result are modelled.</summary>
[Flags]
[Kernel("gfp_t", "include/linux/gfp_types.h")]
public enum Gfp : uint
{
    /// <summary>No flag (<c>GFP_NOWAIT</c>-like; treated as GFP_KERNEL).</summary>
    None = 0,
    /// <summary><c>__GFP_DMA</c>: ZONE_DMA (below 16 MiB on x86).</summary>
    __GFP_DMA = 0x01,
    /// <summary><c>__GFP_DMA32</c>: ZONE_DMA32 (below 4 GiB).</summary>
    __GFP_DMA32 = 0x04,
    /// <summary><c>__GFP_NOWARN</c>.</summary>
    __GFP_NOWARN = 0x2000,
    /// <summary><c>__GFP_ZERO</c>: zero the pages.</summary>
    __GFP_ZERO = 0x100,
    /// <summary><c>__GFP_COMP</c>: compound page.</summary>
    __GFP_COMP = 0x40000,
    /// <summary><c>GFP_KERNEL</c> (reclaim and IO bits: the simulator has no reclaim, so only the name matters).</summary>
    GFP_KERNEL = 0xcc0,
    /// <summary><c>GFP_DMA32</c>.</summary>
    GFP_DMA32 = __GFP_DMA32,
}

/// <summary>Parses the symbolic gfp names of the traces (<c>GFP_KERNEL|__GFP_ZERO</c>).</summary>
public static class GfpNames
{
    /// <summary>The flags named by <paramref name="text"/> (unknown words are ignored).</summary>
    public static Gfp Parse(string? text)
    {
        var g = Gfp.None;
        if (string.IsNullOrEmpty(text))
        {
            return Gfp.GFP_KERNEL;
        }
        foreach (var w in text.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (Enum.TryParse<Gfp>(w, out var bit))
            {
                g |= bit;
            }
        }
        return g;
    }
}
