// Models warn_alloc of mm/page_alloc.c: the rate-limited allocation failure report (message, dump_stack,
// show_mem), and the %pGg printing of gfp masks it uses (lib/vsprintf.c + include/trace/events/mmflags.h).
using System.Text;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Time;

namespace Sim.Core.Mm;

/// <summary>gfp_t bits and masks of include/linux/gfp_types.h (6.1, no lockdep) and their printed names.</summary>
public static class GfpFormat
{
    /// <summary>__GFP_DMA.</summary>
    public const uint __GFP_DMA = 0x01;
    /// <summary>__GFP_HIGHMEM.</summary>
    public const uint __GFP_HIGHMEM = 0x02;
    /// <summary>__GFP_DMA32.</summary>
    public const uint __GFP_DMA32 = 0x04;
    /// <summary>__GFP_IO.</summary>
    public const uint __GFP_IO = 0x40;
    /// <summary>__GFP_FS.</summary>
    public const uint __GFP_FS = 0x80;
    /// <summary>__GFP_ZERO.</summary>
    public const uint __GFP_ZERO = 0x100;
    /// <summary>__GFP_DIRECT_RECLAIM.</summary>
    public const uint __GFP_DIRECT_RECLAIM = 0x400;
    /// <summary>__GFP_KSWAPD_RECLAIM.</summary>
    public const uint __GFP_KSWAPD_RECLAIM = 0x800;
    /// <summary>__GFP_NOWARN.</summary>
    public const uint __GFP_NOWARN = 0x2000;
    /// <summary>__GFP_RECLAIM.</summary>
    public const uint __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;
    /// <summary>GFP_KERNEL.</summary>
    public const uint GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;

    private static readonly (uint Mask, string Name)[] s_names =
    [
        (GFP_KERNEL, "GFP_KERNEL"), (__GFP_DMA, "GFP_DMA"), (__GFP_HIGHMEM, "__GFP_HIGHMEM"), (__GFP_DMA32, "GFP_DMA32"),
        (__GFP_NOWARN, "__GFP_NOWARN"), (__GFP_ZERO, "__GFP_ZERO"), (__GFP_IO, "__GFP_IO"), (__GFP_FS, "__GFP_FS"),
        (__GFP_DIRECT_RECLAIM, "__GFP_DIRECT_RECLAIM"), (__GFP_KSWAPD_RECLAIM, "__GFP_KSWAPD_RECLAIM"),
    ];

    /// <summary><c>%pGg</c>: composite names first, then single flags, joined by '|'.</summary>
    [Kernel("format_flags", "lib/vsprintf.c")]
    public static string Names(uint gfp)
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
            sb.Append("0x").Append(gfp.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}

/// <summary>
/// <c>warn_alloc</c>: reports an allocation failure unless <c>__GFP_NOWARN</c> or its rate limit
/// (<c>DEFINE_RATELIMIT_STATE(nopage_rs, 10*HZ, 1)</c>) says no. The report is the message line, dump_stack and
/// show_mem's "Mem-Info:" (its statistics are not modelled).
/// </summary>
[Kernel("warn_alloc", "mm/page_alloc.c")]
public sealed class WarnAlloc
{
    private readonly Printk _printk;
    private readonly Bug _bug;
    private readonly CurrentTask _current;
    private readonly Ktime _clock;

    /// <summary>Creates the reporter with its rate limit state.</summary>
    public WarnAlloc(Printk printk, Bug bug, CurrentTask current, Ktime clock)
    {
        _printk = printk;
        _bug = bug;
        _current = current;
        _clock = clock;
        Ratelimit = new RatelimitState(10L * clock.Hz, 1);
    }

    /// <summary><c>nopage_rs</c>.</summary>
    public RatelimitState Ratelimit { get; }

    /// <summary><c>warn_alloc(gfp_mask, NULL, message)</c>.</summary>
    public void Report(uint gfpMask, string message)
    {
        if ((gfpMask & GfpFormat.__GFP_NOWARN) != 0 || !Ratelimit.Ratelimit(_clock, _printk, "warn_alloc"))
        {
            return;
        }
        _printk.Warn($"{_current.Comm}: {message}, mode:0x{gfpMask:x}({GfpFormat.Names(gfpMask)}), nodemask=(null)");
        _printk.Cont(",cpuset=/,mems_allowed=0");
        _printk.Cont("\n");
        _bug.DumpStack();
        _printk.Warn("Mem-Info:\n");
    }
}
