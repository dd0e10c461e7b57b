using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Mm;
using Xunit;

namespace Sim.Tests.Core;

public class CmaTests
{
    private const ulong Base = 0x7f000; // the ARM board's default area (traces README)

    /// <summary>The straightforward model of the README's placement rule: lowest index i with base+i aligned and i..i+n-1 free.</summary>
    private sealed class ReferenceArea(ulong basePfn, int count)
    {
        public readonly bool[] Used = new bool[count];

        public long Alloc(int n, int align)
        {
            for (int i = 0; i + n <= Used.Length; i++)
            {
                if (((basePfn + (ulong)i) & ((1UL << align) - 1)) != 0)
                {
                    continue;
                }
                bool free = true;
                for (int k = i; k < i + n && free; k++)
                {
                    free = !Used[k];
                }
                if (free)
                {
                    Array.Fill(Used, true, i, n);
                    return i;
                }
            }
            return -1;
        }

        public int UsedCount => Used.Count(u => u);

        public int LongestFreeRun()
        {
            int best = 0, run = 0;
            foreach (bool u in Used)
            {
                run = u ? 0 : run + 1;
                best = Math.Max(best, run);
            }
            return best;
        }

        public string Hex()
        {
            var bytes = new byte[(Used.Length + 7) / 8];
            for (int k = 0; k < Used.Length; k++)
            {
                if (Used[k])
                {
                    bytes[k / 8] |= (byte)(1 << (k % 8));
                }
            }
            return Convert.ToHexStringLower(bytes);
        }
    }

    [Property(MaxTest = 200)]
    public bool AllocAndReleaseMatchTheReferenceFirstFit(byte baseOffset, byte sizeChoice, int[] steps)
    {
        ulong basePfn = Base + baseOffset;
        int count = sizeChoice % 3 switch { 0 => 256, 1 => 512, _ => 1000 };
        var cma = new Cma("reserved", basePfn, (ulong)count, 0, null);
        var reference = new ReferenceArea(basePfn, count);
        var live = new List<(ulong Pfn, int N)>();
        foreach (int step in steps ?? [])
        {
            if (step < 0 && live.Count > 0)
            {
                int idx = (int)((uint)-(long)step % (uint)live.Count);
                var (pfn, n) = live[idx];
                live.RemoveAt(idx);
                if (!cma.Release(pfn, (ulong)n))
                {
                    return false;
                }
                Array.Fill(reference.Used, false, (int)(pfn - basePfn), n);
            }
            else
            {
                int u = step & int.MaxValue;
                int n = 1 + u % 300;
                int align = u / 300 % 10;
                ulong? got = cma.Alloc((ulong)n, (uint)align, noWarn: true);
                long want = reference.Alloc(n, align);
                if (want < 0 ? got is not null : got != basePfn + (ulong)want)
                {
                    return false;
                }
                if (got is { } p)
                {
                    live.Add((p, n));
                }
            }
            var s = cma.GetState();
            int popcount = 0;
            foreach (byte b in Convert.FromHexString(s.Bitmap))
            {
                popcount += BitOperations.PopCount(b);
            }
            if (popcount != (int)s.Used || s.Used != (ulong)reference.UsedCount ||
                s.MaxChunk != (ulong)reference.LongestFreeRun() || s.Bitmap != reference.Hex())
            {
                return false;
            }
        }
        return true;
    }

    [Fact]
    public void OrderPerBitOneCountsPairsOfPages()
    {
        // Hand calculation: 16 pages, one bit per 2 pages. 3 pages -> 2 bits (pages 0..3); align order 2 -> bit
        // mask 1: the next 1-page request (1 bit) goes to bit 2 = page 4; align 2 for 2 pages -> bits 4..4 = page 8.
        var cma = new Cma("reserved", 0x100, 16, 1, null);
        Assert.Equal(0x100UL, cma.Alloc(3, 0, true));
        Assert.Equal(0x104UL, cma.Alloc(1, 0, true));
        Assert.Equal(0x108UL, cma.Alloc(2, 2, true));
        Assert.Equal(8UL, cma.UsedPages);
        Assert.Equal("17", cma.BitmapHex()); // bits 0,1,2,4 of the 8 bits -> one byte 0x17
        Assert.Equal(6UL, cma.MaxChunk()); // bits 5..7 free = 3 bits = 6 pages
    }

    [Fact]
    public void UnalignedBaseAlignsThePfnNotTheIndex()
    {
        // base 0x7f003: an order-2 request must start at a pfn multiple of 4 -> index 1 (pfn 0x7f004).
        var cma = new Cma("reserved", 0x7f003, 64, 0, null);
        Assert.Equal(0x7f004UL, cma.Alloc(4, 2, true));
        Assert.Equal(0x7f003UL, cma.Alloc(1, 0, true));
    }

    [Fact]
    public void TracepointsFollowTheKernelsOrderAndFailureForm()
    {
        var trace = new KernelTrace();
        using var rec = trace.Record();
        var cma = new Cma("reserved", Base, 16, 0, trace, bitsPerLong: 32);

        Assert.Null(cma.Alloc(0, 0, true)); // !count: returns before cma_alloc_start
        Assert.Empty(rec.Records);

        Assert.Null(cma.Alloc(17, 0, true)); // more than the area: start but no finish (README)
        var r = Assert.Single(rec.Drain());
        Assert.Equal("cma_alloc_start name=\"reserved\" count=17 align=0", r.ToString());

        Assert.Equal(Base, cma.Alloc(16, 4, true));
        Assert.Null(cma.Alloc(1, 0, true));
        var ev = rec.Drain();
        Assert.Equal(["cma_alloc_start", "cma_alloc_finish", "cma_alloc_start", "cma_alloc_finish"], ev.Select(e => e.Op));
        Assert.Equal(Base, ev[1].U64("pfn"));
        Assert.False((bool)ev[1]["page_null"]!);
        Assert.Equal(0L, ev[1].I64("ret"));
        // The failed request: pfn = (unsigned long)-1 on the 32-bit board (0xffffffff = 4294967295 in the traces), -ENOMEM.
        Assert.Equal(4294967295UL, ev[3].U64("pfn"));
        Assert.True((bool)ev[3]["page_null"]!);
        Assert.Equal(-12L, ev[3].I64("ret"));

        Assert.True(cma.Release(Base + 4, 2));
        var rel = Assert.Single(rec.Drain());
        Assert.Equal("cma_release name=\"reserved\" pfn=520196 count=2", rel.ToString());
        Assert.Equal(14UL, cma.UsedPages);
    }

    [Fact]
    public void ReleaseOutsideTheAreaIsRefusedAndFiresNothing()
    {
        var trace = new KernelTrace();
        using var rec = trace.Record();
        var cma = new Cma("reserved", Base, 16, 0, trace);
        Assert.False(cma.Release(Base - 1, 1));
        Assert.False(cma.Release(Base + 16, 1));
        Assert.Empty(rec.Records);
        Assert.Throws<KernelBugException>(() => cma.Release(Base + 15, 2)); // VM_BUG_ON(pfn + count > end)
    }

    [Fact]
    public void FailureIsReportedOnlyWithoutNoWarn()
    {
        var cma = new Cma("reserved", Base, 4, 0, null);
        var log = new List<string>();
        cma.Printk = (_, text) => log.Add(text);
        Assert.Equal(Base, cma.Alloc(2, 1, noWarn: true));
        Assert.Null(cma.Alloc(4, 0, noWarn: true));
        Assert.Empty(log);
        Assert.Null(cma.Alloc(4, 0, noWarn: false));
        Assert.Equal(["cma: cma_alloc: reserved: alloc failed, req-size: 4 pages, ret: -12"], log);
    }

    [Fact]
    public void BusyRangesAreRetriedPastTheAlignmentMask()
    {
        // alloc_contig_range returning -EBUSY for the first candidate: the kernel clears the bits, fires
        // cma_alloc_busy_retry and searches again from bitmap_no + mask + 1.
        var trace = new KernelTrace();
        using var rec = trace.Record();
        var cma = new Cma("reserved", Base, 64, 0, trace);
        cma.AllocContigRange = (start, _) => start == Base ? -16 : 0;
        Assert.Equal(Base + 8, cma.Alloc(8, 3, true));
        Assert.Equal(["cma_alloc_start", "cma_alloc_busy_retry", "cma_alloc_finish"], rec.Records.Select(e => e.Op));
        Assert.Equal(8UL, cma.UsedPages);
    }

    // Placement: cma_declare_contiguous_nid on the machines of the traces (README: 16 MiB at 0x7f000000,
    // cma=6M -> 8 MiB at pfn 0x7f800) and by hand for x86_64.
    [Theory]
    [InlineData(16UL << 20, 0x7f000UL, 4096UL)]
    [InlineData(6UL << 20, 0x7f800UL, 2048UL)]
    [InlineData(1UL << 20, 0x7fc00UL, 1024UL)]
    public void ArmBoardAreasSitAtTheTopOfRamInPageblocks(ulong bytes, ulong basePfn, ulong count)
    {
        var o = new MachineOptions().ApplyArmBoard();
        o.CmaBytes = bytes;
        Assert.Equal(0, DmaContiguous.TryReserve(o, out ulong b, out ulong c));
        Assert.Equal(basePfn, b);
        Assert.Equal(count, c);
    }

    [Fact]
    public void Cma6MFromAHeaderCommandLineBecomesTheEightMiBArea()
    {
        var o = new MachineOptions().ApplyArmBoard();
        o.CmaBasePfn = 0x7f000;
        o.Apply("console=ttyAMA0 cma=6M", strict: false);
        var dma = new DmaContiguous(o, new KernelTrace());
        var s = dma.DefaultArea!.GetState();
        Assert.Equal((0x7f800UL, 2048UL, 64UL, 2048UL - 64), (s.BasePfn, s.Count, s.Used, s.MaxChunk));
    }

    [Fact]
    public void X86AreaIsTwoMiBAlignedBelowTheEndOfRam()
    {
        var o = new MachineOptions { CmaBytes = 3UL << 20 }; // 1 GiB from 0: 4 MiB area ending at 0x40000000
        Assert.Equal(0, DmaContiguous.TryReserve(o, out ulong b, out ulong c));
        Assert.Equal((0x3fc00UL, 1024UL), (b, c));
        var big = new MachineOptions { RamBytes = 8UL << 30, CmaBytes = 64UL << 20 }; // bottom-up from 4 GiB
        Assert.Equal(0, DmaContiguous.TryReserve(big, out b, out _));
        Assert.Equal(0x100000UL, b);
    }

    [Fact]
    public void ReservationErrorsAreTheKernels()
    {
        var mem = new CmaMemblock(0x60000000, 0x80000000, 0x80000000, 4UL << 20, false);
        Assert.Equal(-22, Cma.DeclareContiguous(mem, 0, 0, 0, 0, 0, false, out _, out _));            // !size
        Assert.Equal(-22, Cma.DeclareContiguous(mem, 0, 1 << 20, 0, 3 << 20, 0, false, out _, out _)); // alignment not a power of 2
        Assert.Equal(-22, Cma.DeclareContiguous(mem, 0x60100000, 1 << 20, 0, 0, 0, true, out _, out _)); // fixed, unaligned
        Assert.Equal(-22, Cma.DeclareContiguous(mem, 0x7fc00000, 8 << 20, 0, 0, 0, true, out _, out _)); // past the limit
        Assert.Equal(-12, Cma.DeclareContiguous(mem, 0, 1UL << 30, 0, 0, 0, false, out _, out _));    // no room
        Assert.Equal(-22, Cma.DeclareContiguous(mem, 0, 4 << 20, 0, 0, 11, false, out _, out _));     // size vs order_per_bit
        var o = new MachineOptions().ApplyArmBoard();
        o.CmaBytes = 1UL << 30;
        Assert.Equal(-12, DmaContiguous.TryReserve(o, out _, out _));
        o.CmaBytes = null;
        Assert.Equal(-19, DmaContiguous.TryReserve(o, out _, out _));
    }
}
