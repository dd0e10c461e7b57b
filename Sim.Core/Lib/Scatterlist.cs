// Models struct scatterlist and the chaining helpers of include/linux/scatterlist.h and lib/scatterlist.c
// (Linux 6.1): sg_next, sg_chain, sg_mark_end, __sg_alloc_table / sg_alloc_table, sg_free_table.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Sim.Core.Uapi;

namespace Sim.Core.Lib;

/// <summary>
/// <c>struct scatterlist</c> with the kernel's x86-64 layout (32 bytes): <c>page_link</c> (the page, or the
/// next chunk for a chain slot, with <see cref="SG_CHAIN"/> and <see cref="SG_END"/> in the low bits),
/// <c>offset</c>, <c>length</c>, <c>dma_address</c>, <c>dma_length</c>.
/// In the simulator a page pointer is its pfn: <c>page_link = pfn &lt;&lt; 2 | flags</c>; a chain slot holds the
/// index of the next chunk of its <see cref="SgTable"/>: <c>page_link = chunk &lt;&lt; 2 | SG_CHAIN</c>.
/// </summary>
[Kernel("struct scatterlist", "include/linux/scatterlist.h")]
[StructLayout(LayoutKind.Sequential, Size = 32)]
public struct Scatterlist
{
    /// <summary>The chain bit of <c>page_link</c>.</summary>
    public const ulong SG_CHAIN = 0x01;

    /// <summary>The end-of-list bit of <c>page_link</c>.</summary>
    public const ulong SG_END = 0x02;

    /// <summary>Mask of both bits.</summary>
    public const ulong SG_PAGE_LINK_MASK = SG_CHAIN | SG_END;

    /// <summary><c>page_link</c>.</summary>
    public ulong PageLink;

    /// <summary><c>offset</c> in the first page.</summary>
    public uint Offset;

    /// <summary><c>length</c> in bytes.</summary>
    public uint Length;

    /// <summary><c>dma_address</c> (<c>sg_dma_address</c>).</summary>
    public ulong DmaAddress;

    /// <summary><c>dma_length</c> (<c>sg_dma_len</c>).</summary>
    public uint DmaLength;

    private uint _pad;

    /// <summary><c>sg_is_chain</c>.</summary>
    public readonly bool IsChain
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (PageLink & SG_CHAIN) != 0;
    }

    /// <summary><c>sg_is_last</c>.</summary>
    public readonly bool IsLast
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => (PageLink & SG_END) != 0;
    }

    /// <summary><c>page_to_pfn(sg_page(sg))</c>.</summary>
    public readonly ulong Pfn => PageLink >> 2;

    /// <summary>For a chain slot: the index of the chunk it links to (<c>sg_chain_ptr</c>).</summary>
    public readonly int ChainChunk => (int)(PageLink >> 2);

    /// <summary><c>sg_set_page(sg, page, len, offset)</c>, keeping the end bit.</summary>
    [Kernel("sg_set_page")]
    public void SetPage(ulong pfn, uint length, uint offset)
    {
        PageLink = (pfn << 2) | (PageLink & SG_END);
        Offset = offset;
        Length = length;
    }

    /// <summary>Keeps the compiler from flagging the padding word (it mirrors the C struct's tail padding).</summary>
    internal readonly uint Padding => _pad;
}

/// <summary>A pointer to one slot of a chained table: chunk number and slot index (a <c>struct scatterlist *</c>).</summary>
public readonly record struct SgCursor(int Chunk, int Index)
{
    /// <summary>The NULL pointer.</summary>
    public static readonly SgCursor Null = new(-1, -1);

    /// <summary>True for NULL.</summary>
    public bool IsNull => Chunk < 0;
}

/// <summary>
/// <c>struct sg_table</c> { sgl, nents, orig_nents } over kernel-shaped chunks: each chunk is a separate native
/// allocation (<see cref="SgChunks"/>: a page of its own when full, as <c>sg_kmalloc</c> takes it from
/// <c>__get_free_page</c>, else a kmalloc) of at most <see cref="SG_MAX_SINGLE_ALLOC"/> slots; a full chunk followed
/// by another ends in a chain slot. <see cref="Chunks"/> may number the chunks in any order: the chain slots, not the
/// numbering, define the list. <see cref="Free"/> (<c>sg_free_table</c>) frees them; a table dropped without it is
/// a leak, freed and counted by the chunks' finaliser (<see cref="Debug.FinaliserLeaks"/>).
/// </summary>
[Kernel("struct sg_table", "include/linux/scatterlist.h")]
public sealed partial class SgTable
{
    /// <summary><c>SG_MAX_SINGLE_ALLOC</c>: slots per chunk (PAGE_SIZE / sizeof(struct scatterlist)).</summary>
    public const int SG_MAX_SINGLE_ALLOC = 128;

    private SgChunks _chunks = SgChunks.Empty;
    private SgCursor _sgl = SgCursor.Null;
    private int _nents;

    /// <summary>
    /// The chunks (separately allocated runs of slots in native memory). Setting it counts as a change
    /// (<see cref="Generation"/>); it does not free the chunks it replaces (overwriting <c>sgl</c> leaks them in the
    /// kernel too); tables may share chunks (a view), and <see cref="Free"/> through any of them frees them.
    /// </summary>
    public SgChunks Chunks
    {
        get => _chunks;
        set
        {
            _chunks = value;
            Generation++;
        }
    }

    /// <summary><c>sgl</c>: the first entry. Setting it counts as a change (<see cref="Generation"/>).</summary>
    public SgCursor Sgl
    {
        get => _sgl;
        set
        {
            _sgl = value;
            Generation++;
        }
    }

    /// <summary><c>nents</c>: entries mapped (the DMA view). Setting it counts as a change (<see cref="Generation"/>).</summary>
    public int Nents
    {
        get => _nents;
        set
        {
            _nents = value;
            Generation++;
        }
    }

    /// <summary>
    /// Not kernel state: a counter bumped whenever the table's shape changes (<see cref="Chunks"/>, <see cref="Sgl"/>,
    /// <see cref="Nents"/> set, <see cref="MarkChanged"/>), so that data derived from it (a prefix-sum index of the DMA
    /// lengths) knows when to rebuild. Code that rewrites entries in place (a DMA mapping filling
    /// <c>dma_address</c>/<c>dma_length</c>) calls <see cref="MarkChanged"/>; the umem trim and its exact restore do not.
    /// </summary>
    public long Generation { get; private set; }

    /// <summary>Records that entries were rewritten in place (see <see cref="Generation"/>).</summary>
    public void MarkChanged() => Generation++;

    /// <summary><c>orig_nents</c>: entries of the CPU view.</summary>
    public int OrigNents { get; set; }

    /// <summary>Data entries per chunk, in list order (the trace's <c>chunks</c> field).</summary>
    public int[] ChunkEntryCounts()
    {
        var counts = new List<int>();
        var c = Sgl;
        int total = OrigNents;
        while (!c.IsNull && total > 0)
        {
            var chunk = Chunks.Span(c.Chunk);
            int n = 0;
            int i = c.Index;
            while (i < chunk.Length && total > 0)
            {
                if (chunk[i].IsChain)
                {
                    break;
                }
                n++;
                total--;
                i++;
            }
            counts.Add(n);
            c = i < chunk.Length && chunk[i].IsChain ? new SgCursor(chunk[i].ChainChunk, 0) : SgCursor.Null;
        }
        return [.. counts];
    }

    /// <summary>The slot a cursor points at.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Scatterlist At(SgCursor c) => ref _chunks.Slot(c.Chunk, c.Index);

    /// <summary><c>sg_next</c>: the next entry, following chain slots; NULL after the last one.</summary>
    [Kernel("sg_next", "lib/scatterlist.c")]
    public SgCursor Next(SgCursor c)
    {
        var chunk = _chunks.Span(c.Chunk);
        if (chunk[c.Index].IsLast)
        {
            return SgCursor.Null;
        }
        int i = c.Index + 1;
        if (chunk[i].IsChain)
        {
            return new SgCursor(chunk[i].ChainChunk, 0);
        }
        return new SgCursor(c.Chunk, i);
    }

    /// <summary>The cursor of the <paramref name="n"/>-th entry from <see cref="Sgl"/> (0-based), or NULL.</summary>
    public SgCursor Nth(int n)
    {
        var c = Sgl;
        for (int k = 0; k < n && !c.IsNull; k++)
        {
            c = Next(c);
        }
        return c;
    }

    /// <summary>Entries of the CPU view (<c>for_each_sgtable_sg</c>), as cursors in order.</summary>
    [Kernel("for_each_sgtable_sg")]
    public IEnumerable<SgCursor> Sgs() => Walk(OrigNents);

    /// <summary>Entries of the DMA view (<c>for_each_sgtable_dma_sg</c>), as cursors in order.</summary>
    [Kernel("for_each_sgtable_dma_sg")]
    public IEnumerable<SgCursor> DmaSgs() => Walk(Nents);

    private IEnumerable<SgCursor> Walk(int count)
    {
        var c = Sgl;
        for (int k = 0; k < count && !c.IsNull; k++)
        {
            yield return c;
            c = Next(c);
        }
    }

    private static readonly Debug.FaultSite s_sgKmalloc = Debug.FaultSite.Register("sg_kmalloc");

    /// <summary>
    /// <c>sg_alloc_table(table, nents, gfp)</c> (<c>__sg_alloc_table</c> with SG_MAX_SINGLE_ALLOC): chunks of
    /// 128 slots, each full one holding 127 entries and a chain link, the last the rest; the last entry gets
    /// SG_END. nents 0 is <c>-EINVAL</c>. <paramref name="shuffle"/> may permute where chunks sit in
    /// <see cref="Chunks"/> (list order is unchanged), to model separately allocated pages.
    /// </summary>
    [Kernel("sg_alloc_table", "lib/scatterlist.c")]
    public static int Alloc(SgTable table, int nents, Random? shuffle = null)
    {
        if (nents <= 0)
        {
            return -(int)Errno.EINVAL;
        }
        int count = 0;
        for (int left = nents; left > 0; left -= left > SG_MAX_SINGLE_ALLOC ? SG_MAX_SINGLE_ALLOC - 1 : left)
        {
            count++;
        }
        int[] place = new int[count];
        for (int k = 0; k < place.Length; k++)
        {
            place[k] = k;
        }
        if (shuffle is not null && place.Length > 1)
        {
            shuffle.Shuffle(place.AsSpan(1));
        }
        var chunks = new SgChunks();
        chunks.Reserve(count);
        int remaining = nents;
        for (int k = 0; k < count; k++)
        {
            // In list order, as __sg_alloc_table calls sg_kmalloc.
            int allocSize = remaining > SG_MAX_SINGLE_ALLOC ? SG_MAX_SINGLE_ALLOC : remaining;
            int sgSize = remaining > SG_MAX_SINGLE_ALLOC ? SG_MAX_SINGLE_ALLOC - 1 : remaining;
            if (s_sgKmalloc.ShouldFail())
            {
                chunks.Free(); // __sg_alloc_table failed; sg_alloc_table frees what was built
                return -(int)Errno.ENOMEM;
            }
            chunks.AllocAt(place[k], allocSize);
            remaining -= sgSize;
        }
        for (int k = 0; k + 1 < count; k++)
        {
            chunks.Span(place[k])[^1].PageLink = ((ulong)place[k + 1] << 2) | Scatterlist.SG_CHAIN;
        }
        chunks.Span(place[count - 1])[^1].PageLink |= Scatterlist.SG_END;
        table.Chunks = chunks;
        table.Sgl = new SgCursor(place[0], 0);
        table.Nents = nents;
        table.OrigNents = nents;
        return 0;
    }

    /// <summary><c>sg_free_table</c>: frees the chunks (<c>sg_kfree</c>) and zeroes the table.</summary>
    [Kernel("sg_free_table", "lib/scatterlist.c")]
    public void Free()
    {
        _chunks.Free();
        Chunks = SgChunks.Empty;
        Sgl = SgCursor.Null;
        Nents = 0;
        OrigNents = 0;
    }
}
