// Models struct dma_resv_iter and its walkers (include/linux/dma-resv.h, drivers/dma-buf/dma-resv.c, Linux 6.1).
using Sim.Core;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_resv_iter</c>, a cursor over a reservation object's fences with usage &lt;= <see cref="QueryUsage"/>.
/// Two walks, as in the kernel:
/// <list type="bullet">
/// <item>locked (<c>dma_resv_for_each_fence</c>: <see cref="First"/>/<see cref="Next"/>, lock held): every slot in
/// order, signalled fences included, no references taken;</item>
/// <item>unlocked (<c>dma_resv_for_each_fence_unlocked</c>: <see cref="FirstUnlocked"/>/<see cref="NextUnlocked"/>):
/// only unsignalled fences, the cursor holding a reference to the current one; when the object's table was
/// replaced meanwhile the walk restarts from the beginning (<see cref="IsRestarted"/>). End with <see cref="End"/>.</item>
/// </list>
/// A mutable struct: keep it in a local and call the methods on that local.
/// </summary>
[Kernel("dma_resv_iter", "include/linux/dma-resv.h")]
public struct DmaResvIter
{
    private readonly DmaResv _obj;
    private DmaFence? _fence;
    private uint _index;
    private DmaResvList? _fences;
    private bool _bogus;

    /// <summary><c>dma_resv_iter_begin(cursor, obj, usage)</c>.</summary>
    [Kernel("dma_resv_iter_begin", "include/linux/dma-resv.h")]
    public DmaResvIter(DmaResv obj, DmaResvUsage usage)
    {
        _obj = obj;
        QueryUsage = usage;
        _fence = null;
        _index = 0;
        _fences = null;
        _bogus = false;
        Usage = default;
        NumFencesSnapshot = 0;
        IsRestarted = false;
    }

    /// <summary><c>cursor-&gt;usage</c>: the query level.</summary>
    public DmaResvUsage QueryUsage { get; }

    /// <summary><c>dma_resv_iter_usage(cursor)</c>: the usage of the current fence.</summary>
    [Kernel("dma_resv_iter_usage", "include/linux/dma-resv.h")]
    public DmaResvUsage Usage { get; private set; }

    /// <summary><c>dma_resv_iter_is_restarted(cursor)</c>: the walk (re)started with the current fence.</summary>
    [Kernel("dma_resv_iter_is_restarted", "include/linux/dma-resv.h")]
    public bool IsRestarted { get; private set; }

    /// <summary><c>cursor-&gt;num_fences</c>: the slot count when the unlocked walk last (re)started.</summary>
    public uint NumFencesSnapshot { get; private set; }

    private readonly bool ListChanged => _bogus || !ReferenceEquals(_obj.FencesList, _fences);

    /// <summary>
    /// Makes the cursor's table pointer bogus, as <c>cursor.fences = (void *)~0</c> does in st-dma-resv.c
    /// (<c>test_for_each_unlocked</c>): the next unlocked step must restart.
    /// </summary>
    public void Invalidate() => _bogus = true;

    [Kernel("dma_resv_iter_restart_unlocked", "drivers/dma-buf/dma-resv.c")]
    private void RestartUnlocked()
    {
        _index = 0;
        NumFencesSnapshot = 0;
        _fences = _obj.FencesList;
        _bogus = false;
        if (_fences is not null)
        {
            NumFencesSnapshot = _fences.NumFences;
        }
        IsRestarted = true;
    }

    [Kernel("dma_resv_iter_walk_unlocked", "drivers/dma-buf/dma-resv.c")]
    private void WalkUnlocked()
    {
        if (_fences is null)
        {
            return;
        }
        while (true)
        {
            // Drop the reference from the previous round.
            _fence?.Put();
            if (_index >= NumFencesSnapshot)
            {
                _fence = null;
                break;
            }
            var slot = _fences.Table[_index++];
            Usage = slot.Usage;
            _fence = slot.Fence.GetRcu();
            if (_fence is null)
            {
                RestartUnlocked();
                continue;
            }
            if (!_fence.IsSignaled() && QueryUsage >= Usage)
            {
                break;
            }
        }
    }

    /// <summary><c>dma_resv_iter_first_unlocked(cursor)</c>: the first unsignalled fence (a cursor reference), or null.</summary>
    [Kernel("dma_resv_iter_first_unlocked", "drivers/dma-buf/dma-resv.c")]
    public DmaFence? FirstUnlocked()
    {
        do
        {
            RestartUnlocked();
            WalkUnlocked();
        }
        while (ListChanged);
        return _fence;
    }

    /// <summary><c>dma_resv_iter_next_unlocked(cursor)</c>: the next unsignalled fence, restarting if the table changed.</summary>
    [Kernel("dma_resv_iter_next_unlocked", "drivers/dma-buf/dma-resv.c")]
    public DmaFence? NextUnlocked()
    {
        IsRestarted = false;
        bool restart = ListChanged;
        do
        {
            if (restart)
            {
                RestartUnlocked();
            }
            WalkUnlocked();
            restart = true;
        }
        while (ListChanged);
        return _fence;
    }

    /// <summary><c>dma_resv_iter_first(cursor)</c>: the first slot's fence with the lock held (no reference taken).</summary>
    [Kernel("dma_resv_iter_first", "drivers/dma-buf/dma-resv.c")]
    public DmaFence? First()
    {
        _obj.AssertHeld();
        _index = 0;
        _fences = _obj.FencesList;
        var fence = Next();
        IsRestarted = true;
        return fence;
    }

    /// <summary><c>dma_resv_iter_next(cursor)</c>: the next slot's fence with usage &lt;= the query, lock held.</summary>
    [Kernel("dma_resv_iter_next", "drivers/dma-buf/dma-resv.c")]
    public DmaFence? Next()
    {
        _obj.AssertHeld();
        IsRestarted = false;
        DmaResvSlot slot;
        do
        {
            if (_fences is null || _index >= _fences.NumFences)
            {
                return null;
            }
            slot = _fences.Table[_index++];
            Usage = slot.Usage;
        }
        while (Usage > QueryUsage);
        return slot.Fence;
    }

    /// <summary><c>dma_resv_iter_end(cursor)</c>: drops the reference of an unlocked walk.</summary>
    [Kernel("dma_resv_iter_end", "include/linux/dma-resv.h")]
    public void End()
    {
        _fence?.Put();
        _fence = null;
    }
}
