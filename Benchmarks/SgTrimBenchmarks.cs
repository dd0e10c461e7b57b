using BenchmarkDotNet.Attributes;
using Sim.Core.Lib;
using Sim.RdmaUmem;

namespace Benchmarks;

/// <summary>
/// One operation = <c>ib_umem_dmabuf_map_pages</c> trim + <c>ib_umem_dmabuf_unmap_pages</c> restore on a warm table
/// of <see cref="N"/> entries of 64 KiB (<c>dma_address</c> = 0x100000000 + i * 64 KiB), the grid and windows of the
/// native yardstick (/work/shared/bench/native-sgtrim: bench.c): <c>first-page</c> = [0, P), <c>last-page</c> =
/// [total - P, total), <c>middle-1pct</c> = ALIGN_DOWN(total / 1000 * 495, P) for max(P, ALIGN_DOWN(total / 100, P)),
/// <c>whole</c> = [0, total) (the yardstick's <c>last-page</c> is left out: it walks as far as <c>whole</c>). The table
/// is kernel-shaped: 128-slot chunks, each a page of native memory of its own (<c>sg_kmalloc</c> →
/// <c>__get_free_page</c>), allocated in a shuffled order (so neighbours in the list are not neighbours in memory,
/// like separately allocated pages) and linked by chain slots. <see cref="Packed"/> walks the same table packed
/// (<see cref="SgPackedTable"/>).
/// </summary>
[MemoryDiagnoser]
public class SgTrimBenchmarks
{
    private const ulong P = 4096;
    private const uint EntryLength = 64 * 1024;

    private SgTable _table = new();
    private SgTrimIndex _index = new();
    private SgPackedTable _packed = new();
    private ulong _address;
    private ulong _length;

    /// <summary>Entries in the table (SGTRIM_N=16,1048576 narrows the grid for a quick look).</summary>
    [ParamsSource(nameof(Sizes))]
    public int N;

    /// <summary>The umem window (SGTRIM_WINDOW=whole,first-page narrows the grid).</summary>
    [ParamsSource(nameof(Windows))]
    public string Window = "whole";

    /// <summary>The table sizes: 16, 1024, 65536, 1048576, or SGTRIM_N.</summary>
    public static IEnumerable<int> Sizes =>
        Environment.GetEnvironmentVariable("SGTRIM_N") is { Length: > 0 } v
            ? v.Split(',').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture))
            : [16, 1024, 65536, 1048576];

    /// <summary>The windows: first-page, middle-1pct, whole, or SGTRIM_WINDOW.</summary>
    public static IEnumerable<string> Windows =>
        Environment.GetEnvironmentVariable("SGTRIM_WINDOW") is { Length: > 0 } v ? v.Split(',') : ["first-page", "middle-1pct", "whole"];

    [GlobalSetup]
    public void Setup()
    {
        _table = BuildScattered(N, new Random(0xbeef + N));
        ulong total = (ulong)N * EntryLength;
        ulong onePct = Math.Max(P, (total / 100) & ~(P - 1));
        (_address, _length) = Window switch
        {
            "first-page" => (0UL, P),
            "last-page" => (total - P, P),
            "middle-1pct" => ((total / 1000 * 495) & ~(P - 1), onePct),
            "whole" => (0UL, total),
            _ => throw new ArgumentException($"unknown window {Window}"),
        };
        _index = new SgTrimIndex();
        // Warm: build the index once (per mapped table) and check both implementations agree before timing.
        var w = UmemDmabufTrim.Walk(_table, _address, _length);
        UmemDmabufTrim.Unmap(_table, w);
        var x = UmemDmabufTrim.Indexed(_table, _index, _address, _length);
        UmemDmabufTrim.Unmap(_table, x);
        if (w != x)
        {
            throw new InvalidOperationException($"Walk {w} and Indexed {x} disagree");
        }
        _packed = SgPackedTable.From(_table);
        var p = UmemDmabufTrim.Packed(_packed, _address, _length);
        UmemDmabufTrim.UnmapPacked(_packed, p);
        if (w != p)
        {
            throw new InvalidOperationException($"Walk {w} and Packed {p} disagree");
        }
    }

    /// <summary><c>sg_free_table</c> of the benchmark's table (its chunks are native memory).</summary>
    [GlobalCleanup]
    public void Cleanup() => _table.Free();

    /// <summary>The faithful kernel loop, then the restore.</summary>
    [Benchmark(Baseline = true)]
    public uint Walk()
    {
        var r = UmemDmabufTrim.Walk(_table, _address, _length);
        UmemDmabufTrim.Unmap(_table, r);
        return r.Nmap + (uint)r.Walked;
    }

    /// <summary>The prefix-sum search (index already built for this table), then the restore.</summary>
    [Benchmark]
    public uint Indexed()
    {
        var r = UmemDmabufTrim.Indexed(_table, _index, _address, _length);
        UmemDmabufTrim.Unmap(_table, r);
        return r.Nmap + (uint)r.Walked;
    }

    /// <summary>The same linear loop over the structure-of-arrays layout (12 bytes per entry), then the restore.</summary>
    [Benchmark]
    public uint Packed()
    {
        var r = UmemDmabufTrim.Packed(_packed, _address, _length);
        UmemDmabufTrim.UnmapPacked(_packed, r);
        return r.Nmap + (uint)r.Walked;
    }

    // sg_alloc_table's shape (full chunks: 127 entries + chain slot; the last one the rest, SG_END on the last entry),
    // with the chunks allocated in a random order and numbered at random in SgTable.Chunks.
    private static SgTable BuildScattered(int n, Random rng)
    {
        int chunks = 1;
        for (int left = n; left > SgTable.SG_MAX_SINGLE_ALLOC; left -= SgTable.SG_MAX_SINGLE_ALLOC - 1)
        {
            chunks++;
        }
        var sizes = new int[chunks];
        int rest = n;
        for (int k = 0; k < chunks; k++)
        {
            sizes[k] = rest > SgTable.SG_MAX_SINGLE_ALLOC ? SgTable.SG_MAX_SINGLE_ALLOC : rest;
            rest -= rest > SgTable.SG_MAX_SINGLE_ALLOC ? SgTable.SG_MAX_SINGLE_ALLOC - 1 : rest;
        }
        // Chunk numbers in SgTable.Chunks are a random permutation of the list order, and the chunks are allocated
        // (sg_kmalloc: a page each when full) in another random order, so list neighbours are not memory neighbours.
        var allocOrder = Enumerable.Range(0, chunks).ToArray();
        rng.Shuffle(allocOrder);
        var place = Enumerable.Range(0, chunks).ToArray();
        rng.Shuffle(place);
        var stored = new SgChunks();
        stored.Reserve(chunks);
        foreach (int k in allocOrder)
        {
            stored.AllocAt(place[k], sizes[k]);
        }
        int i = 0;
        for (int k = 0; k < chunks; k++)
        {
            var chunk = stored.Span(place[k]);
            int data = k + 1 < chunks ? chunk.Length - 1 : chunk.Length;
            for (int s = 0; s < data; s++, i++)
            {
                chunk[s].SetPage(0x100000UL + (ulong)i * 16, EntryLength, 0);
                chunk[s].DmaAddress = 0x100000000UL + (ulong)i * EntryLength;
                chunk[s].DmaLength = EntryLength;
            }
            if (k + 1 < chunks)
            {
                chunk[^1].PageLink = ((ulong)place[k + 1] << 2) | Scatterlist.SG_CHAIN;
            }
            else
            {
                chunk[^1].PageLink |= Scatterlist.SG_END;
            }
        }
        var table = new SgTable { Chunks = stored, Sgl = new SgCursor(place[0], 0), Nents = n, OrigNents = n };
        return table;
    }
}
