// Models the kernel's notion of time: jiffies (kernel/time/jiffies.c, HZ) and ktime, plus timers
// (kernel/time/timer.c) on a simulated clock. Nothing here reads the wall clock.
namespace Sim.Core.Time;

/// <summary>
/// The simulated clock of one machine. Time advances only through simulated waits and timers, never
/// between events and never by the host's clock: a wait that would block jumps the clock to the next timer
/// or to its own timeout.
/// </summary>
[Kernel("jiffies", "kernel/time/jiffies.c")]
public sealed class Ktime
{
    /// <summary><c>MAX_SCHEDULE_TIMEOUT</c> (LONG_MAX): wait forever.</summary>
    public const long MAX_SCHEDULE_TIMEOUT = long.MaxValue;

    private readonly PriorityQueue<Timer, (long Expires, long Seq)> _timers = new();
    private long _seq;

    /// <summary>Creates a clock at boot (jiffies 0, ktime 0) with <paramref name="hz"/> ticks a second.</summary>
    public Ktime(int hz = 250)
    {
        if (hz <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(hz));
        }
        Hz = hz;
    }

    /// <summary>CONFIG_HZ: 250 on the traced kernels.</summary>
    public int Hz { get; }

    /// <summary>Nanoseconds since boot (<c>ktime_get()</c>).</summary>
    public long NowNs { get; private set; }

    /// <summary>Ticks since boot (<c>jiffies</c>).</summary>
    public long Jiffies => NowNs / NsPerJiffy;

    /// <summary>Nanoseconds in one jiffy.</summary>
    public long NsPerJiffy => 1_000_000_000L / Hz;

    /// <summary><c>msecs_to_jiffies</c> (rounds up, as the kernel does).</summary>
    public long MsecsToJiffies(long ms) => ms <= 0 ? 0 : (ms * Hz + 999) / 1000;

    /// <summary><c>jiffies_to_msecs</c>.</summary>
    public long JiffiesToMsecs(long j) => j * 1000 / Hz;

    /// <summary>A pending timer (<c>struct timer_list</c> / delayed work).</summary>
    public sealed class Timer
    {
        internal Timer(long expiresNs, Action callback)
        {
            ExpiresNs = expiresNs;
            Callback = callback;
        }

        /// <summary>When it fires, in ns since boot.</summary>
        public long ExpiresNs { get; }

        internal Action Callback { get; }

        /// <summary>True once it fired or was cancelled.</summary>
        public bool Done { get; internal set; }
    }

    /// <summary><c>mod_timer</c>/<c>schedule_delayed_work</c>: runs <paramref name="callback"/> after <paramref name="delayNs"/>.</summary>
    public Timer AddTimerNs(long delayNs, Action callback)
    {
        var t = new Timer(NowNs + Math.Max(0, delayNs), callback);
        _timers.Enqueue(t, (t.ExpiresNs, _seq++));
        return t;
    }

    /// <summary>Arms a timer <paramref name="delayJiffies"/> ticks from now.</summary>
    public Timer AddTimerJiffies(long delayJiffies, Action callback) => AddTimerNs(delayJiffies * NsPerJiffy, callback);

    /// <summary><c>del_timer</c>: true if it was still pending.</summary>
    public static bool Cancel(Timer timer)
    {
        bool pending = !timer.Done;
        timer.Done = true;
        return pending;
    }

    /// <summary>Fires every timer due at the current time.</summary>
    public void RunDueTimers()
    {
        while (_timers.TryPeek(out var t, out var key) && key.Expires <= NowNs)
        {
            _timers.Dequeue();
            if (!t.Done)
            {
                t.Done = true;
                t.Callback();
            }
        }
    }

    /// <summary>Advances the clock by <paramref name="ns"/>, firing timers on the way in order.</summary>
    public void AdvanceNs(long ns)
    {
        long target = NowNs + Math.Max(0, ns);
        AdvanceTo(target, static () => false);
    }

    /// <summary>
    /// Blocks (in simulated time) until <paramref name="condition"/> holds or <paramref name="timeoutNs"/> passes:
    /// the clock jumps from timer to timer. Returns true if the condition held. A timeout of
    /// <see cref="long.MaxValue"/> waits as long as timers remain; with no timer left and the condition false
    /// the wait would last forever, and it returns false without moving the clock further.
    /// </summary>
    public bool WaitUntil(Func<bool> condition, long timeoutNs)
    {
        RunDueTimers();
        if (condition())
        {
            return true;
        }
        long target = timeoutNs == long.MaxValue || NowNs > long.MaxValue - timeoutNs ? long.MaxValue : NowNs + timeoutNs;
        return AdvanceTo(target, condition);
    }

    private bool AdvanceTo(long target, Func<bool> condition)
    {
        while (true)
        {
            if (!_timers.TryPeek(out var t, out var key))
            {
                if (target != long.MaxValue)
                {
                    NowNs = Math.Max(NowNs, target);
                }
                return condition();
            }
            if (t.Done)
            {
                _timers.Dequeue();
                continue;
            }
            if (key.Expires > target)
            {
                if (target != long.MaxValue)
                {
                    NowNs = Math.Max(NowNs, target);
                }
                return condition();
            }
            NowNs = Math.Max(NowNs, key.Expires);
            RunDueTimers();
            if (condition())
            {
                return true;
            }
        }
    }
}
