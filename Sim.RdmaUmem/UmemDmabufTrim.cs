// Models the scatterlist trimming of ib_umem_dmabuf_map_pages() and its undo in ib_umem_dmabuf_unmap_pages()
// (drivers/infiniband/core/umem_dmabuf.c, Linux 6.1): the hot core over kernel-shaped chained tables.
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Sim.Core;
using Sim.Core.Lib;

namespace Sim.RdmaUmem;

/// <summary>
/// The in-place trimming of a dma-buf's mapped table to a umem window, as <c>ib_umem_dmabuf_map_pages</c> does it
/// after <c>dma_buf_map_attachment</c>, and the exact restore of <c>ib_umem_dmabuf_unmap_pages</c>. Allocation free.
/// <para>
/// The kernel loop, over <c>for_each_sgtable_dma_sg(sgt, sg, i)</c> with <c>unsigned long start, end, cur</c>:
/// count the entry in <c>nmap</c> if <c>start &lt; cur + len &amp;&amp; cur &lt; end</c>; if
/// <c>cur &lt;= start &lt; cur + len</c> it is <c>first_sg</c>: its <c>dma_address</c> grows and its 32-bit
/// <c>dma_length</c> shrinks by <c>start - cur</c>, and <c>cur</c> moves to <c>start</c>; if
/// <c>cur &lt; end &lt;= cur + len</c> (with the trimmed length) it is <c>last_sg</c>: its length shrinks by
/// <c>cur + len - end</c> and the loop stops; else <c>cur += len</c>.
/// </para>
/// <para>
/// Two implementations with the same <see cref="TrimResult"/> and the same table afterwards: <see cref="Walk"/>, the
/// faithful loop (the oracle), and <see cref="Indexed"/>, an O(log N) search over a <see cref="SgTrimIndex"/>. A third,
/// <see cref="Packed"/>, runs the same linear loop over a layout the kernel does not have (<see cref="SgPackedTable"/>,
/// 12 bytes per entry): same result, and its arrays afterwards equal the table's DMA view after <see cref="Walk"/>.
/// </para>
/// </summary>
[Kernel("ib_umem_dmabuf_map_pages", "drivers/infiniband/core/umem_dmabuf.c")]
public static class UmemDmabufTrim
{
    private const ulong PageMask = Align.PAGE_SIZE - 1;

    /// <summary><c>start = ALIGN_DOWN(umem.address, PAGE_SIZE)</c>.</summary>
    [Kernel("ALIGN_DOWN", "include/linux/align.h")]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong WindowStart(ulong address) => address & ~PageMask;

    /// <summary><c>end = ALIGN(umem.address + umem.length, PAGE_SIZE)</c>, in wrapping 64-bit arithmetic.</summary>
    [Kernel("ALIGN", "include/linux/align.h")]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong WindowEnd(ulong address, ulong length) => unchecked(address + length + PageMask) & ~PageMask;

    /// <summary>
    /// The faithful trimming loop of <c>ib_umem_dmabuf_map_pages</c> over the DMA view of <paramref name="sgt"/>
    /// (<c>nents</c> entries from <c>sgl</c>, following chain slots), for the umem window
    /// <paramref name="address"/>/<paramref name="length"/> (byte offset and size inside the dma-buf). Edits the
    /// first and last entries in place and returns what the umem records. <see cref="TrimResult.Walked"/> counts the
    /// loop's iterations. A list that ends (<c>SG_END</c>) before <c>nents</c> entries ends the walk there.
    /// </summary>
    /// <remarks>
    /// The running offset <c>cur</c> is a sum of at most <see cref="int.MaxValue"/> 32-bit lengths, so it and
    /// <c>cur + len</c> stay below 2^63 and never wrap; the window ends may wrap (they come from the caller). That
    /// makes <c>cur &lt;= start &lt; cur + len</c> equal to the single unsigned test <c>start - cur &lt; len</c>,
    /// and <c>cur &lt; end &lt;= cur + len</c> equal to <c>end - cur - 1 &lt; len</c>, which the loop uses.
    /// </remarks>
    [Kernel("ib_umem_dmabuf_map_pages", "drivers/infiniband/core/umem_dmabuf.c")]
    [Kernel("for_each_sgtable_dma_sg", "include/linux/scatterlist.h")]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TrimResult Walk(SgTable sgt, ulong address, ulong length)
    {
        ulong start = WindowStart(address);
        ulong end = WindowEnd(address, length);
        int n = sgt.Nents;
        SgCursor sgl = sgt.Sgl;
        if (n <= 0 || sgl.IsNull)
        {
            return new TrimResult(SgCursor.Null, -1, 0, SgCursor.Null, -1, 0, 0, 0, start, end);
        }

        // The walk reads the chunks' native memory through spans: their owner (and its finaliser) stays alive until
        // the single exit below (GC.KeepAlive).
        SgChunks chunks = sgt.Chunks;
        int chunkId = sgl.Chunk;
        int slot = sgl.Index;
        int done = 0;          // entries visited before the current chunk segment
        ulong cur = 0;
        uint nmap = 0;
        SgCursor first = SgCursor.Null;
        int firstIndex = -1;
        ulong firstOffset = 0;
        SgCursor last = SgCursor.Null;
        int lastIndex = -1;
        ulong lastTrim = 0;
        int walked;

        while (true)
        {
            Span<Scatterlist> seg = chunks.Span(chunkId)[slot..];
            if (seg.Length > n - done)
            {
                seg = seg[..(n - done)];
            }
            int j = 0;
            while (true)
            {
                // Entries where the loop only counts and advances run in a tight loop (Scan); it stops at the next
                // entry that is a chain slot, the end of the list, first_sg or last_sg. An entry that is one of those
                // already (the first entry of a first-page window) does not pay the call.
                if (j < seg.Length && IsPlain(in seg[j], start, end, cur))
                {
                    j += Scan(seg[j..], start, end, ref cur, ref nmap);
                }
                if (j >= seg.Length)
                {
                    break;
                }
                ref Scatterlist e = ref seg[j];
                ulong link = e.PageLink;
                if ((link & Scatterlist.SG_CHAIN) != 0)
                {
                    break;
                }
                // One iteration of the kernel loop, literally.
                ulong len = e.DmaLength;
                if (start < cur + len && cur < end)
                {
                    nmap++;
                }
                if (start - cur < len)
                {
                    // cur <= start < cur + len: first_sg.
                    firstOffset = start - cur;
                    first = new SgCursor(chunkId, slot + j);
                    firstIndex = done + j;
                    e.DmaAddress = unchecked(e.DmaAddress + firstOffset);
                    e.DmaLength = unchecked(e.DmaLength - (uint)firstOffset);
                    cur += firstOffset;
                    len = e.DmaLength;
                }
                if (end - cur - 1 < len)
                {
                    // cur < end <= cur + len: last_sg, and the loop breaks.
                    lastTrim = cur + len - end;
                    e.DmaLength = unchecked(e.DmaLength - (uint)lastTrim);
                    last = new SgCursor(chunkId, slot + j);
                    lastIndex = done + j;
                    walked = done + j + 1;
                    goto exit;
                }
                cur += len;
                if ((link & Scatterlist.SG_END) != 0)
                {
                    // sg_next() is NULL: the list ends here.
                    walked = done + j + 1;
                    goto exit;
                }
                j++;
            }
            done += j;
            if (done >= n)
            {
                walked = done;
                goto exit;
            }
            if (j >= seg.Length)
            {
                ThrowUnterminated(chunkId);
            }
            // A chain slot: sg_chain_ptr() is the next chunk.
            chunkId = seg[j].ChainChunk;
            slot = 0;
        }
    exit:
        GC.KeepAlive(chunks);
        return new TrimResult(first, firstIndex, firstOffset, last, lastIndex, lastTrim, nmap, walked, start, end);
    }

    /// <summary>
    /// True when the kernel loop's iteration on <paramref name="e"/> (with the running offset <paramref name="cur"/>)
    /// only counts and advances: not a chain slot, not the end of the list, neither <c>first_sg</c> nor <c>last_sg</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsPlain(in Scatterlist e, ulong start, ulong end, ulong cur)
    {
        ulong len = e.DmaLength;
        return (e.PageLink & Scatterlist.SG_PAGE_LINK_MASK) == 0 && start - cur >= len && unchecked(end - 1) - cur >= len;
    }

    /// <summary>
    /// The kernel loop's iterations over <paramref name="seg"/> for as long as an entry is plain: not a chain slot, not
    /// the end of the list, and neither <c>first_sg</c> (<c>cur &lt;= start &lt; cur + len</c>) nor <c>last_sg</c>
    /// (<c>cur &lt; end &lt;= cur + len</c>). For such an entry the iteration is exactly <c>nmap</c> counting and
    /// <c>cur += len</c>. Returns how many entries it consumed; the caller runs the literal iteration on the next one.
    /// Kept out of line so that its few locals stay in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int Scan(ReadOnlySpan<Scatterlist> seg, ulong start, ulong end, ref ulong curRef, ref uint nmapRef)
    {
        ulong cur = curRef;
        uint nmap = nmapRef;
        ulong endMinus1 = unchecked(end - 1);
        int j = 0;
        for (; j < seg.Length; j++)
        {
            ref readonly Scatterlist e = ref seg[j];
            if ((e.PageLink & Scatterlist.SG_PAGE_LINK_MASK) != 0)
            {
                break;
            }
            ulong len = e.DmaLength;
            if (start - cur < len || endMinus1 - cur < len)
            {
                break;
            }
            ulong next = cur + len;
            if (start < next && cur < end)
            {
                nmap++;
            }
            cur = next;
        }
        curRef = cur;
        nmapRef = nmap;
        return j;
    }

    /// <summary>
    /// The same trimming as <see cref="Walk"/> (same <see cref="TrimResult"/>, same table afterwards), found by binary
    /// search over <paramref name="index"/>, a prefix-sum index of the DMA lengths that is (re)built here when it does
    /// not describe <paramref name="sgt"/> (another table, or <see cref="SgTable.Generation"/> moved). Where the index
    /// cannot be used it falls back to <see cref="Walk"/>. Code that rewrites entries in place must call
    /// <see cref="SgTable.MarkChanged"/>; as a guard, the entries the search lands on are checked against the index
    /// (a mismatch rebuilds it once, then walks), which catches a stale index there but not elsewhere.
    /// </summary>
    /// <remarks>
    /// With <c>P[i]</c> the sum of the untrimmed lengths before entry i (the kernel's <c>cur</c> at entry i), the
    /// loop's outcome is: <c>f</c> = the first i with <c>P[i+1] &gt; start</c> (the only entry where
    /// <c>cur &lt;= start &lt; cur + len</c>); <c>last</c> = the only non-empty i with <c>P[i] &lt; end &lt;= P[i+1]</c>,
    /// except when that is <c>f</c> and <c>end &lt;= start</c> (there <c>cur</c> is already <c>start</c>); the loop
    /// visits <c>walked = last + 1</c> entries (all without a last); <c>first_sg</c> = f if <c>f &lt; walked</c>;
    /// <c>nmap</c> = the entries i in [f, walked) with <c>P[i] &lt; end</c> (empty entries inside the window included).
    /// </remarks>
    [Kernel("ib_umem_dmabuf_map_pages", "drivers/infiniband/core/umem_dmabuf.c")]
    public static TrimResult Indexed(SgTable sgt, SgTrimIndex index, ulong address, ulong length) =>
        IndexedCore(sgt, index, address, length, rebuilt: false);

    private static TrimResult IndexedCore(SgTable sgt, SgTrimIndex index, ulong address, ulong length, bool rebuilt)
    {
        if (!index.IsCurrentFor(sgt))
        {
            index.Build(sgt);
            rebuilt = true;
        }
        if (!index.Usable)
        {
            return Walk(sgt, address, length);
        }

        ulong start = WindowStart(address);
        ulong end = WindowEnd(address, length);
        ReadOnlySpan<ulong> p = index.Prefix;
        int n = p.Length - 1;
        ulong total = p[n];

        // f: first i with P[i+1] > start (none when start >= total).
        int f = start < total ? index.UpperBound(start) - 1 : -1;
        // e0: first j in [0, n] with P[j] >= end (n + 1 when none).
        int e0 = end == 0 ? 0 : end > total ? n + 1 : index.UpperBound(end - 1);
        int last = e0 >= 1 && e0 <= n ? e0 - 1 : -1;
        if (last >= 0 && last == f && end <= start)
        {
            last = -1;
        }
        int walked = last >= 0 ? last + 1 : n;
        if (f >= walked)
        {
            f = -1;
        }
        int counted = Math.Min(walked, Math.Min(e0, n));
        uint nmap = f >= 0 && counted > f ? (uint)(counted - f) : 0;

        SgCursor first = SgCursor.Null;
        SgCursor lastSg = SgCursor.Null;
        ulong firstOffset = 0;
        ulong trim = 0;
        if (f >= 0)
        {
            first = index.CursorOf(f);
            ref Scatterlist e = ref sgt.At(first);
            if (e.DmaLength != p[f + 1] - p[f])
            {
                return Stale(sgt, index, address, length, rebuilt);
            }
            firstOffset = start - p[f];
        }
        if (last >= 0)
        {
            lastSg = last == f ? first : index.CursorOf(last);
            ref Scatterlist e = ref sgt.At(lastSg);
            if (last != f && e.DmaLength != p[last + 1] - p[last])
            {
                return Stale(sgt, index, address, length, rebuilt);
            }
            trim = p[last + 1] - end;
        }
        if (f >= 0)
        {
            ref Scatterlist e = ref sgt.At(first);
            e.DmaAddress = unchecked(e.DmaAddress + firstOffset);
            e.DmaLength = unchecked(e.DmaLength - (uint)firstOffset);
        }
        if (last >= 0)
        {
            ref Scatterlist e = ref sgt.At(lastSg);
            e.DmaLength = unchecked(e.DmaLength - (uint)trim);
        }
        return new TrimResult(first, f, firstOffset, lastSg, last, trim, nmap, walked, start, end);
    }

    /// <summary>
    /// The trimming loop of <see cref="Walk"/>, entry for entry (no search, no index), over the structure-of-arrays
    /// layout of <paramref name="packed"/> instead of the kernel's chained 32-byte entries: it reads only the 4-byte
    /// DMA lengths while it walks and edits <c>first_sg</c>/<c>last_sg</c> in the packed arrays. Returns what
    /// <see cref="Walk"/> returns on the table <paramref name="packed"/> was built from (cursors included); undo it
    /// with <see cref="UnmapPacked"/>.
    /// </summary>
    [Kernel("ib_umem_dmabuf_map_pages", "drivers/infiniband/core/umem_dmabuf.c")]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TrimResult Packed(SgPackedTable packed, ulong address, ulong length)
    {
        ArgumentNullException.ThrowIfNull(packed);
        ulong start = WindowStart(address);
        ulong end = WindowEnd(address, length);
        Span<uint> lengths = packed.DmaLength;
        int n = lengths.Length;
        ulong cur = 0;
        uint nmap = 0;
        int firstIndex = -1;
        ulong firstOffset = 0;
        int j = 0;
        while (true)
        {
            if (j < n && start - cur >= lengths[j] && unchecked(end - 1) - cur >= lengths[j])
            {
                j += ScanPacked(lengths[j..], start, end, ref cur, ref nmap);
            }
            if (j >= n)
            {
                break;
            }
            // One iteration of the kernel loop, literally (as in Walk).
            ulong len = lengths[j];
            if (start < cur + len && cur < end)
            {
                nmap++;
            }
            if (start - cur < len)
            {
                firstOffset = start - cur;
                firstIndex = j;
                packed.DmaAddress[j] = unchecked(packed.DmaAddress[j] + firstOffset);
                lengths[j] = unchecked(lengths[j] - (uint)firstOffset);
                cur += firstOffset;
                len = lengths[j];
            }
            if (end - cur - 1 < len)
            {
                ulong trim = cur + len - end;
                lengths[j] = unchecked(lengths[j] - (uint)trim);
                var first = firstIndex < 0 ? SgCursor.Null : packed.CursorOf(firstIndex);
                return new TrimResult(first, firstIndex, firstOffset, packed.CursorOf(j), j, trim, nmap, j + 1, start, end);
            }
            cur += len;
            j++;
        }
        var f = firstIndex < 0 ? SgCursor.Null : packed.CursorOf(firstIndex);
        return new TrimResult(f, firstIndex, firstOffset, SgCursor.Null, -1, 0, nmap, n, start, end);
    }

    /// <summary>
    /// <see cref="Scan"/> over the packed lengths: the iterations where an entry is neither <c>first_sg</c> nor
    /// <c>last_sg</c> (no chain slots or end marks to test: the packing removed them).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int ScanPacked(ReadOnlySpan<uint> lengths, ulong start, ulong end, ref ulong curRef, ref uint nmapRef)
    {
        ulong cur = curRef;
        uint nmap = nmapRef;
        ulong endMinus1 = unchecked(end - 1);
        int j = 0;
        for (; j < lengths.Length; j++)
        {
            ulong len = lengths[j];
            if (start - cur < len || endMinus1 - cur < len)
            {
                break;
            }
            ulong next = cur + len;
            if (start < next && cur < end)
            {
                nmap++;
            }
            cur = next;
        }
        curRef = cur;
        nmapRef = nmap;
        return j;
    }

    /// <summary>The restore of <c>ib_umem_dmabuf_unmap_pages</c> on the packed arrays (see <see cref="Unmap"/>).</summary>
    [Kernel("ib_umem_dmabuf_unmap_pages", "drivers/infiniband/core/umem_dmabuf.c")]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void UnmapPacked(SgPackedTable packed, in TrimResult trim)
    {
        ArgumentNullException.ThrowIfNull(packed);
        if (trim.FirstSgIndex >= 0)
        {
            packed.DmaAddress[trim.FirstSgIndex] = unchecked(packed.DmaAddress[trim.FirstSgIndex] - trim.FirstSgOffset);
            packed.DmaLength[trim.FirstSgIndex] = unchecked(packed.DmaLength[trim.FirstSgIndex] + (uint)trim.FirstSgOffset);
        }
        if (trim.LastSgIndex >= 0)
        {
            packed.DmaLength[trim.LastSgIndex] = unchecked(packed.DmaLength[trim.LastSgIndex] + (uint)trim.LastSgTrim);
        }
    }

    /// <summary>
    /// The restore of <c>ib_umem_dmabuf_unmap_pages</c>: <c>first_sg</c> gets <c>first_sg_offset</c> back (address
    /// down, length up), then <c>last_sg</c> gets <c>last_sg_trim</c> back. Leaves the table byte for byte as it was
    /// before the trim of <paramref name="trim"/>.
    /// </summary>
    [Kernel("ib_umem_dmabuf_unmap_pages", "drivers/infiniband/core/umem_dmabuf.c")]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unmap(SgTable sgt, in TrimResult trim)
    {
        if (!trim.FirstSg.IsNull)
        {
            ref Scatterlist e = ref sgt.At(trim.FirstSg);
            e.DmaAddress = unchecked(e.DmaAddress - trim.FirstSgOffset);
            e.DmaLength = unchecked(e.DmaLength + (uint)trim.FirstSgOffset);
        }
        if (!trim.LastSg.IsNull)
        {
            ref Scatterlist e = ref sgt.At(trim.LastSg);
            e.DmaLength = unchecked(e.DmaLength + (uint)trim.LastSgTrim);
        }
    }

    // The index did not match the entries it points at (the table was rewritten without MarkChanged): rebuild and
    // retry once; a fresh index that still disagrees would be a simulator bug, and the walk is always right.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static TrimResult Stale(SgTable sgt, SgTrimIndex index, ulong address, ulong length, bool rebuilt)
    {
        if (rebuilt)
        {
            index.Invalidate();
            return Walk(sgt, address, length);
        }
        index.Build(sgt);
        return IndexedCore(sgt, index, address, length, rebuilt: true);
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowUnterminated(int chunk) =>
        throw new InvalidOperationException($"scatterlist chunk {chunk} ends without a chain slot or SG_END before nents entries");
}
