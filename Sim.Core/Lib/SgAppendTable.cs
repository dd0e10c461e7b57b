// Models struct sg_append_table (include/linux/scatterlist.h) and the page-array constructors of
// lib/scatterlist.c (Linux 6.1): get_next_sg, sg_alloc_append_table_from_pages, sg_alloc_table_from_pages_segment,
// sg_free_append_table.
using Sim.Core.Debug;
using Sim.Core.Uapi;

namespace Sim.Core.Lib;

/// <summary>
/// <c>struct sg_append_table</c>: a table being built by successive <see cref="AllocFromPages"/> calls;
/// <see cref="Prv"/> is the last entry set, <see cref="TotalNents"/> the slots allocated for entries.
/// </summary>
[Kernel("struct sg_append_table", "include/linux/scatterlist.h")]
public sealed class SgAppendTable
{
    private SgChunks _chunks = new();

    /// <summary><c>sgt</c>: the table.</summary>
    public SgTable Sgt { get; } = new();

    /// <summary><c>prv</c>: the last populated entry, NULL before the first call.</summary>
    public SgCursor Prv { get; private set; } = SgCursor.Null;

    /// <summary><c>total_nents</c>: entry slots allocated (chain slots excluded).</summary>
    public int TotalNents { get; private set; }

    /// <summary>
    /// <c>sg_alloc_append_table_from_pages(sgt_append, pages, n_pages, offset, size, max_segment, left_pages, gfp)</c>.
    /// Pages whose frames follow each other join one entry of at most <c>ALIGN_DOWN(max_segment, PAGE_SIZE)</c>
    /// bytes (-EINVAL, with a WARN, below a page); entry length = min(size left, pages·4096 − offset) with the
    /// offset on the first entry only and the size left decreased by the full chunk as an unsigned 64-bit value
    /// (so it wraps when <paramref name="size"/> is short). A later call first extends the previous entry with
    /// contiguous pages (offset must then be 0). <paramref name="nPages"/> 0 still reads <c>pages[0]</c> and makes
    /// one entry from it. Chunks of 128 slots are chained as <c>get_next_sg</c> does, keeping
    /// <paramref name="leftPages"/> in mind; the last entry is marked only when <paramref name="leftPages"/> is 0.
    /// </summary>
    [Kernel("sg_alloc_append_table_from_pages", "lib/scatterlist.c")]
    public int AllocFromPages(ReadOnlySpan<ulong> pages, uint nPages, uint offset, ulong size, uint maxSegment,
        uint leftPages, Warnings? warnings = null)
    {
        const uint PAGE_SIZE = (uint)Align.PAGE_SIZE; // the scatterlist lengths are unsigned int
        uint chunks, curPage, segLen, i;
        uint addedNents = 0;
        var s = Prv;
        maxSegment &= ~(PAGE_SIZE - 1);
        if (maxSegment < PAGE_SIZE)
        {
            warnings?.On(true, "max_segment < PAGE_SIZE", "sg_alloc_append_table_from_pages");
            return -(int)Errno.EINVAL;
        }
        if (nPages > 0 && pages.Length < nPages || pages.Length == 0)
        {
            throw new ArgumentException("the pages array must hold n_pages frames (and at least one: the kernel reads pages[0])", nameof(pages));
        }
        int pageBase = 0;
        uint prvLen = 0;
        if (!Prv.IsNull)
        {
            ref var prv = ref At(Prv);
            prvLen = prv.Length;
            ulong paddr = (prv.Pfn * PAGE_SIZE + prv.Offset + prv.Length) / PAGE_SIZE;
            if (warnings?.On(offset != 0, "offset on append", "sg_alloc_append_table_from_pages") ?? offset != 0)
            {
                return -(int)Errno.EINVAL;
            }
            while (nPages != 0 && pages[pageBase] == paddr)
            {
                if ((ulong)prv.Length + PAGE_SIZE > maxSegment)
                {
                    break;
                }
                prv.Length += PAGE_SIZE;
                paddr++;
                pageBase++;
                nPages--;
            }
            if (nPages == 0)
            {
                goto out_;
            }
        }
        var p = pages[pageBase..];

        chunks = 1;
        segLen = 0;
        for (i = 1; i < nPages; i++)
        {
            segLen += PAGE_SIZE;
            if (segLen >= maxSegment || p[(int)i] != p[(int)i - 1] + 1)
            {
                chunks++;
                segLen = 0;
            }
        }

        curPage = 0;
        for (i = 0; i < chunks; i++)
        {
            uint j, chunkSize;
            segLen = 0;
            for (j = curPage + 1; j < nPages; j++)
            {
                segLen += PAGE_SIZE;
                if (segLen >= maxSegment || p[(int)j] != p[(int)j - 1] + 1)
                {
                    break;
                }
            }
            s = GetNextSg(s, (ulong)(chunks - i) + leftPages);
            if (s == s_enomem)
            {
                // Adjust entry length to be as before function was called.
                if (!Prv.IsNull)
                {
                    At(Prv).Length = prvLen;
                }
                Sgt.Chunks = _chunks;
                return -(int)Errno.ENOMEM;
            }
            chunkSize = unchecked(((j - curPage) << 12) - offset);
            At(s).SetPage(p[(int)curPage], (uint)Math.Min(size, chunkSize), offset);
            addedNents++;
            size = unchecked(size - chunkSize);
            offset = 0;
            curPage = j;
        }
        Sgt.Nents += (int)addedNents;
        Sgt.OrigNents = Sgt.Nents;
        Prv = s;
    out_:
        if (leftPages == 0)
        {
            ref var last = ref At(s);
            last.PageLink = (last.PageLink | Scatterlist.SG_END) & ~Scatterlist.SG_CHAIN;
        }
        Sgt.Chunks = _chunks;
        return 0;
    }

    /// <summary><c>sg_free_append_table</c>: frees the chunks.</summary>
    [Kernel("sg_free_append_table", "lib/scatterlist.c")]
    public void Free()
    {
        _chunks.Free(); // sg_kfree of every chunk (the same ones as Sgt's, unless they were handed to another table)
        _chunks = new SgChunks();
        Sgt.Free();
        Prv = SgCursor.Null;
        TotalNents = 0;
    }

    private ref Scatterlist At(SgCursor c) => ref _chunks.Slot(c.Chunk, c.Index);

    private static readonly FaultSite s_sgKmalloc = FaultSite.Register("get_next_sg:sg_kmalloc");
    private static readonly SgCursor s_enomem = new(-2, -2);

    /// <summary>
    /// <c>get_next_sg</c>: the slot after <paramref name="cur"/>, unless it is the last slot of its chunk and more
    /// than one entry is still needed: then a new chunk of min(needed, 128) slots is chained in its place.
    /// </summary>
    [Kernel("get_next_sg", "lib/scatterlist.c")]
    private SgCursor GetNextSg(SgCursor cur, ulong neededSges)
    {
        SgCursor next = SgCursor.Null;
        if (!cur.IsNull)
        {
            ref var c = ref At(cur);
            KernelBugException.On(c.IsLast, "get_next_sg: sg_next of the end-marked entry");
            next = new SgCursor(cur.Chunk, cur.Index + 1);
            if (!At(next).IsLast || neededSges == 1)
            {
                return next;
            }
        }
        int allocSize = (int)Math.Min(neededSges, SgTable.SG_MAX_SINGLE_ALLOC);
        if (s_sgKmalloc.ShouldFail())
        {
            return s_enomem; // ERR_PTR(-ENOMEM)
        }
        int index = _chunks.Add(allocSize); // sg_kmalloc + sg_init_table: zeroed, the last slot end-marked
        _chunks.Span(index)[^1].PageLink = Scatterlist.SG_END;
        if (!cur.IsNull)
        {
            TotalNents += allocSize - 1;
            ref var link = ref At(next);
            link.Offset = 0;
            link.Length = 0;
            link.PageLink = (((ulong)index << 2) | Scatterlist.SG_CHAIN) & ~Scatterlist.SG_END;
        }
        else
        {
            Sgt.Sgl = new SgCursor(index, 0);
            TotalNents = allocSize;
        }
        return new SgCursor(index, 0);
    }
}

/// <content>The page-array constructor of <c>struct sg_table</c>.</content>
public sealed partial class SgTable
{
    /// <summary>
    /// <c>sg_alloc_table_from_pages_segment(sgt, pages, n_pages, offset, size, max_segment, gfp)</c>: builds
    /// <paramref name="sgt"/> from the frames <paramref name="pages"/> (pfns, in order) with the coalescing of
    /// <see cref="SgAppendTable.AllocFromPages"/>; nents = orig_nents = number of entries. 0 or <c>-EINVAL</c>
    /// (max_segment below a page after rounding down); on error the table is left empty.
    /// </summary>
    [Kernel("sg_alloc_table_from_pages_segment", "lib/scatterlist.c")]
    public static int AllocFromPagesSegment(SgTable sgt, ReadOnlySpan<ulong> pages, uint nPages, uint offset,
        ulong size, uint maxSegment, Warnings? warnings = null)
    {
        var append = new SgAppendTable();
        int err = append.AllocFromPages(pages, nPages, offset, size, maxSegment, 0, warnings);
        if (err != 0)
        {
            append.Free();
            return err;
        }
        sgt.Chunks = append.Sgt.Chunks;
        sgt.Sgl = append.Sgt.Sgl;
        sgt.Nents = append.Sgt.Nents;
        sgt.OrigNents = append.Sgt.OrigNents;
        warnings?.On(append.TotalNents != sgt.OrigNents, "append.total_nents != sgt->orig_nents", "sg_alloc_table_from_pages_segment");
        return 0;
    }

    /// <summary><c>sg_alloc_table_from_pages(sgt, pages, n_pages, offset, size, gfp)</c>: max_segment UINT_MAX.</summary>
    [Kernel("sg_alloc_table_from_pages", "include/linux/scatterlist.h")]
    public static int AllocFromPages(SgTable sgt, ReadOnlySpan<ulong> pages, uint nPages, uint offset, ulong size) =>
        AllocFromPagesSegment(sgt, pages, nPages, offset, size, uint.MaxValue);
}
