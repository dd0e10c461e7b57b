// Models lib/ratelimit.c: struct ratelimit_state and ___ratelimit on the simulated jiffies clock.
using Sim.Core.Kernel;
using Sim.Core.Time;

namespace Sim.Core.Lib;

/// <summary>
/// <c>struct ratelimit_state</c> (<c>DEFINE_RATELIMIT_STATE(name, interval, burst)</c>): at most
/// <see cref="Burst"/> passes per <see cref="IntervalJiffies"/>; when a new interval starts after misses,
/// "<c>func: N callbacks suppressed</c>" is logged.
/// </summary>
[Kernel("struct ratelimit_state", "include/linux/ratelimit_types.h")]
public sealed class RatelimitState(long intervalJiffies, int burst)
{
    private bool _begun;

    /// <summary><c>interval</c> in jiffies.</summary>
    public long IntervalJiffies { get; } = intervalJiffies;

    /// <summary><c>burst</c>.</summary>
    public int Burst { get; } = burst;

    /// <summary><c>begin</c> (jiffies).</summary>
    public long Begin { get; private set; }

    /// <summary><c>printed</c> in the current interval.</summary>
    public int Printed { get; set; }

    /// <summary><c>missed</c> since the last report.</summary>
    public int Missed { get; private set; }

    /// <summary>Starts the current interval now with <paramref name="printed"/> passes used (a trace's boot state).</summary>
    public void SetState(long nowJiffies, int printed)
    {
        _begun = true;
        Begin = nowJiffies;
        Printed = printed;
        Missed = 0;
    }

    /// <summary><c>___ratelimit(rs, func)</c>: true when the caller may print.</summary>
    [Kernel("___ratelimit", "lib/ratelimit.c")]
    public bool Ratelimit(Ktime clock, Printk printk, string func)
    {
        if (IntervalJiffies == 0)
        {
            return true;
        }
        long now = clock.Jiffies;
        if (!_begun)
        {
            _begun = true;
            Begin = now;
        }
        if (Begin + IntervalJiffies < now)
        {
            if (Missed != 0)
            {
                printk.Warn($"{func}: {Missed} callbacks suppressed\n");
                Missed = 0;
            }
            Begin = now;
            Printed = 0;
        }
        if (Burst != 0 && Burst > Printed)
        {
            Printed++;
            return true;
        }
        Missed++;
        return false;
    }
}
