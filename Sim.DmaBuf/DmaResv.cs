// Models drivers/dma-buf/dma-resv.c and the inline helpers of include/linux/dma-resv.h (Linux 6.1).
using System.Text;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Locking;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBufs;

/// <summary>One slot of a reservation object: a fence and its usage.</summary>
public readonly record struct DmaResvSlot(DmaFence Fence, DmaResvUsage Usage);

/// <summary>
/// <c>struct dma_resv_list</c>: the fence table. Its capacity is what <c>ksize()</c> reports for the allocation
/// (<c>max_fences</c> = (ksize - 24) / 8), so a reservation of 4 slots holds 5.
/// </summary>
[Kernel("dma_resv_list", "drivers/dma-buf/dma-resv.c")]
internal sealed class DmaResvList
{
    /// <summary>offsetof(struct dma_resv_list, table): rcu_head (16) + num_fences + max_fences.</summary>
    private const ulong TableOffset = 24;

    private DmaResvList(uint max)
    {
        Table = new DmaResvSlot[max];
        MaxFences = max;
    }

    public uint NumFences;

    public uint MaxFences;

    public readonly DmaResvSlot[] Table;

    private static readonly FaultSite s_kmalloc = FaultSite.Register("dma_resv_list_alloc:kmalloc");

    /// <summary><c>dma_resv_list_alloc(max_fences)</c>: null when kmalloc fails.</summary>
    [Kernel("dma_resv_list_alloc", "drivers/dma-buf/dma-resv.c")]
    public static DmaResvList? Alloc(uint maxFences)
    {
        if (s_kmalloc.ShouldFail())
        {
            return null;
        }
        ulong size = TableOffset + 8UL * maxFences;
        ulong ksize = SlabCommon.KmallocSizeRoundup(size);
        if (ksize == 0)
        {
            return null;
        }
        return new DmaResvList((uint)((ksize - TableOffset) / 8));
    }

    /// <summary><c>dma_resv_list_free</c>: drops the reference of every slot.</summary>
    [Kernel("dma_resv_list_free", "drivers/dma-buf/dma-resv.c")]
    public static void Free(DmaResvList? list)
    {
        if (list is null)
        {
            return;
        }
        for (uint i = 0; i < list.NumFences; ++i)
        {
            list.Table[i].Fence.Put();
        }
        Array.Clear(list.Table);
    }
}

/// <summary>
/// <c>struct dma_resv</c>: the reservation object of a buffer: a ww_mutex (<see cref="Lock"/>) and a table of
/// fences each with a <see cref="DmaResvUsage"/>. Constructing one is <c>dma_resv_init</c>; <see cref="Fini"/>
/// drops every fence reference. Slot rules (<see cref="AddFence"/>): a new fence takes over the first slot whose
/// fence has signalled, or whose fence is of the same context with a usage &gt;= the new usage and is not later
/// than the new fence (the same fence counts; an equal seqno of another fence does not); otherwise it is appended.
/// <see cref="ReserveFences"/> compacts the table when it grows: signalled fences are dropped and the others keep
/// their order. Modifying calls assert the lock (<c>dma_resv_assert_held</c> as a WARN).
/// </summary>
[Kernel("dma_resv", "include/linux/dma-resv.h")]
public sealed class DmaResv
{
    private static readonly string[] s_usageNames = ["kernel", "write", "read", "bookkeep"];

    private DmaResvList? _fences;

    /// <summary><c>dma_resv_init(obj)</c>.</summary>
    [Kernel("dma_resv_init", "drivers/dma-buf/dma-resv.c")]
    public DmaResv(DmaFenceCore core)
    {
        Core = core;
        LockObj = new WwMutex(core.ReservationWwClass);
    }

    /// <summary>The machine's fence core.</summary>
    public DmaFenceCore Core { get; }

    /// <summary><c>obj-&gt;lock</c>: the ww_mutex of <c>reservation_ww_class</c>.</summary>
    public WwMutex LockObj { get; }

    private Warnings Warnings => Core.Warnings;

    internal DmaResvList? FencesList => _fences;

    /// <summary><c>num_fences</c> of the table (0 before the first reservation).</summary>
    public int NumFences => (int)(_fences?.NumFences ?? 0);

    /// <summary><c>max_fences</c> of the table (0 before the first reservation).</summary>
    public int MaxFences => (int)(_fences?.MaxFences ?? 0);

    /// <summary>The slots in order (a snapshot, for inspection).</summary>
    public DmaResvSlot[] Slots()
    {
        var list = _fences;
        if (list is null)
        {
            return [];
        }
        var slots = new DmaResvSlot[list.NumFences];
        Array.Copy(list.Table, slots, slots.Length);
        return slots;
    }

    /// <summary><c>dma_resv_fini(obj)</c>: drops the fences and destroys the lock.</summary>
    [Kernel("dma_resv_fini", "drivers/dma-buf/dma-resv.c")]
    public void Fini()
    {
        // This object should be dead and all references to it must have been released already.
        DmaResvList.Free(_fences);
        _fences = null;
        LockObj.Destroy(Warnings);
    }

    /// <summary><c>dma_resv_lock(obj, ctx)</c>: 0, <c>-EALREADY</c> or <c>-EDEADLK</c> (see <see cref="WwMutex.Lock"/>).</summary>
    [Kernel("dma_resv_lock", "include/linux/dma-resv.h")]
    public int Lock(WwAcquireCtx? ctx) => LockObj.Lock(ctx);

    /// <summary><c>dma_resv_lock_interruptible(obj, ctx)</c>.</summary>
    [Kernel("dma_resv_lock_interruptible", "include/linux/dma-resv.h")]
    public int LockInterruptible(WwAcquireCtx? ctx) => LockObj.LockInterruptible(ctx);

    /// <summary><c>dma_resv_lock_slow(obj, ctx)</c>: the lock after backing off from <c>-EDEADLK</c>.</summary>
    [Kernel("dma_resv_lock_slow", "include/linux/dma-resv.h")]
    public void LockSlow(WwAcquireCtx ctx) => LockObj.LockSlow(ctx, Warnings);

    /// <summary><c>dma_resv_lock_slow_interruptible(obj, ctx)</c>: 0.</summary>
    [Kernel("dma_resv_lock_slow_interruptible", "include/linux/dma-resv.h")]
    public int LockSlowInterruptible(WwAcquireCtx ctx)
    {
        LockObj.LockSlow(ctx, Warnings);
        return 0;
    }

    /// <summary><c>dma_resv_trylock(obj)</c>.</summary>
    [Kernel("dma_resv_trylock", "include/linux/dma-resv.h")]
    public bool Trylock() => LockObj.Trylock(null);

    /// <summary><c>dma_resv_is_locked(obj)</c>.</summary>
    [Kernel("dma_resv_is_locked", "include/linux/dma-resv.h")]
    public bool IsLocked => LockObj.IsLocked;

    /// <summary><c>dma_resv_locking_ctx(obj)</c>.</summary>
    [Kernel("dma_resv_locking_ctx", "include/linux/dma-resv.h")]
    public WwAcquireCtx? LockingCtx => LockObj.Ctx;

    /// <summary>
    /// <c>dma_resv_unlock(obj)</c>. (Debian's kernel has no CONFIG_DEBUG_MUTEXES, so the unlock does not call
    /// <see cref="ResetMaxFences"/>.)
    /// </summary>
    [Kernel("dma_resv_unlock", "include/linux/dma-resv.h")]
    public void Unlock() => LockObj.Unlock(Warnings);

    /// <summary><c>dma_resv_held(obj)</c>: held by the (single) running task.</summary>
    [Kernel("dma_resv_held", "include/linux/dma-resv.h")]
    public bool Held => LockObj.IsLocked;

    /// <summary><c>dma_resv_assert_held(obj)</c>: a WARN when the lock is not held; returns true if it fired.</summary>
    [Kernel("dma_resv_assert_held", "include/linux/dma-resv.h")]
    public bool AssertHeld([System.Runtime.CompilerServices.CallerMemberName] string caller = "") =>
        Warnings.On(!LockObj.IsLocked, "dma_resv_assert_held", caller);

    /// <summary>
    /// <c>dma_resv_reset_max_fences(obj)</c> (CONFIG_DEBUG_MUTEXES): shrinks <c>max_fences</c> to the slots in use,
    /// so an add without a reservation hits the BUG_ON.
    /// </summary>
    [Kernel("dma_resv_reset_max_fences", "drivers/dma-buf/dma-resv.c")]
    public void ResetMaxFences()
    {
        AssertHeld();
        if (_fences is { } list)
        {
            list.MaxFences = list.NumFences;
        }
    }

    /// <summary>
    /// <c>dma_resv_reserve_fences(obj, num_fences)</c>: makes room for <paramref name="num_fences"/> more slots.
    /// 0 at once when they fit; otherwise a new table of max(num + needed, 2 * max) (at first max(4,
    /// roundup_pow_of_two(num))) rounded up by ksize, with the unsignalled fences moved in order and the signalled
    /// ones dropped; <c>-ENOMEM</c> when the table cannot be allocated. On 6.12, 0 fences is a WARN and <c>-EINVAL</c>
    /// (6.1 accepts it: with a table that has room it returns 0, else it allocates one of at least 4 slots).
    /// </summary>
    [Kernel("dma_resv_reserve_fences", "drivers/dma-buf/dma-resv.c")]
    public int ReserveFences(uint num_fences)
    {
        AssertHeld();
        // 6.12: "Driver and component code should never call this function with num_fences=0".
        if (Core.Kernel >= Sim.Core.Boot.KernelVersion.V6_12 &&
            Warnings.On(num_fences == 0, "WARN_ON(!num_fences)", "dma_resv_reserve_fences"))
        {
            return -(int)Errno.EINVAL;
        }
        var old = _fences;
        ulong max;
        if (old is not null && old.MaxFences != 0)
        {
            if ((ulong)old.NumFences + num_fences <= old.MaxFences)
            {
                return 0;
            }
            max = Math.Max((ulong)old.NumFences + num_fences, (ulong)old.MaxFences * 2);
        }
        else
        {
            max = Math.Max(4UL, RoundupPowOfTwo(num_fences));
        }
        var list = max > uint.MaxValue ? null : DmaResvList.Alloc((uint)max);
        if (list is null)
        {
            return -(int)Errno.ENOMEM;
        }
        // Signalled fences go to the end of the new table (and are dropped below); the others keep their order.
        uint j = 0, k = (uint)max;
        for (uint i = 0; i < (old?.NumFences ?? 0); ++i)
        {
            var slot = old!.Table[i];
            if (slot.Fence.IsSignaled())
            {
                list.Table[--k] = new DmaResvSlot(slot.Fence, default);
            }
            else
            {
                list.Table[j++] = slot;
            }
        }
        list.NumFences = j;
        _fences = list;
        if (old is null)
        {
            return 0;
        }
        // Drop the references to the signalled fences.
        for (uint i = k; i < max; ++i)
        {
            list.Table[i].Fence.Put();
            list.Table[i] = default;
        }
        return 0;
    }

    private static ulong RoundupPowOfTwo(uint n) => n <= 1 ? 1 : 1UL << (32 - System.Numerics.BitOperations.LeadingZeroCount(n - 1));

    /// <summary>
    /// <c>dma_resv_add_fence(obj, fence, usage)</c>: takes a reference to <paramref name="fence"/> and puts it in the
    /// first slot it may replace (a signalled fence, or one of the same context with usage &gt;= <paramref name="usage"/>
    /// that <paramref name="fence"/> is later than or the same as), dropping the old fence; otherwise appends it.
    /// Needs a prior <see cref="ReserveFences"/>: without a free slot the kernel hits BUG_ON (here
    /// <see cref="KernelBugException"/>). Containers WARN.
    /// </summary>
    [Kernel("dma_resv_add_fence", "drivers/dma-buf/dma-resv.c")]
    public void AddFence(DmaFence fence, DmaResvUsage usage)
    {
        fence.Get();
        AssertHeld();
        // Drivers should not add containers here, instead add each fence individually.
        Warnings.On(fence.IsContainer, "dma_fence_is_container(fence)");
        var fobj = _fences;
        KernelBugException.On(fobj is null, "NULL pointer dereference: dma_resv_add_fence before dma_resv_reserve_fences");
        uint count = fobj!.NumFences;
        uint i;
        for (i = 0; i < count; ++i)
        {
            var (old, oldUsage) = fobj.Table[i];
            if ((old.Context == fence.Context && oldUsage >= usage && fence.IsLaterOrSame(old)) || old.IsSignaled())
            {
                fobj.Table[i] = new DmaResvSlot(fence, usage);
                old.Put();
                return;
            }
        }
        KernelBugException.On(fobj.NumFences >= fobj.MaxFences, "dma_resv_add_fence: num_fences >= max_fences");
        fobj.Table[i] = new DmaResvSlot(fence, usage);
        fobj.NumFences = count + 1;
    }

    /// <summary>
    /// <c>dma_resv_replace_fences(obj, context, replacement, usage)</c>: every slot of <paramref name="context"/>
    /// gets <paramref name="replacement"/> (one reference each) with <paramref name="usage"/>.
    /// </summary>
    [Kernel("dma_resv_replace_fences", "drivers/dma-buf/dma-resv.c")]
    public void ReplaceFences(ulong context, DmaFence replacement, DmaResvUsage usage)
    {
        AssertHeld();
        var list = _fences;
        for (uint i = 0; list is not null && i < list.NumFences; ++i)
        {
            var old = list.Table[i].Fence;
            if (old.Context != context)
            {
                continue;
            }
            list.Table[i] = new DmaResvSlot(replacement.Get(), usage);
            old.Put();
        }
    }

    /// <summary>
    /// <c>dma_resv_get_fences(obj, usage, num_fences, fences)</c>: references to every unsignalled fence with usage
    /// &lt;= <paramref name="usage"/>, in slot order. Returns 0.
    /// </summary>
    [Kernel("dma_resv_get_fences", "drivers/dma-buf/dma-resv.c")]
    public int GetFences(DmaResvUsage usage, out DmaFence[] fences)
    {
        DmaFence[] arr = [];
        int count = 0;
        var cursor = new DmaResvIter(this, usage);
        for (var fence = cursor.FirstUnlocked(); fence is not null; fence = cursor.NextUnlocked())
        {
            if (cursor.IsRestarted)
            {
                while (count > 0)
                {
                    arr[--count].Put();
                }
                arr = new DmaFence[cursor.NumFencesSnapshot + 1];
            }
            arr[count++] = fence.Get();
        }
        cursor.End();
        fences = count == arr.Length ? arr : arr[..count];
        return 0;
    }

    /// <summary>
    /// <c>dma_resv_get_singleton(obj, usage, fence)</c>: null when nothing is unsignalled, the one fence, or a new
    /// <see cref="DmaFenceArray"/> (new context, seqno 1) of all of them. Returns 0.
    /// </summary>
    [Kernel("dma_resv_get_singleton", "drivers/dma-buf/dma-resv.c")]
    public int GetSingleton(DmaResvUsage usage, out DmaFence? fence)
    {
        int r = GetFences(usage, out var fences);
        if (r != 0)
        {
            fence = null;
            return r;
        }
        if (fences.Length == 0)
        {
            fence = null;
            return 0;
        }
        if (fences.Length == 1)
        {
            fence = fences[0];
            return 0;
        }
        fence = DmaFenceArray.Create(Core, fences, Core.ContextAlloc(1), 1, false);
        return 0;
    }

    /// <summary>
    /// <c>dma_resv_copy_fences(dst, src)</c>: this object's table becomes a copy of <paramref name="src"/>'s
    /// unsignalled fences (all usages); the old table's references are dropped. Returns 0.
    /// </summary>
    [Kernel("dma_resv_copy_fences", "drivers/dma-buf/dma-resv.c")]
    public int CopyFences(DmaResv src)
    {
        AssertHeld();
        DmaResvList? list = null;
        var cursor = new DmaResvIter(src, DmaResvUsage.BOOKKEEP);
        for (var f = cursor.FirstUnlocked(); f is not null; f = cursor.NextUnlocked())
        {
            if (cursor.IsRestarted)
            {
                DmaResvList.Free(list);
                list = DmaResvList.Alloc(cursor.NumFencesSnapshot);
                if (list is null)
                {
                    cursor.End();
                    return -(int)Errno.ENOMEM;
                }
                list.NumFences = 0;
            }
            f.Get();
            list!.Table[list.NumFences++] = new DmaResvSlot(f, cursor.Usage);
        }
        cursor.End();
        var old = _fences;
        _fences = list;
        DmaResvList.Free(old);
        return 0;
    }

    /// <summary>
    /// <c>dma_resv_wait_timeout(obj, usage, intr, timeout)</c>: waits for every unsignalled fence with usage &lt;=
    /// <paramref name="usage"/>, one after the other, each with the time left. Returns the jiffies left
    /// (<paramref name="timeout"/> itself, or 1 for a timeout of 0, when nothing had to be waited for), 0 when a wait
    /// timed out (at once for a timeout of 0), or a negative error.
    /// </summary>
    [Kernel("dma_resv_wait_timeout", "drivers/dma-buf/dma-resv.c")]
    public long WaitTimeout(DmaResvUsage usage, bool intr, ulong timeout)
    {
        long ret = timeout != 0 ? unchecked((long)timeout) : 1;
        var cursor = new DmaResvIter(this, usage);
        for (var fence = cursor.FirstUnlocked(); fence is not null; fence = cursor.NextUnlocked())
        {
            ret = fence.WaitTimeout(intr, unchecked((long)timeout));
            if (ret <= 0)
            {
                break;
            }
            // Even for zero timeout the return value is 1.
            if (timeout != 0)
            {
                timeout = (ulong)ret;
            }
        }
        cursor.End();
        return ret;
    }

    /// <summary><c>dma_resv_test_signaled(obj, usage)</c>: true when no fence with usage &lt;= <paramref name="usage"/> is unsignalled.</summary>
    [Kernel("dma_resv_test_signaled", "drivers/dma-buf/dma-resv.c")]
    public bool TestSignaled(DmaResvUsage usage)
    {
        var cursor = new DmaResvIter(this, usage);
        var fence = cursor.FirstUnlocked();
        cursor.End();
        return fence is null;
    }

    /// <summary><c>dma_resv_describe(obj, seq)</c>: one line per fence with usage &lt;= READ (lock held).</summary>
    [Kernel("dma_resv_describe", "drivers/dma-buf/dma-resv.c")]
    public string Describe()
    {
        var sb = new StringBuilder();
        var cursor = new DmaResvIter(this, DmaResvUsage.READ);
        for (var fence = cursor.First(); fence is not null; fence = cursor.Next())
        {
            sb.Append('\t').Append(s_usageNames[(int)cursor.Usage]).Append(" fence:").Append(fence.Describe());
        }
        return sb.ToString();
    }
}
