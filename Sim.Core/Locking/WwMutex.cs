// Models the wound/wait mutexes of kernel/locking/ww_mutex.h and ww_rt_mutex/mutex.c (Linux 6.1), for the
// single task the simulator runs.
using Sim.Core.Debug;
using Sim.Core.Uapi;

namespace Sim.Core.Locking;

/// <summary>
/// <c>struct ww_class</c>: the stamp counter of one lock class (<c>DEFINE_WD_CLASS</c> = wait-die,
/// <c>DEFINE_WW_CLASS</c> = wound-wait). One instance per machine and class, e.g. <c>reservation_ww_class</c>.
/// </summary>
[Kernel("ww_class", "include/linux/ww_mutex.h")]
public sealed class WwClass(string name, bool isWaitDie)
{
    private long _stamp;

    /// <summary>The class name (<c>reservation_ww_class</c>).</summary>
    public string Name { get; } = name;

    /// <summary>True for <c>DEFINE_WD_CLASS</c> (wait-die), false for wound-wait.</summary>
    public bool IsWaitDie { get; } = isWaitDie;

    internal long NextStamp() => ++_stamp;
}

/// <summary><c>struct ww_acquire_ctx</c>: one acquire transaction with its age stamp.</summary>
[Kernel("ww_acquire_ctx", "include/linux/ww_mutex.h")]
public sealed class WwAcquireCtx
{
    /// <summary><c>ww_acquire_init(ctx, ww_class)</c>: takes the next stamp of the class.</summary>
    [Kernel("ww_acquire_init", "include/linux/ww_mutex.h")]
    public WwAcquireCtx(WwClass wwClass)
    {
        Class = wwClass;
        Stamp = wwClass.NextStamp();
    }

    /// <summary>The lock class.</summary>
    public WwClass Class { get; }

    /// <summary>The age stamp: lower is older (and wins).</summary>
    public long Stamp { get; }

    /// <summary>How many ww_mutexes this context holds.</summary>
    public int Acquired { get; internal set; }

    /// <summary>Set by <see cref="Done"/>.</summary>
    public bool IsDone { get; private set; }

    /// <summary>Set by <see cref="Fini"/>.</summary>
    public bool IsFini { get; private set; }

    /// <summary><c>ww_acquire_done</c>: no more locks will be taken in this context.</summary>
    [Kernel("ww_acquire_done", "include/linux/ww_mutex.h")]
    public void Done() => IsDone = true;

    /// <summary><c>ww_acquire_fini</c>: all locks must have been released.</summary>
    [Kernel("ww_acquire_fini", "include/linux/ww_mutex.h")]
    public void Fini(Warnings? warn = null)
    {
        warn?.On(Acquired != 0, "ww_acquire_fini with locks held");
        IsFini = true;
    }

    /// <summary><c>__ww_ctx_less(a, b)</c>: a is younger (its stamp is later) than b.</summary>
    [Kernel("__ww_ctx_less", "kernel/locking/ww_mutex.h")]
    public static bool Less(WwAcquireCtx a, WwAcquireCtx b) => a.Stamp - b.Stamp > 0;
}

/// <summary>
/// <c>struct ww_mutex</c>. The simulator runs one task, so "held" means held by that task. A lock attempt that
/// the kernel would answer by sleeping until another context lets go can never be satisfied here (nothing else
/// runs): it throws <see cref="KernelBugException"/> as a hang. Everything the kernel answers with a value is a
/// value: <c>-EALREADY</c> (relocking with the same context), <c>-EDEADLK</c> (wait-die: a younger context that
/// already holds locks meets a lock of an older one).
/// </summary>
[Kernel("ww_mutex", "include/linux/ww_mutex.h")]
public sealed class WwMutex(WwClass wwClass)
{
    /// <summary>The lock class.</summary>
    public WwClass Class { get; } = wwClass;

    /// <summary>True while locked (<c>ww_mutex_is_locked</c>).</summary>
    public bool IsLocked { get; private set; }

    /// <summary>The context that holds it (<c>lock->ctx</c>), null when free or locked without a context.</summary>
    public WwAcquireCtx? Ctx { get; private set; }

    /// <summary>True after <see cref="Destroy"/>.</summary>
    public bool Destroyed { get; private set; }

    /// <summary>
    /// <c>ww_mutex_lock(lock, ctx)</c>: 0, <c>-EALREADY</c> when <paramref name="ctx"/> already holds it,
    /// <c>-EDEADLK</c> when the wait-die rule kills this (younger, lock-holding) context.
    /// </summary>
    [Kernel("ww_mutex_lock", "kernel/locking/mutex.c")]
    public int Lock(WwAcquireCtx? ctx)
    {
        if (ctx is not null && ReferenceEquals(ctx, Ctx))
        {
            return -(int)Errno.EALREADY;
        }
        if (!IsLocked)
        {
            Take(ctx);
            return 0;
        }
        if (ctx is not null && Ctx is { } hold && ctx.Acquired > 0)
        {
            bool kill = Class.IsWaitDie && WwAcquireCtx.Less(ctx, hold);
            if (kill)
            {
                return -(int)Errno.EDEADLK;
            }
        }
        throw new KernelBugException($"hung task: ww_mutex_lock on a {Class.Name} lock held by another " +
            "context would sleep, and no other task can run to release it");
    }

    /// <summary><c>ww_mutex_lock_interruptible</c>: as <see cref="Lock"/> (no signals are ever pending).</summary>
    [Kernel("ww_mutex_lock_interruptible", "kernel/locking/mutex.c")]
    public int LockInterruptible(WwAcquireCtx? ctx) => Lock(ctx);

    /// <summary><c>ww_mutex_lock_slow</c>: the lock after a back-off (the context must hold nothing).</summary>
    [Kernel("ww_mutex_lock_slow", "include/linux/ww_mutex.h")]
    public void LockSlow(WwAcquireCtx ctx, Warnings? warn = null)
    {
        warn?.On(ctx.Acquired != 0, "ww_mutex_lock_slow with locks held");
        int r = Lock(ctx);
        KernelBugException.On(r != 0, "ww_mutex_lock_slow failed");
    }

    /// <summary><c>ww_mutex_trylock(lock, ctx)</c>: true if taken.</summary>
    [Kernel("ww_mutex_trylock", "kernel/locking/mutex.c")]
    public bool Trylock(WwAcquireCtx? ctx)
    {
        if (IsLocked)
        {
            return false;
        }
        Take(ctx);
        return true;
    }

    /// <summary><c>ww_mutex_unlock</c>: unlocking a free lock is a WARN.</summary>
    [Kernel("ww_mutex_unlock", "kernel/locking/mutex.c")]
    public void Unlock(Warnings? warn = null)
    {
        if (warn?.On(!IsLocked, "ww_mutex_unlock of an unlocked mutex") == true || !IsLocked)
        {
            return;
        }
        if (Ctx is { } c)
        {
            if (c.Acquired > 0)
            {
                c.Acquired--;
            }
            Ctx = null;
        }
        IsLocked = false;
    }

    /// <summary><c>ww_mutex_destroy</c>.</summary>
    [Kernel("ww_mutex_destroy", "include/linux/ww_mutex.h")]
    public void Destroy(Warnings? warn = null)
    {
        warn?.On(IsLocked, "ww_mutex_destroy of a locked mutex");
        Destroyed = true;
    }

    private void Take(WwAcquireCtx? ctx)
    {
        IsLocked = true;
        Ctx = ctx;
        if (ctx is not null)
        {
            ctx.Acquired++;
        }
    }
}
