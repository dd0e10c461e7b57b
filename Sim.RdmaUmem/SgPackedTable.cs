// Not a kernel structure: the DMA view of a mapped sg_table (include/linux/scatterlist.h, Linux 6.1) in a
// structure-of-arrays layout the kernel does not have, for UmemDmabufTrim.Packed, to show what a better layout would
// buy the trimming walk of ib_umem_dmabuf_map_pages().
using System.Runtime.CompilerServices;
using Sim.Core.Lib;

namespace Sim.RdmaUmem;

/// <summary>
/// The DMA view of one mapped table as two parallel arrays, 12 bytes per entry: <see cref="DmaAddress"/> (8) and
/// <see cref="DmaLength"/> (4), entry i of the view at index i. It keeps exactly what
/// <c>ib_umem_dmabuf_map_pages</c> and <c>ib_umem_dmabuf_unmap_pages</c> read or write. Dropped, and why that is
/// safe for the trimming walk:
/// <list type="bullet">
/// <item><c>page_link</c>'s page, <c>offset</c> and <c>length</c> (the CPU view): the loop reads only
/// <c>sg_dma_len</c> and writes only <c>sg_dma_address</c>/<c>sg_dma_len</c> of <c>first_sg</c> and
/// <c>last_sg</c>.</item>
/// <item>The chain slots and the <c>SG_CHAIN</c> bit: <c>sg_next</c> only skips them, so entry i of the view is
/// simply index i.</item>
/// <item>The <c>SG_END</c> bit and <c>nents</c>: <c>for_each_sgtable_dma_sg</c> stops after <c>nents</c> entries or
/// at the end-marked one, whichever comes first; <see cref="Count"/> is that number, fixed when the table is
/// packed.</item>
/// <item>The 4 bytes of padding.</item>
/// </list>
/// To name <c>first_sg</c> and <c>last_sg</c> in the table's own terms (chunk and slot, for a result equal to
/// <see cref="UmemDmabufTrim.Walk"/>'s), it also keeps 4 bytes per chunk of 127 entries (12 more for chunks that do
/// not start at slot 0 or are not full): about 12.03 bytes per entry in all, against the kernel's 32 plus a chain
/// slot per 127. Built once from a table (<see cref="Build"/>, reusing its arrays); the trim and its restore then
/// edit these arrays, not the table. Not thread safe.
/// </summary>
public sealed class SgPackedTable
{
    private const int EntriesPerFullChunk = SgTable.SG_MAX_SINGLE_ALLOC - 1;

    private ulong[] _dmaAddress = [];
    private uint[] _dmaLength = [];
    private int[] _listChunk = [];
    private int[] _chunkFirst = [];
    private int[] _chunkSlot0 = [];
    private int _count;
    private int _chunkCount;
    private bool _regular;

    /// <summary>Entries of the DMA view (those <c>for_each_sgtable_dma_sg</c> visits before <c>SG_END</c> or <c>nents</c>).</summary>
    public int Count => _count;

    /// <summary><c>sg_dma_address</c> of entry i.</summary>
    public Span<ulong> DmaAddress => _dmaAddress.AsSpan(0, _count);

    /// <summary><c>sg_dma_len</c> of entry i.</summary>
    public Span<uint> DmaLength => _dmaLength.AsSpan(0, _count);

    /// <summary>Packs the DMA view of <paramref name="sgt"/> as it is now.</summary>
    public static SgPackedTable From(SgTable sgt)
    {
        var p = new SgPackedTable();
        p.Build(sgt);
        return p;
    }

    /// <summary>
    /// Packs the DMA view of <paramref name="sgt"/> as it is now: <c>nents</c> entries from <c>sgl</c>, following chain
    /// slots, stopping early after an <c>SG_END</c> entry, as the trimming walk does. A chunk that ends without a chain
    /// slot or <c>SG_END</c> before <c>nents</c> entries is the same error as for the walk.
    /// </summary>
    public void Build(SgTable sgt)
    {
        ArgumentNullException.ThrowIfNull(sgt);
        int n = Math.Max(sgt.Nents, 0);
        if (_dmaLength.Length < n)
        {
            _dmaAddress = new ulong[n];
            _dmaLength = new uint[n];
        }
        int maxChunks = n / EntriesPerFullChunk + 2;
        if (_listChunk.Length < maxChunks)
        {
            _listChunk = new int[maxChunks];
            _chunkFirst = new int[maxChunks];
            _chunkSlot0 = new int[maxChunks];
        }
        SgChunks chunks = sgt.Chunks;
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
                    int size = _listChunk.Length * 2 + 4;
                    Array.Resize(ref _listChunk, size);
                    Array.Resize(ref _chunkFirst, size);
                    Array.Resize(ref _chunkSlot0, size);
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
                    _dmaAddress[count] = e.DmaAddress;
                    _dmaLength[count] = e.DmaLength;
                    count++;
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
        GC.KeepAlive(chunks);
        _count = count;
        _chunkCount = chunkCount;
        _regular = regular;
    }

    /// <summary>The table slot of entry <paramref name="k"/> (0 &lt;= k &lt; <see cref="Count"/>).</summary>
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
