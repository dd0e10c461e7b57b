// Models drivers/dma-buf/dma-fence-array.c (Linux 6.1).
using Sim.Core;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_fence_array</c>: a fence that signals when all (or, with <c>signal_on_any</c>, any one) of its
/// fences signalled, carrying the first error seen. It owns one reference to each fence, dropped at release.
/// The irq_work that signals it runs at once in the simulator (right after the last callback).
/// </summary>
[Kernel("dma_fence_array", "include/linux/dma-fence-array.h")]
public sealed class DmaFenceArray : DmaFence
{
    private const int PENDING_ERROR = 1;

    /// <summary><c>dma_fence_array_ops</c>: the type tag of arrays.</summary>
    [Kernel("dma_fence_array_ops", "drivers/dma-buf/dma-fence-array.c")]
    public static readonly DmaFenceOps DmaFenceArrayOps = new()
    {
        GetDriverName = static _ => "dma_fence_array",
        GetTimelineName = static _ => "unbound",
        EnableSignaling = static f => ((DmaFenceArray)f).EnableSignalingOp(),
        Signaled = static f => ((DmaFenceArray)f).SignaledOp(),
        Release = static f => ((DmaFenceArray)f).ReleaseOp(),
        SetDeadline = static (f, deadline) => ((DmaFenceArray)f).SetDeadlineOp(deadline),
    };

    [Kernel("dma_fence_array_set_deadline", "drivers/dma-buf/dma-fence-array.c")]
    private void SetDeadlineOp(long deadline)
    {
        foreach (var f in _fences)
        {
            f.SetDeadline(deadline);
        }
    }

    private DmaFence[] _fences = [];
    private DmaFenceCb[] _cbs = [];

    private DmaFenceArray()
    {
    }

    /// <summary><c>num_fences</c>.</summary>
    public int NumFences => _fences.Length;

    /// <summary><c>num_pending</c>: signals still awaited.</summary>
    public int NumPending { get; private set; }

    /// <summary><c>fences</c> (the array owns one reference to each).</summary>
    public IReadOnlyList<DmaFence> Fences => _fences;

    /// <summary>
    /// <c>dma_fence_array_create(num_fences, fences, context, seqno, signal_on_any)</c>: takes over the
    /// references in <paramref name="fences"/>. WARNs for an empty array and for containers inside.
    /// </summary>
    [Kernel("dma_fence_array_create", "drivers/dma-buf/dma-fence-array.c")]
    public static DmaFenceArray Create(DmaFenceCore core, DmaFence[] fences, ulong context, uint seqno, bool signalOnAny)
    {
        core.Warnings.On(fences is null || fences.Length == 0, "!num_fences || !fences");
        var array = new DmaFenceArray();
        array.Init(core, DmaFenceArrayOps, context, seqno);
        array._fences = fences ?? [];
        array._cbs = new DmaFenceCb[array._fences.Length];
        array.NumPending = signalOnAny ? 1 : array._fences.Length;
        array.Error = PENDING_ERROR;
        for (int i = array._fences.Length - 1; i >= 0; i--)
        {
            core.Warnings.On(array._fences[i].IsContainer, "dma_fence_is_container(fences[num_fences])");
        }
        return array;
    }

    /// <summary><c>to_dma_fence_array</c>: the array, or null when <paramref name="fence"/> is not one.</summary>
    [Kernel("to_dma_fence_array", "include/linux/dma-fence-array.h")]
    public static DmaFenceArray? From(DmaFence? fence) => fence is not null && fence.IsArray ? (DmaFenceArray)fence : null;

    /// <summary><c>dma_fence_match_context</c>: all fences (or the fence itself) belong to <paramref name="context"/>.</summary>
    [Kernel("dma_fence_match_context", "drivers/dma-buf/dma-fence-array.c")]
    public static bool MatchContext(DmaFence fence, ulong context)
    {
        var array = From(fence);
        if (array is null)
        {
            return fence.Context == context;
        }
        foreach (var f in array._fences)
        {
            if (f.Context != context)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary><c>dma_fence_array_first(head)</c>: the first fence of an array, the fence itself otherwise.</summary>
    [Kernel("dma_fence_array_first", "drivers/dma-buf/dma-fence-array.c")]
    public static DmaFence? First(DmaFence? head)
    {
        if (head is null)
        {
            return null;
        }
        var array = From(head);
        if (array is null)
        {
            return head;
        }
        return array._fences.Length == 0 ? null : array._fences[0];
    }

    /// <summary><c>dma_fence_array_next(head, index)</c>.</summary>
    [Kernel("dma_fence_array_next", "drivers/dma-buf/dma-fence-array.c")]
    public static DmaFence? Next(DmaFence head, int index)
    {
        var array = From(head);
        if (array is null || index >= array._fences.Length)
        {
            return null;
        }
        return array._fences[index];
    }

    [Kernel("dma_fence_array_set_pending_error", "drivers/dma-buf/dma-fence-array.c")]
    private void SetPendingError(int error)
    {
        if (error != 0 && Error == PENDING_ERROR)
        {
            Error = error;
        }
    }

    [Kernel("dma_fence_array_clear_pending_error", "drivers/dma-buf/dma-fence-array.c")]
    private void ClearPendingError()
    {
        if (Error == PENDING_ERROR)
        {
            Error = 0;
        }
    }

    [Kernel("irq_dma_fence_array_work", "drivers/dma-buf/dma-fence-array.c")]
    private void IrqWork()
    {
        ClearPendingError();
        Signal();
        Put();
    }

    [Kernel("dma_fence_array_cb_func", "drivers/dma-buf/dma-fence-array.c")]
    private void CbFunc(DmaFence f)
    {
        SetPendingError(f.Error);
        if (--NumPending == 0)
        {
            IrqWork();
        }
        else
        {
            Put();
        }
    }

    [Kernel("dma_fence_array_enable_signaling", "drivers/dma-buf/dma-fence-array.c")]
    private bool EnableSignalingOp()
    {
        for (int i = 0; i < _fences.Length; ++i)
        {
            _cbs[i] = new DmaFenceCb();
            // As we may report that the fence is signaled before all callbacks are complete, we need to take
            // an additional reference count on the array so that we do not free it too early.
            Get();
            if (_fences[i].AddCallback(_cbs[i], (f, _) => CbFunc(f)) != 0)
            {
                SetPendingError(_fences[i].Error);
                Put();
                if (--NumPending == 0)
                {
                    ClearPendingError();
                    return false;
                }
            }
        }
        return true;
    }

    [Kernel("dma_fence_array_signaled", "drivers/dma-buf/dma-fence-array.c")]
    private bool SignaledOp()
    {
        int numPending = NumPending;
        if (TestFlag(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT))
        {
            if (numPending <= 0)
            {
                ClearPendingError();
                return true;
            }
            return false;
        }
        for (int i = 0; i < _fences.Length; ++i)
        {
            if (_fences[i].IsSignaled() && --numPending == 0)
            {
                ClearPendingError();
                return true;
            }
        }
        return false;
    }

    [Kernel("dma_fence_array_release", "drivers/dma-buf/dma-fence-array.c")]
    private void ReleaseOp()
    {
        foreach (var f in _fences)
        {
            f.Put();
        }
        _fences = [];
        Free();
    }
}
