using Sim.Core.Lib;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>The index's lifetime: rebuilt when the table changes; hand-computed trims over a chained table.</summary>
public sealed class SgTrimIndexTests
{
    // 300 entries of 64 KiB (three chunks: 127 + 127 + 46, chunk places shuffled).
    private static SgTable Table(uint len = 65536)
    {
        var t = new SgTable();
        Assert.Equal(0, SgTable.Alloc(t, 300, new Random(5)));
        ulong addr = 0x1_0000_0000;
        foreach (var c in t.DmaSgs())
        {
            ref var e = ref t.At(c);
            e.DmaAddress = addr;
            e.DmaLength = len;
            addr += len;
        }
        t.MarkChanged();
        return t;
    }

    [Fact]
    public void WindowAcrossAChainSlotIsTrimmedAtBothEnds()
    {
        // start = ALIGN_DOWN(126 * 64K + 5000) = 126 * 64K + 4096 (entry 126, the last of chunk 0, offset 4096);
        // end = ALIGN(126 * 64K + 5000 + 70000) = 126 * 64K + 77824 (entry 127 = first of chunk 1, trim 65536 - 12288).
        var t = Table();
        ulong address = 126UL * 65536 + 5000;
        var index = new SgTrimIndex();
        var r = UmemDmabufTrim.Indexed(t, index, address, 70000);
        Assert.Equal(126, r.FirstSgIndex);
        Assert.Equal(4096UL, r.FirstSgOffset);
        Assert.Equal(127, r.LastSgIndex);
        Assert.Equal(65536UL - 12288, r.LastSgTrim);
        Assert.Equal(2u, r.Nmap);
        Assert.Equal(128, r.Walked);
        Assert.Equal(t.Nth(126), r.FirstSg);
        Assert.Equal(t.Nth(127), r.LastSg);
        Assert.Equal(0x1_0000_0000UL + 126 * 65536 + 4096, t.At(r.FirstSg).DmaAddress);
        Assert.Equal(65536u - 4096, t.At(r.FirstSg).DmaLength);
        Assert.Equal(12288u, t.At(r.LastSg).DmaLength);
        UmemDmabufTrim.Unmap(t, r);
        Assert.Equal(r, UmemDmabufTrim.Walk(t, address, 70000));
    }

    [Fact]
    public void IndexIsRebuiltAfterMarkChanged()
    {
        var t = Table();
        var index = new SgTrimIndex();
        var r1 = UmemDmabufTrim.Indexed(t, index, 0, 65536);
        UmemDmabufTrim.Unmap(t, r1);
        Assert.True(index.IsCurrentFor(t));
        // Remap with 8 KiB entries: the window [0, 64K) now ends in entry 7 with no trim.
        foreach (var c in t.DmaSgs())
        {
            t.At(c).DmaLength = 8192;
        }
        t.MarkChanged();
        Assert.False(index.IsCurrentFor(t));
        var r2 = UmemDmabufTrim.Indexed(t, index, 0, 65536);
        Assert.Equal(7, r2.LastSgIndex);
        Assert.Equal(0UL, r2.LastSgTrim);
        Assert.Equal(8u, r2.Nmap);
        Assert.True(index.IsCurrentFor(t));
    }

    [Fact]
    public void StaleIndexAtTheFoundEntryIsRebuilt()
    {
        // Code that rewrites entries must call MarkChanged; the index still checks the entries it lands on.
        var t = Table();
        var index = new SgTrimIndex();
        UmemDmabufTrim.Unmap(t, UmemDmabufTrim.Indexed(t, index, 0, 4096));
        // Entry 1 becomes 4 KiB without MarkChanged: the window [64K, 68K) is now exactly entry 1 (the stale index
        // would cut 60 KiB from a 64 KiB entry 1).
        t.At(t.Nth(1)).DmaLength = 4096;
        var r = UmemDmabufTrim.Indexed(t, index, 65536, 4096);
        Assert.Equal(1, r.FirstSgIndex);
        Assert.Equal(0UL, r.FirstSgOffset);
        Assert.Equal(1, r.LastSgIndex);
        Assert.Equal(0UL, r.LastSgTrim);
        Assert.Equal(1u, r.Nmap);
        Assert.Equal(4096u, t.At(r.FirstSg).DmaLength);
    }

    [Fact]
    public void EmptyTableTrimsNothing()
    {
        var t = new SgTable();
        var w = UmemDmabufTrim.Walk(t, 0, 4096);
        Assert.Equal(-1, w.FirstSgIndex);
        Assert.Equal(-1, w.LastSgIndex);
        Assert.Equal(0u, w.Nmap);
        Assert.Equal(0, w.Walked);
        Assert.Equal(w, UmemDmabufTrim.Indexed(t, new SgTrimIndex(), 0, 4096));
    }
}
