using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Core;

public class ScatterlistFromPagesTests
{
    private static List<Scatterlist> Entries(SgTable t)
    {
        var r = new List<Scatterlist>();
        foreach (var c in t.Sgs())
        {
            r.Add(t.At(c));
        }
        return r;
    }

    /// <summary>Page lists made of runs (contiguous, duplicated, descending pieces) from a seed.</summary>
    private static ulong[] Pages(int seed, int n)
    {
        var rng = new Random(seed);
        var p = new ulong[n];
        ulong cur = (ulong)rng.Next(1000, 1 << 20);
        for (int k = 0; k < n; k++)
        {
            int kind = rng.Next(10);
            cur = kind switch
            {
                < 6 => cur + 1,
                6 => cur,
                7 => cur - 1,
                _ => (ulong)rng.Next(1000, 1 << 20),
            };
            p[k] = cur;
        }
        return p;
    }

    [Property(MaxTest = 200)]
    public Property CoalescingCoversTheSizeAndNeverJoinsNonContiguousFrames(PositiveInt n0, NonNegativeInt off0, PositiveInt seg0, int seed)
    {
        int n = 1 + n0.Get % 400;
        uint offset = (uint)(off0.Get % 4096);
        uint maxSegment = (uint)(seg0.Get % 40) * 4096 + (uint)(seg0.Get % 7) * 100 + 4096;
        var pages = Pages(seed, n);
        ulong size = (ulong)n * 4096 - offset;
        var t = new SgTable();
        if (SgTable.AllocFromPagesSegment(t, pages, (uint)n, offset, size, maxSegment) != 0)
        {
            return false.ToProperty();
        }
        var e = Entries(t);
        ulong total = 0;
        int page = 0;
        bool ok = t.Nents == e.Count && t.OrigNents == e.Count;
        for (int k = 0; k < e.Count; k++)
        {
            total += e[k].Length;
            ok &= e[k].Offset == (k == 0 ? offset : 0);
            ok &= e[k].Pfn == pages[page];
            // Pages of this entry (the offset counts towards the first entry's pages, not its length).
            int count = (int)((e[k].Offset + e[k].Length + 4095) / 4096);
            ok &= count <= (int)(maxSegment / 4096);
            ok &= (ulong)e[k].Length <= maxSegment / 4096 * 4096UL;
            for (int j = 1; j < count; j++)
            {
                ok &= pages[page + j] == pages[page + j - 1] + 1;
            }
            page += count;
            // A new entry starts only where the frames break or the previous entry is full.
            if (k > 0 && page - count > 0)
            {
                int prevCount = (int)((e[k - 1].Offset + e[k - 1].Length + 4095) / 4096);
                ok &= pages[page - count] != pages[page - count - 1] + 1 || prevCount == (int)(maxSegment / 4096);
            }
        }
        return (ok && total == size && page == n).ToProperty();
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(1u)]
    [InlineData(2048u)]
    [InlineData(4095u)]
    public void MaxSegmentBelowAPageIsEinvalWithAWarn(uint maxSegment)
    {
        var warnings = new Warnings();
        var t = new SgTable();
        Assert.Equal(-(int)Errno.EINVAL, SgTable.AllocFromPagesSegment(t, [10, 11], 2, 0, 8192, maxSegment, warnings));
        Assert.Equal(1, warnings.Count);
        Assert.Equal(0, t.OrigNents);
    }

    [Theory]
    [InlineData(128, new[] { 128 })]
    [InlineData(129, new[] { 127, 2 })]
    [InlineData(255, new[] { 127, 128 })]
    [InlineData(256, new[] { 127, 127, 2 })]
    public void ChainsIn128SlotChunks(int entries, int[] chunks)
    {
        // Every other frame: no two pages merge, so entries = pages.
        var pages = new ulong[entries];
        for (int k = 0; k < entries; k++)
        {
            pages[k] = 100 + 2UL * (ulong)k;
        }
        var t = new SgTable();
        Assert.Equal(0, SgTable.AllocFromPagesSegment(t, pages, (uint)entries, 0, (ulong)entries * 4096, uint.MaxValue));
        Assert.Equal(chunks, t.ChunkEntryCounts());
        Assert.Equal(entries, Entries(t).Count);
        Assert.Equal(pages[^1], Entries(t)[^1].Pfn);
    }

    [Fact]
    public void ZeroPagesStillMakesOneEntryFromPageZero()
    {
        // sg_alloc_seed1 i=6: n_pages 0, size 4096, max_segment 4096 -> one entry of 4096 bytes from pages[0].
        var t = new SgTable();
        Assert.Equal(0, SgTable.AllocFromPagesSegment(t, [26119], 0, 0, 4096, 4096));
        var e = Assert.Single(Entries(t));
        Assert.Equal(26119UL, e.Pfn);
        Assert.Equal(4096u, e.Length);
    }

    [Fact]
    public void OffsetOfAPageOrMoreIsKeptAsGiven()
    {
        // sg_alloc_seed1 i=8: three contiguous pages, offset 4096, size 8192 -> one entry {offset 4096, length 8192}.
        var t = new SgTable();
        Assert.Equal(0, SgTable.AllocFromPagesSegment(t, [26132, 26133, 26134], 3, 4096, 8192, uint.MaxValue));
        var e = Assert.Single(Entries(t));
        Assert.Equal((4096u, 8192u), (e.Offset, e.Length));
    }

    [Fact]
    public void ShortSizeCutsOneEntryAndThenWrapsAround()
    {
        // Hand calculation of lib/scatterlist.c: chunk 1 = frames 0,1 (8192 bytes) gets min(4196, 8192) = 4196,
        // size becomes 4196 - 8192 = 2^64 - 3996, so chunk 2 (frame 5) gets its full 4096 again.
        var t = new SgTable();
        Assert.Equal(0, SgTable.AllocFromPagesSegment(t, [0, 1, 5], 3, 0, 4196, uint.MaxValue));
        var e = Entries(t);
        Assert.Equal(new uint[] { 4196, 4096 }, e.ConvertAll(x => x.Length).ToArray());
        // Size ending exactly where the second chunk starts: that entry gets 0, the third its full length.
        t = new SgTable();
        Assert.Equal(0, SgTable.AllocFromPagesSegment(t, [0, 1, 5, 9], 4, 0, 8192, uint.MaxValue));
        Assert.Equal(new uint[] { 8192, 0, 4096 }, Entries(t).ConvertAll(x => x.Length).ToArray());
    }

    [Fact]
    public void AppendExtendsThePreviousEntryAndMarksTheEndLast()
    {
        var a = new SgAppendTable();
        Assert.Equal(0, a.AllocFromPages([10, 11], 2, 0, 8192, uint.MaxValue, leftPages: 2));
        Assert.Equal(0, a.AllocFromPages([12, 20], 2, 0, 8192, uint.MaxValue, leftPages: 0));
        var e = Entries(a.Sgt);
        Assert.Equal(2, a.Sgt.OrigNents);
        Assert.Equal((10UL, 12288u), (e[0].Pfn, e[0].Length));
        Assert.Equal((20UL, 4096u), (e[1].Pfn, e[1].Length));
        Assert.True(e[1].IsLast);
        Assert.Equal(-(int)Errno.EINVAL, a.AllocFromPages([21], 1, 1, 4096, uint.MaxValue, 0));
    }
}
