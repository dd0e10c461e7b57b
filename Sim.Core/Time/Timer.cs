// Models the timer wheel of kernel/time/timer.c (calc_wheel_index, schedule_timeout) and the delayed work of
// kernel/workqueue.c (queue_delayed_work, flush_delayed_work) on the simulated clock (Linux 6.1).
using Sim.Core.Debug;

namespace Sim.Core.Time;

/// <summary>
/// Kernel timers on the simulated clock. A timer armed for <c>expires</c> (absolute jiffies) does not fire at
/// <c>expires</c>: the timer wheel files it in a bucket whose expiry is rounded UP to the granularity of its
/// wheel level (<c>calc_index</c>: <c>((expires &gt;&gt; LVL_SHIFT(lvl)) + 1) &lt;&lt; LVL_SHIFT(lvl)</c>), so a timer
/// <c>t</c> jiffies away (t &lt; 63) fires <c>t + 1</c> jiffies later. That is why the traces show
/// <c>schedule_timeout(1)</c> returning after 2 jiffies and a 3-jiffy delayed work running after 4.
/// </summary>
[Kernel("timer_list", "kernel/time/timer.c")]
public static class KernelTimer
{
    /// <summary>LVL_CLK_SHIFT.</summary>
    public const int LVL_CLK_SHIFT = 3;

    /// <summary>LVL_BITS.</summary>
    public const int LVL_BITS = 6;

    /// <summary>LVL_DEPTH for HZ &gt; 100.</summary>
    public const int LVL_DEPTH = 9;

    private static int LvlShift(int n) => n * LVL_CLK_SHIFT;

    private static long LvlGran(int n) => 1L << LvlShift(n);

    private static long LvlStart(int n) => ((1L << LVL_BITS) - 1) << ((n - 1) * LVL_CLK_SHIFT);

    /// <summary>WHEEL_TIMEOUT_CUTOFF.</summary>
    public static long WheelTimeoutCutoff => LvlStart(LVL_DEPTH);

    /// <summary>WHEEL_TIMEOUT_MAX.</summary>
    public static long WheelTimeoutMax => WheelTimeoutCutoff - LvlGran(LVL_DEPTH - 1);

    /// <summary>
    /// <c>calc_wheel_index</c>: the jiffy at which a timer with absolute expiry <paramref name="expires"/>, armed
    /// when the base clock is <paramref name="clk"/>, actually fires (its bucket expiry).
    /// </summary>
    [Kernel("calc_wheel_index", "kernel/time/timer.c")]
    public static long BucketExpiry(long expires, long clk)
    {
        long delta = expires - clk;
        if (delta < 0)
        {
            return clk;
        }
        for (int lvl = 0; lvl < LVL_DEPTH - 1; lvl++)
        {
            if (delta < LvlStart(lvl + 1))
            {
                return CalcIndex(expires, lvl);
            }
        }
        if (delta >= WheelTimeoutCutoff)
        {
            expires = clk + WheelTimeoutMax;
        }
        return CalcIndex(expires, LVL_DEPTH - 1);
    }

    [Kernel("calc_index", "kernel/time/timer.c")]
    private static long CalcIndex(long expires, int lvl) => ((expires >> LvlShift(lvl)) + 1) << LvlShift(lvl);

    /// <summary>
    /// <c>add_timer</c> with <c>timer.expires = expires</c> (absolute jiffies): arms a simulated-clock timer at
    /// the bucket expiry.
    /// </summary>
    [Kernel("add_timer", "kernel/time/timer.c")]
    public static Ktime.Timer AddTimer(Ktime clock, long expires, Action callback)
    {
        long fireJiffy = BucketExpiry(expires, clock.Jiffies);
        long delayNs = fireJiffy * clock.NsPerJiffy - clock.NowNs;
        return clock.AddTimerNs(delayNs, callback);
    }

    /// <summary>
    /// <c>schedule_timeout(timeout)</c> for a task that <paramref name="woken"/> reports as woken up: sleeps in
    /// simulated time until woken or until its timer fires; returns the jiffies left (<c>expire - jiffies</c>,
    /// at least 0). <see cref="Ktime.MAX_SCHEDULE_TIMEOUT"/> sleeps without a timer and returns it unchanged. The
    /// simulator runs a single task: a sleep that nothing can ever end is a hang and throws
    /// <see cref="KernelBugException"/>.
    /// </summary>
    [Kernel("schedule_timeout", "kernel/time/timer.c")]
    public static long ScheduleTimeout(Ktime clock, long timeout, Func<bool> woken)
    {
        if (timeout == Ktime.MAX_SCHEDULE_TIMEOUT)
        {
            if (!clock.WaitUntil(woken, long.MaxValue))
            {
                throw new KernelBugException("hung task: schedule(MAX_SCHEDULE_TIMEOUT) with nothing left to wake it");
            }
            return timeout;
        }
        if (timeout < 0)
        {
            // The kernel prints "schedule_timeout: wrong timeout value" and returns at once.
            return 0;
        }
        long expire = clock.Jiffies + timeout;
        bool expired = false;
        var timer = AddTimer(clock, expire, () => expired = true);
        clock.WaitUntil(() => expired || woken(), long.MaxValue);
        Ktime.Cancel(timer);
        long left = expire - clock.Jiffies;
        return left < 0 ? 0 : left;
    }
}

/// <summary>
/// <c>struct delayed_work</c> (kernel/workqueue.c): work that runs when its timer fires. The simulator runs the
/// work function in the timer callback (the worker thread is never busy).
/// </summary>
[Kernel("delayed_work", "kernel/workqueue.c")]
public sealed class DelayedWork
{
    private readonly Action _func;
    private Ktime.Timer? _timer;

    /// <summary><c>INIT_DELAYED_WORK(dwork, func)</c>.</summary>
    public DelayedWork(Action func) => _func = func;

    /// <summary>True while the timer is armed and the work has not run.</summary>
    public bool Pending => _timer is { Done: false };

    /// <summary>How many times the work function ran.</summary>
    public int Runs { get; private set; }

    /// <summary>
    /// <c>schedule_delayed_work(dwork, delay)</c>: false if already pending. A delay of 0 runs the work at once.
    /// </summary>
    [Kernel("schedule_delayed_work", "include/linux/workqueue.h")]
    public bool Schedule(Ktime clock, long delayJiffies)
    {
        if (Pending)
        {
            return false;
        }
        if (delayJiffies <= 0)
        {
            Run();
            return true;
        }
        _timer = KernelTimer.AddTimer(clock, clock.Jiffies + delayJiffies, Run);
        return true;
    }

    /// <summary><c>flush_delayed_work</c>: a pending work is taken off its timer and run now.</summary>
    [Kernel("flush_delayed_work", "kernel/workqueue.c")]
    public bool Flush()
    {
        if (_timer is { } t && Ktime.Cancel(t))
        {
            Run();
            return true;
        }
        return false;
    }

    /// <summary><c>cancel_delayed_work_sync</c>: true if it was pending.</summary>
    [Kernel("cancel_delayed_work_sync", "kernel/workqueue.c")]
    public bool Cancel() => _timer is { } t && Ktime.Cancel(t);

    private void Run()
    {
        Runs++;
        _func();
    }
}
