// Models drivers/dma-buf/dma-fence-chain.c and include/linux/dma-fence-chain.h (Linux 6.1).
using Sim.Core;
using Sim.Core.Uapi;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_fence_chain</c>: one node of a timeline-semaphore chain. It wraps <see cref="Fence"/> and points
/// at the previous node (<see cref="Prev"/>), owning one reference to each; signalled nodes are garbage-collected
/// out of the chain while walking. Seqnos compare as u64 (<c>use_64bit_seqno</c>). The irq_work that re-arms the
/// callback runs at once in the simulator.
/// </summary>
[Kernel("dma_fence_chain", "include/linux/dma-fence-chain.h")]
public sealed class DmaFenceChain : DmaFence
{
    /// <summary><c>dma_fence_chain_ops</c>: the type tag of chain nodes.</summary>
    [Kernel("dma_fence_chain_ops", "drivers/dma-buf/dma-fence-chain.c")]
    public static readonly DmaFenceOps DmaFenceChainOps = new()
    {
        UseSeqno64 = true,
        GetDriverName = static _ => "dma_fence_chain",
        GetTimelineName = static _ => "unbound",
        EnableSignaling = static f => ((DmaFenceChain)f).EnableSignalingOp(),
        Signaled = static f => SignaledOp(f),
        Release = static f => ((DmaFenceChain)f).ReleaseOp(),
        SetDeadline = static (f, deadline) => SetDeadlineOp(f, deadline),
    };

    /// <summary><c>dma_fence_chain_set_deadline</c>: the deadline on the fence of every node (<c>dma_fence_chain_for_each</c>).</summary>
    [Kernel("dma_fence_chain_set_deadline", "drivers/dma-buf/dma-fence-chain.c")]
    private static void SetDeadlineOp(DmaFence head, long deadline)
    {
        for (DmaFence? iter = head.Get(); iter is not null; iter = Walk(iter))
        {
            Contained(iter).SetDeadline(deadline);
        }
    }

    private readonly DmaFenceCb _cb = new();
    private DmaFence? _fence;

    /// <summary><c>dma_fence_chain_alloc</c>: a node to be set up by <see cref="Init(DmaFenceCore, DmaFence?, DmaFence, ulong)"/>.</summary>
    [Kernel("dma_fence_chain_alloc", "include/linux/dma-fence-chain.h")]
    public DmaFenceChain()
    {
    }

    /// <summary><c>prev</c>: the previous node or fence (null at the start or after garbage collection).</summary>
    public DmaFence? Prev { get; private set; }

    /// <summary><c>prev_seqno</c>: the previous seqno before garbage collection.</summary>
    public ulong PrevSeqno { get; private set; }

    /// <summary><c>fence</c>: the encapsulated fence.</summary>
    public DmaFence Fence => _fence ?? throw new InvalidOperationException("dma_fence_chain used before dma_fence_chain_init");

    /// <summary>
    /// <c>dma_fence_chain_init(chain, prev, fence, seqno)</c>: takes over the references to
    /// <paramref name="prev"/> and <paramref name="fence"/>. The node reuses the previous node's context when its
    /// seqno is later; otherwise it gets a new context and (after a chain node) seqno = max(prev seqno, seqno).
    /// </summary>
    [Kernel("dma_fence_chain_init", "drivers/dma-buf/dma-fence-chain.c")]
    public void Init(DmaFenceCore core, DmaFence? prev, DmaFence fence, ulong seqno)
    {
        var prevChain = From(prev);
        ulong context;
        Prev = prev;
        _fence = fence;
        PrevSeqno = 0;
        if (prevChain is not null && IsLaterRaw(seqno, prev!.Seqno, prev.Ops))
        {
            context = prev.Context;
            PrevSeqno = prev.Seqno;
        }
        else
        {
            context = core.ContextAlloc(1);
            if (prevChain is not null)
            {
                seqno = Math.Max(prev!.Seqno, seqno);
            }
        }
        Init(core, DmaFenceChainOps, context, seqno);
        core.Warnings.On(fence.IsChain, "dma_fence_is_chain(fence)");
    }

    /// <summary><c>to_dma_fence_chain</c>: the node, or null when <paramref name="fence"/> is not one.</summary>
    [Kernel("to_dma_fence_chain", "include/linux/dma-fence-chain.h")]
    public static DmaFenceChain? From(DmaFence? fence) => fence is not null && fence.IsChain ? (DmaFenceChain)fence : null;

    /// <summary><c>dma_fence_chain_contained</c>: the wrapped fence of a node, the fence itself otherwise.</summary>
    [Kernel("dma_fence_chain_contained", "include/linux/dma-fence-chain.h")]
    public static DmaFence Contained(DmaFence fence) => From(fence)?.Fence ?? fence;

    [Kernel("dma_fence_chain_get_prev", "drivers/dma-buf/dma-fence-chain.c")]
    private static DmaFence? GetPrev(DmaFenceChain chain) => chain.Prev?.GetRcu();

    /// <summary>
    /// <c>dma_fence_chain_walk(fence)</c>: drops the reference to <paramref name="fence"/> and returns a reference
    /// to the next unsignalled node, unlinking signalled ones on the way (null at the end).
    /// </summary>
    [Kernel("dma_fence_chain_walk", "drivers/dma-buf/dma-fence-chain.c")]
    public static DmaFence? Walk(DmaFence fence)
    {
        var chain = From(fence);
        if (chain is null)
        {
            fence.Put();
            return null;
        }
        DmaFence? prev;
        while ((prev = GetPrev(chain)) is not null)
        {
            DmaFence? replacement;
            var prevChain = From(prev);
            if (prevChain is not null)
            {
                if (!prevChain.Fence.IsSignaled())
                {
                    break;
                }
                replacement = GetPrev(prevChain);
            }
            else
            {
                if (!prev.IsSignaled())
                {
                    break;
                }
                replacement = null;
            }
            var tmp = chain.Prev;
            if (ReferenceEquals(tmp, prev))
            {
                chain.Prev = replacement;
                tmp!.Put();
            }
            else
            {
                replacement?.Put();
            }
            prev.Put();
        }
        fence.Put();
        return prev;
    }

    /// <summary>
    /// <c>dma_fence_chain_find_seqno(pfence, seqno)</c>: advances <paramref name="pfence"/> (a reference the caller
    /// holds) to the node that signals <paramref name="seqno"/>; <c>-EINVAL</c> when it is not a chain or
    /// <paramref name="seqno"/> lies ahead of it. Seqno 0 leaves it unchanged.
    /// </summary>
    [Kernel("dma_fence_chain_find_seqno", "drivers/dma-buf/dma-fence-chain.c")]
    public static int FindSeqno(ref DmaFence? pfence, ulong seqno)
    {
        if (seqno == 0)
        {
            return 0;
        }
        var chain = From(pfence);
        if (chain is null || chain.Seqno < seqno)
        {
            return -(int)Errno.EINVAL;
        }
        for (pfence = chain.Get(); pfence is not null; pfence = Walk(pfence))
        {
            if (pfence.Context != chain.Context || From(pfence)!.PrevSeqno < seqno)
            {
                break;
            }
        }
        chain.Put();
        return 0;
    }

    [Kernel("dma_fence_chain_irq_work", "drivers/dma-buf/dma-fence-chain.c")]
    private void IrqWork()
    {
        // Try to rearm the callback; when no unsignalled fence is left, signal.
        if (!EnableSignalingOp())
        {
            Signal();
        }
        Put();
    }

    [Kernel("dma_fence_chain_cb", "drivers/dma-buf/dma-fence-chain.c")]
    private void Cb(DmaFence f)
    {
        f.Put();
        IrqWork();
    }

    [Kernel("dma_fence_chain_enable_signaling", "drivers/dma-buf/dma-fence-chain.c")]
    private bool EnableSignalingOp()
    {
        Get();
        for (DmaFence? iter = Get(); iter is not null; iter = Walk(iter))
        {
            var f = Contained(iter);
            f.Get();
            if (f.AddCallback(_cb, (sig, _) => Cb(sig)) == 0)
            {
                iter.Put();
                return true;
            }
            f.Put();
        }
        Put();
        return false;
    }

    [Kernel("dma_fence_chain_signaled", "drivers/dma-buf/dma-fence-chain.c")]
    private static bool SignaledOp(DmaFence fence)
    {
        for (DmaFence? iter = fence.Get(); iter is not null; iter = Walk(iter))
        {
            if (!Contained(iter).IsSignaled())
            {
                iter.Put();
                return false;
            }
        }
        return true;
    }

    [Kernel("dma_fence_chain_release", "drivers/dma-buf/dma-fence-chain.c")]
    private void ReleaseOp()
    {
        // Manually unlink the chain as much as possible to avoid recursion and a stack overflow.
        DmaFence? prev;
        while ((prev = Prev) is not null)
        {
            if (prev.RefCount > 1)
            {
                break;
            }
            var prevChain = From(prev);
            if (prevChain is null)
            {
                break;
            }
            Prev = prevChain.Prev;
            prevChain.Prev = null;
            prev.Put();
        }
        prev?.Put();
        _fence?.Put();
        Free();
    }
}
