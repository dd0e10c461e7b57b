// Models drivers/dma-buf/dma-fence-unwrap.c and include/linux/dma-fence-unwrap.h (Linux 6.1.192; 6.12.118 is the
// same code): walking the fences inside chain and array containers, and merging fences as sync_file does.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Lib;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_fence_unwrap</c>: the cursor of <c>dma_fence_unwrap_for_each</c>. The cursor holds a reference to
/// the chain node it is on (<see cref="Chain"/>); <c>dma_fence_chain_walk</c> drops it as it moves, so a walk that
/// runs to its end leaves no reference behind. Fences returned are not referenced.
/// </summary>
[Kernel("struct dma_fence_unwrap", "include/linux/dma-fence-unwrap.h")]
public sealed class DmaFenceUnwrap
{
    /// <summary><c>__dma_fence_unwrap_merge</c>'s <c>kmalloc_array</c> of the pending fences.</summary>
    internal static readonly FaultSite s_kmallocArray = FaultSite.Register("__dma_fence_unwrap_merge:kmalloc_array");
    /// <summary><c>dma_fence_allocate_private_stub</c>'s kzalloc.</summary>
    internal static readonly FaultSite s_kzallocStub = FaultSite.Register("dma_fence_allocate_private_stub:kzalloc");
    /// <summary><c>dma_fence_array_create</c>'s kzalloc.</summary>
    internal static readonly FaultSite s_kzallocArray = FaultSite.Register("dma_fence_array_create:kzalloc");

    /// <summary><c>chain</c>: the chain node (or plain fence) being walked; a reference.</summary>
    public DmaFence? Chain { get; private set; }

    /// <summary><c>array</c>: the contained fence of <see cref="Chain"/>, maybe an array.</summary>
    public DmaFence? Array { get; private set; }

    /// <summary><c>index</c>: the last index returned inside <see cref="Array"/>.</summary>
    public int Index { get; private set; }

    [Kernel("__dma_fence_unwrap_array", "drivers/dma-buf/dma-fence-unwrap.c")]
    private DmaFence? UnwrapArray()
    {
        Array = Chain is null ? null : DmaFenceChain.Contained(Chain);
        Index = 0;
        return DmaFenceArray.First(Array);
    }

    /// <summary><c>dma_fence_unwrap_first(head, cursor)</c>: takes a reference to <paramref name="head"/> and returns the first fence inside.</summary>
    [Kernel("dma_fence_unwrap_first", "drivers/dma-buf/dma-fence-unwrap.c")]
    public DmaFence? First(DmaFence head)
    {
        ArgumentNullException.ThrowIfNull(head);
        Chain = head.Get();
        return UnwrapArray();
    }

    /// <summary><c>dma_fence_unwrap_next(cursor)</c>: the next array element, else the next unsignalled chain node's fences.</summary>
    [Kernel("dma_fence_unwrap_next", "drivers/dma-buf/dma-fence-unwrap.c")]
    public DmaFence? Next()
    {
        ++Index;
        var tmp = Array is null ? null : DmaFenceArray.Next(Array, Index);
        if (tmp is not null)
        {
            return tmp;
        }
        Chain = Chain is null ? null : DmaFenceChain.Walk(Chain);
        return UnwrapArray();
    }

    /// <summary><c>dma_fence_unwrap_for_each(fence, cursor, head)</c> run to its end: the fences, in walk order, unreferenced.</summary>
    [Kernel("dma_fence_unwrap_for_each", "include/linux/dma-fence-unwrap.h")]
    public static List<DmaFence> ForEach(DmaFence head)
    {
        var list = new List<DmaFence>();
        var cursor = new DmaFenceUnwrap();
        for (var f = cursor.First(head); f is not null; f = cursor.Next())
        {
            list.Add(f);
        }
        return list;
    }

    /// <summary>
    /// <c>fence_cmp</c>: by context ascending, then the later fence first (<c>dma_fence_is_later(b, a)</c> puts
    /// <c>a</c> after <c>b</c>).
    /// </summary>
    [Kernel("fence_cmp", "drivers/dma-buf/dma-fence-unwrap.c")]
    internal static int FenceCmp(DmaFence a, DmaFence b)
    {
        if (a.Context < b.Context)
        {
            return -1;
        }
        if (a.Context > b.Context)
        {
            return 1;
        }
        if (b.IsLater(a))
        {
            return 1;
        }
        if (a.IsLater(b))
        {
            return -1;
        }
        return 0;
    }

    /// <summary>
    /// <c>dma_fence_unwrap_merge(...)</c> = <c>__dma_fence_unwrap_merge(num_fences, fences, cursors)</c>: counts the
    /// unsignalled fences inside all of <paramref name="fences"/> (keeping the latest signal timestamp of the
    /// others); none: a new private stub signalled at that timestamp. Otherwise they are collected (referenced,
    /// <c>kmalloc_array</c>), heap-sorted with <see cref="FenceCmp"/> and only the first (latest) of each
    /// context kept; one left: that fence itself; more: a new <c>dma_fence_array</c> (new context, seqno 1,
    /// signal on all). Returns a reference, or null when an allocation failed (no reference left behind).
    /// </summary>
    [Kernel("__dma_fence_unwrap_merge", "drivers/dma-buf/dma-fence-unwrap.c")]
    public static DmaFence? Merge(DmaFenceCore core, params DmaFence[] fences)
    {
        ArgumentNullException.ThrowIfNull(core);
        ArgumentNullException.ThrowIfNull(fences);
        int count = 0;
        long timestamp = 0;
        foreach (var head in fences)
        {
            foreach (var tmp in ForEach(head))
            {
                if (!tmp.IsSignaled())
                {
                    ++count;
                }
                else
                {
                    long t = tmp.Timestamp();
                    if (t > timestamp)
                    {
                        timestamp = t;
                    }
                }
            }
        }

        if (count == 0)
        {
            return AllocatePrivateStub(core, timestamp);
        }

        if (s_kmallocArray.ShouldFail())
        {
            return null;
        }
        var array = new DmaFence[count];
        count = 0;
        foreach (var head in fences)
        {
            foreach (var tmp in ForEach(head))
            {
                if (!tmp.IsSignaled())
                {
                    array[count++] = tmp.Get();
                }
                else
                {
                    long t = tmp.Timestamp();
                    if (t > timestamp)
                    {
                        timestamp = t;
                    }
                }
            }
        }

        if (count is 0 or 1)
        {
            goto return_fastpath;
        }

        Sort.Heapsort(array.AsSpan(0, count), FenceCmp);

        // Only keep the most recent fence for each context.
        int j = 0;
        for (int i = 1; i < count; i++)
        {
            if (array[i].Context == array[j].Context)
            {
                array[i].Put();
            }
            else
            {
                array[++j] = array[i];
            }
        }
        count = ++j;

        if (count > 1)
        {
            if (s_kzallocArray.ShouldFail())
            {
                for (int i = 0; i < count; i++)
                {
                    array[i].Put();
                }
                return null;
            }
            return DmaFenceArray.Create(core, array[..count], core.ContextAlloc(1), 1, false);
        }

    return_fastpath:
        return count == 0 ? AllocatePrivateStub(core, timestamp) : array[0];
    }

    private static DmaFence? AllocatePrivateStub(DmaFenceCore core, long timestamp) =>
        s_kzallocStub.ShouldFail() ? null : core.AllocatePrivateStub(timestamp);
}
