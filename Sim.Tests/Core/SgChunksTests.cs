using System.Runtime.CompilerServices;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// The chunk memory of sg_alloc_table (lib/scatterlist.c, 6.1): sg_kmalloc takes a page from __get_free_page for a
/// chunk of SG_MAX_SINGLE_ALLOC = PAGE_SIZE / sizeof(struct scatterlist) = 4096 / 32 = 128 slots and uses
/// kmalloc_array for a shorter one; __sg_alloc_table fills full chunks with 127 entries and a chain slot;
/// sg_free_table gives every chunk back (sg_kfree).
/// </summary>
public sealed class SgChunksTests
{
    [Fact]
    public void FullChunksArePagesOfTheirOwnAndTheLastIsAKmalloc()
    {
        var t = new SgTable();
        // 1000 entries: 7 full chunks of 127 entries (889) and a last chunk of 111 slots.
        Assert.Equal(0, SgTable.Alloc(t, 1000, new Random(3)));
        Assert.Equal(8, t.Chunks.Length);
        Assert.Equal([127, 127, 127, 127, 127, 127, 127, 111], t.ChunkEntryCounts());
        int full = 0;
        for (int k = 0; k < t.Chunks.Length; k++)
        {
            if (t.Chunks[k].Length == 128)
            {
                full++;
                Assert.Equal(0, t.Chunks.Address(k) % 4096);
            }
            else
            {
                Assert.Equal(111, t.Chunks[k].Length);
                Assert.Equal(0, t.Chunks.Address(k) % 64);
            }
        }
        Assert.Equal(7, full);
        t.Free();
    }

    [Fact]
    public void SgFreeTableFreesTheChunksAndALaterReadIsAUseAfterFree()
    {
        var t = new SgTable();
        Assert.Equal(0, SgTable.Alloc(t, 300));
        var chunks = t.Chunks;
        // A view sharing the chunks, as the umem's table shares the mapped one.
        var view = new SgTable { Chunks = t.Chunks, Sgl = t.Sgl, Nents = 1, OrigNents = 1 };
        t.Free();
        Assert.True(chunks.IsFreed);
        Assert.Same(SgChunks.Empty, t.Chunks);
        Assert.Equal((0, 0), (t.Nents, t.OrigNents));
        Assert.Throws<KernelBugException>(() => view.At(view.Sgl).DmaLength);
        t.Free(); // sg_free_table of an empty table does nothing
    }

    [Fact]
    public void AnAppendTableFromPagesGetsPagesForFullChunks()
    {
        // 300 non-contiguous frames: 300 entries, get_next_sg chunks of min(needed, 128) slots.
        var pages = Enumerable.Range(0, 300).Select(i => 1000UL + 2 * (ulong)i).ToArray();
        var t = new SgTable();
        Assert.Equal(0, SgTable.AllocFromPages(t, pages, 300, 0, 300 * 4096UL));
        Assert.Equal(300, t.Nents);
        for (int k = 0; k < t.Chunks.Length; k++)
        {
            Assert.Equal(0, t.Chunks.Address(k) % (t.Chunks[k].Length == 128 ? 4096 : 64));
        }
        t.Free();
        Assert.Same(SgChunks.Empty, t.Chunks);
    }
}

/// <summary>
/// A table dropped without sg_free_table: its chunks' finaliser frees them and records each as a leak
/// (<see cref="FinaliserLeaks"/>, type sg_kmalloc). Process-wide figures, so these run alone.
/// </summary>
[Collection(MemoryMeasurement.Name)]
public sealed class SgChunksLeakTests
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AllocAndDrop(int nents, bool free)
    {
        var t = new SgTable();
        Assert.Equal(0, SgTable.Alloc(t, nents));
        if (free)
        {
            t.Free();
        }
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Fact]
    public void ADroppedTableIsFreedByTheFinaliserAndCountedAsALeak()
    {
        Collect();
        long count = FinaliserLeaks.Count(SgChunks.LeakType);
        long bytes = FinaliserLeaks.Bytes(SgChunks.LeakType);
        // 300 entries: 127 + 127 in two full chunks (a page each), 46 in a kmalloc of 46 slots.
        AllocAndDrop(300, free: false);
        Collect();
        Assert.Equal(3, FinaliserLeaks.Count(SgChunks.LeakType) - count);
        Assert.Equal(2 * 4096 + 46 * 32, FinaliserLeaks.Bytes(SgChunks.LeakType) - bytes);
    }

    [Fact]
    public void AFreedTableIsNoLeak()
    {
        Collect();
        long count = FinaliserLeaks.Count(SgChunks.LeakType);
        AllocAndDrop(300, free: true);
        AllocAndDrop(5, free: true);
        Collect();
        Assert.Equal(0, FinaliserLeaks.Count(SgChunks.LeakType) - count);
    }
}
