using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Core;

public class PageAllocTests
{
    internal static PageAlloc NewAlloc(ulong bytes, ulong physBase = 0) =>
        new(new PhysicalMemory(physBase, bytes), new PageMap());

    [Property(MaxTest = 60)]
    public Property NoPageHandedOutTwiceAndFreeingRestoresTheInitialLists(int[] ops)
    {
        // 16 MiB + 12 KiB: edges that are not top-order aligned exercise the low orders at boot.
        var alloc = NewAlloc((16UL << 20) + 3 * 4096, 4096 * 5);
        long[] initial = alloc.BuddyInfo();
        long total = alloc.TotalPages;
        var owned = new Dictionary<ulong, int>();
        var frames = new HashSet<ulong>();
        var live = new List<(ulong Pfn, int Order)>();
        bool ok = true;
        foreach (int raw in ops ?? [])
        {
            int op = Math.Abs(raw % 1000);
            if (op < 650 || live.Count == 0)
            {
                int order = op % 6;
                if (alloc.AllocPages(Gfp.GFP_KERNEL, order, out ulong pfn) != 0)
                {
                    continue;
                }
                ok &= pfn % (1UL << order) == 0;
                for (ulong k = 0; k < 1UL << order; k++)
                {
                    ok &= frames.Add(pfn + k);
                    ok &= !alloc.IsFrameFree(pfn + k);
                }
                live.Add((pfn, order));
            }
            else
            {
                var (pfn, order) = live[op % live.Count];
                live.Remove((pfn, order));
                alloc.FreePagesBlock(pfn, order);
                for (ulong k = 0; k < 1UL << order; k++)
                {
                    frames.Remove(pfn + k);
                }
            }
            long used = 0;
            foreach (var (_, o) in live)
            {
                used += 1L << o;
            }
            ok &= alloc.FreePages == total - used;
        }
        foreach (var (pfn, order) in live)
        {
            alloc.FreePagesBlock(pfn, order);
        }
        return (ok && alloc.FreePages == total && alloc.BuddyInfo().AsSpan().SequenceEqual(initial)).ToProperty();
    }

    [Fact]
    public void SplitTakesTheLowHalfAndMergeRebuildsTheTopBlock()
    {
        // 4 MiB at 0 = one order-10 block; order 0 splits it into 1 page + one free block of each order 0..9.
        var alloc = NewAlloc(4UL << 20);
        Assert.Equal(0, alloc.AllocPages(Gfp.GFP_KERNEL, 0, out ulong pfn));
        Assert.Equal(0UL, pfn);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0 }, alloc.BuddyInfo());
        alloc.FreePage(pfn);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, alloc.BuddyInfo());
    }

    [Fact]
    public void EmptyZoneIsEnomemAndBadOrderIsEnomem()
    {
        var alloc = NewAlloc(4UL << 20);
        Assert.Equal(0, alloc.AllocPages(Gfp.GFP_KERNEL, 10, out _));
        Assert.Equal(-(int)Errno.ENOMEM, alloc.AllocPages(Gfp.GFP_KERNEL, 0, out _));
        Assert.Equal(-(int)Errno.ENOMEM, alloc.AllocPages(Gfp.GFP_KERNEL, PageAlloc.MAX_ORDER, out _));
        Assert.Equal(0L, alloc.FreePages);
    }

    [Fact]
    public void AdoptedFramesAreExactlyTheTracedOnesAndCannotBeTakenTwice()
    {
        // The pool of sg_alloc_seed1: order 9 at pfn 26112, then singles 25646, 25647, 25649.
        var alloc = NewAlloc(512UL << 20);
        Assert.Equal(0, alloc.AllocExact(26112, 9));
        Assert.Equal(0, alloc.AdoptFrames([25646, 25647, 25649]));
        Assert.False(alloc.IsFrameFree(26112 + 511));
        Assert.True(alloc.IsFrameFree(25648));
        Assert.Equal(-(int)Errno.EBUSY, alloc.AllocExact(26112 + 4, 0));
        Assert.Equal(-(int)Errno.EINVAL, alloc.AllocExact(26113, 9));
        Assert.Equal(-(int)Errno.EINVAL, alloc.AllocExact((512UL << 20) >> 12, 0));
        // All or nothing: 25650 is free but 25647 is taken, so 25650 stays free.
        Assert.Equal(-(int)Errno.EBUSY, alloc.AdoptFrames([25650, 25647]));
        Assert.True(alloc.IsFrameFree(25650));
        Assert.Equal(131072L - 512 - 3, alloc.FreePages);
    }

    [Fact]
    public void MeminfoCountsKilobytesAndReservations()
    {
        var alloc = NewAlloc(64UL << 20);
        Assert.Equal(new BuddyMeminfo(65536, 65536, 0, 0), alloc.Meminfo());
        Assert.Equal(256L, alloc.Reserve(1024, 256));
        Assert.Equal(0, alloc.AllocPages(Gfp.GFP_KERNEL, 2, out _));
        Assert.Equal(new BuddyMeminfo(65536 - 1024, 65536 - 1024 - 16, 0, 0), alloc.Meminfo());
        alloc.AccountCma(256, 256);
        Assert.Equal(new BuddyMeminfo(65536 - 1024, 65536 - 1024 - 16 + 1024, 1024, 1024), alloc.Meminfo());
    }
}

/// <summary>The 1 TiB page allocator's heap cost, measured alone (see <see cref="MemoryMeasurement"/>).</summary>
[Collection(MemoryMeasurement.Name)]
public class PageAllocHeapTests
{
    [Fact]
    public void OneTerabyteCostsLittleAndHandsOutFramesAnywhere()
    {
        long before = GC.GetTotalMemory(true);
        var alloc = PageAllocTests.NewAlloc(1UL << 40);
        Assert.Equal(0, alloc.AllocExact((1UL << 28) - 1, 0));
        Assert.Equal(0, alloc.AllocPages(Gfp.GFP_KERNEL, 10, out ulong pfn));
        Assert.Equal(0UL, pfn);
        long grown = GC.GetTotalMemory(true) - before;
        GC.KeepAlive(alloc);
        Assert.True(grown < 16L << 20, $"grew {grown} bytes");
        Assert.Equal((1L << 28) - 1 - 1024, alloc.FreePages);
    }
}
