// Not a kernel structure: a derived index over a mapped sg_table (include/linux/scatterlist.h, Linux 6.1) that lets
// UmemDmabufTrim.Indexed find the entries ib_umem_dmabuf_map_pages() trims without walking the list.
using System.Runtime.CompilerServices;
using Sim.Core.Lib;

namespace Sim.RdmaUmem;

/// <summary>
/// Prefix sums of the DMA lengths of one mapped table's DMA view (<c>P[i]</c> = bytes before entry i,
/// <c>P[n]</c> = total), a bucket table over them for O(1)-expected search, and the logical-index-to-slot map of the
/// chained chunks. Built once per mapped table (by <see cref="UmemDmabufTrim.Indexed"/> when it finds the index not
/// current) and invalidated by <see cref="SgTable.Generation"/>. Rebuilding reuses its arrays when they are large
/// enough. Not thread safe (the kernel holds the dma-buf's reservation lock around map_pages).
/// </summary>
public sealed class SgTrimIndex
{
    private const int EntriesPerFullChunk = SgTable.SG_MAX_SINGLE_ALLOC - 1;

    private ulong[] _prefix = [];
    private int[] _buckets = [];
    private int[] _listChunk = [];
    private int[] _chunkFirst = [];
    private int[] _chunkSlot0 = [];
    private int _count;
    private int _chunkCount;
    private int _shift;
    private bool _regular;
    private SgTable? _table;
    private long _generation;
    private SgChunks? _chunks;

    /// <summary>True when the index can answer (the prefix sums are exact); false sends callers to the walk.</summary>
    public bool Usable { get; private set; }

    /// <summary>Entries of the DMA view covered (the entries <c>for_each_sgtable_dma_sg</c> visits).</summary>
    public int Count => _count;

    /// <summary><c>P[0..Count]</c>: bytes of the DMA view before each entry, the total last.</summary>
    public ReadOnlySpan<ulong> Prefix => _prefix.AsSpan(0, _count + 1);

    /// <summary>True when this index was built from <paramref name="sgt"/> in its current shape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsCurrentFor(SgTable sgt) =>
        ReferenceEquals(_table, sgt) && _generation == sgt.Generation && ReferenceEquals(_chunks, sgt.Chunks);

    /// <summary>Forgets the table (the next <see cref="UmemDmabufTrim.Indexed"/> rebuilds).</summary>
    public void Invalidate()
    {
        _table = null;
        _chunks = null;
        Usable = false;
    }

    /// <summary>
    /// Builds the index from the DMA view of <paramref name="sgt"/> as it is now (untrimmed): one walk over
    /// <c>nents</c> entries following chain slots, stopping early at <c>SG_END</c> like the trimming walk.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Build(SgTable sgt)
    {
        _table = sgt;
        _generation = sgt.Generation;
        _chunks = sgt.Chunks;
        Usable = false;
        int n = Math.Max(sgt.Nents, 0);
        if (_prefix.Length < n + 1)
        {
            _prefix = new ulong[n + 1];
        }
        int maxChunks = n / EntriesPerFullChunk + 2;
        if (_listChunk.Length < maxChunks)
        {
            _listChunk = new int[maxChunks];
            _chunkFirst = new int[maxChunks];
            _chunkSlot0 = new int[maxChunks];
        }

        SgChunks chunks = sgt.Chunks;
        ulong acc = 0;
        int count = 0;
        int chunkCount = 0;
        bool regular = true;
        SgCursor c = sgt.Sgl;
        if (n > 0 && !c.IsNull)
        {
            int chunkId = c.Chunk;
            int slot = c.Index;
            while (count < n)
            {
                Span<Scatterlist> chunk = chunks.Span(chunkId);
                if (chunkCount == _listChunk.Length)
                {
                    GrowChunkMaps();
                }
                _listChunk[chunkCount] = chunkId;
                _chunkFirst[chunkCount] = count;
                _chunkSlot0[chunkCount] = slot;
                regular &= slot == 0 && count == chunkCount * EntriesPerFullChunk;
                chunkCount++;
                bool ended = false;
                bool chained = false;
                for (; slot < chunk.Length && count < n; slot++)
                {
                    ref Scatterlist e = ref chunk[slot];
                    if (e.IsChain)
                    {
                        chained = true;
                        break;
                    }
                    _prefix[count++] = acc;
                    acc += e.DmaLength;
                    if (e.IsLast)
                    {
                        ended = true;
                        break;
                    }
                }
                if (ended || count >= n)
                {
                    break;
                }
                if (!chained)
                {
                    throw new InvalidOperationException($"scatterlist chunk {chunkId} ends without a chain slot or SG_END before nents entries");
                }
                chunkId = chunk[slot].ChainChunk;
                slot = 0;
            }
        }
        _prefix[count] = acc;
        _count = count;
        _chunkCount = chunkCount;
        _regular = regular;
        // Sums of at most int.MaxValue 32-bit lengths stay below 2^63; the guard keeps the walk's no-wrap reasoning
        // (and the search's) honest should that ever change.
        if (acc >= 1UL << 63)
        {
            return;
        }
        BuildBuckets(acc, count);
        Usable = true;
    }

    // Bucket k covers offsets [k << shift, (k + 1) << shift); _buckets[k] = first j with P[j] > k << shift, so the
    // first j with P[j] > x lies in [_buckets[x >> shift], _buckets[(x >> shift) + 1]].
    private void BuildBuckets(ulong total, int n)
    {
        if (total == 0)
        {
            _shift = 0;
            return;
        }
        int shift = 0;
        while (((total - 1) >> shift) >= (ulong)Math.Max(n, 1))
        {
            shift++;
        }
        int kmax = (int)((total - 1) >> shift);
        if (_buckets.Length < kmax + 2)
        {
            _buckets = new int[kmax + 2];
        }
        ReadOnlySpan<ulong> p = _prefix.AsSpan(0, n + 1);
        int j = 0;
        for (int k = 0; k <= kmax + 1; k++)
        {
            ulong y = (ulong)k << shift;
            while (j <= n && p[j] <= y)
            {
                j++;
            }
            _buckets[k] = j;
        }
        _shift = shift;
    }

    private void GrowChunkMaps()
    {
        int size = _listChunk.Length * 2 + 4;
        Array.Resize(ref _listChunk, size);
        Array.Resize(ref _chunkFirst, size);
        Array.Resize(ref _chunkSlot0, size);
    }

    /// <summary>The first j in [0, Count] with <c>P[j] &gt; x</c>, for <c>x &lt; P[Count]</c> (so the answer exists).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int UpperBound(ulong x)
    {
        ulong[] p = _prefix;
        int[] buckets = _buckets;
        int k = (int)(x >> _shift);
        int lo = buckets[k];
        int hi = Math.Min(buckets[k + 1], _count);
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (p[mid] > x)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /// <summary>The slot of DMA-view entry <paramref name="k"/> (0 &lt;= k &lt; <see cref="Count"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public SgCursor CursorOf(int k)
    {
        if (_regular)
        {
            // Full chunks hold 127 entries and a chain slot; the last one may hold 128.
            int q = Math.Min((int)((uint)k / EntriesPerFullChunk), _chunkCount - 1);
            return new SgCursor(_listChunk[q], k - q * EntriesPerFullChunk);
        }
        return CursorOfIrregular(k);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private SgCursor CursorOfIrregular(int k)
    {
        int q = Array.BinarySearch(_chunkFirst, 0, _chunkCount, k);
        if (q < 0)
        {
            q = ~q - 1;
        }
        return new SgCursor(_listChunk[q], _chunkSlot0[q] + (k - _chunkFirst[q]));
    }
}
