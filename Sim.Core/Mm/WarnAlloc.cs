// Models warn_alloc of mm/page_alloc.c: the rate-limited allocation failure report (message, dump_stack,
// show_mem); the %pGg printing of the gfp mask is GfpNames.Format (Gfp.cs).
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Time;

namespace Sim.Core.Mm;

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
    public void Report(Gfp gfpMask, string message)
    {
        if ((gfpMask & Gfp.__GFP_NOWARN) != 0 || !Ratelimit.Ratelimit(_clock, _printk, "warn_alloc"))
        {
            return;
        }
        _printk.Warn($"{_current.Comm}: {message}, mode:0x{(uint)gfpMask:x}({GfpNames.Format(gfpMask)}), nodemask=(null)");
        _printk.Cont(",cpuset=/,mems_allowed=0");
        _printk.Cont("\n");
        _bug.DumpStack();
        _printk.Warn("Mem-Info:\n");
    }
}
