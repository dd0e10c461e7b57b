using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// ib_umem_find_best_pgsz (drivers/infiniband/core/umem.c) over a dma-buf umem's trimmed table, and
/// rdma_umem_for_each_dma_block (include/rdma/iter.h, drivers/infiniband/core/iter.c). Each expectation is worked
/// out by hand from the kernel's arithmetic in the comment beside it.
/// </summary>
public class IbUmemPgszTests
{
    private const ulong SZ_4K = 0x1000, SZ_64K = 0x10000, SZ_2M = 0x200000, SZ_1G = 0x40000000;

    private static IbUmemDmabuf Mapped(UmemFixture f, ulong offset, ulong size) => f.GetMapped(offset, size);

    public static TheoryData<string, (ulong, uint)[], ulong, ulong, ulong, ulong, ulong> Cases => new()
    {
        // One 4 MiB run at 2 MiB, IOVA 1 GiB: bits_per(0x3fffff) = 22, mask = 1G; the run adds 0x200000 ^ 0x40000000;
        // lowest set bit 21 keeps 4K|2M: 2M.
        { "aligned-run", [(0x200000, 0x400000)], 0, 0x400000, SZ_1G, SZ_4K | SZ_2M | SZ_1G, SZ_2M },
        // The same run at 3 MiB: 0x300000 ^ 0x40000000 has bit 20: only 4K is left.
        { "1m-aligned-run", [(0x300000, 0x400000)], 0, 0x400000, SZ_1G, SZ_4K | SZ_2M | SZ_1G, SZ_4K },
        // ... and without 4K in the bitmap nothing fits: 0.
        { "nothing-fits", [(0x300000, 0x400000)], 0, 0x400000, SZ_1G, SZ_2M | SZ_1G, 0 },
        // Two 2 MiB runs at 2 MiB and 8 MiB, IOVA 0: mask 1G | 0x200000 | (0x800000 ^ 0x200000) | va 0x200000:
        // lowest bit 21: 2M.
        { "two-runs-2m", [(0x200000, 0x200000), (0x800000, 0x200000)], 0, 0x400000, 0, SZ_4K | SZ_2M | SZ_1G, SZ_2M },
        // A 4 KiB run then a discontinuity at VA 0x201000: mask gets 0x201000: 4K.
        { "break-at-4k", [(0x200000, 0x1000), (0x800000, 0x1ff000)], 0, 0x200000, SZ_2M, SZ_4K | SZ_2M | SZ_1G, SZ_4K },
        // Two contiguous entries are one run: no discontinuity bit; 2M as for a single run.
        { "contiguous-entries", [(0x200000, 0x100000), (0x300000, 0x300000)], 0, 0x400000, SZ_1G, SZ_4K | SZ_2M | SZ_1G, SZ_2M },
        // Window 0x800 + 0x1000 of a 2 MiB run (trimmed to [0x200000, +0x2000)), IOVA 0x10000800: bits_per(0x1fff) = 13,
        // mask = 64K|2M; (0x200000 + 0x800) ^ 0x10000800 = 0x10200000; lowest bit 16 keeps 4K|64K: 64K.
        { "unaligned-window", [(0x200000, 0x200000)], 0x800, 0x1000, 0x10000800, SZ_4K | SZ_64K | SZ_2M, SZ_64K },
        // Same, IOVA 0x10000000: the page offsets differ (0x800 ^ 0): bit 11: nothing of 4K|64K|2M fits below it.
        { "offset-mismatch", [(0x200000, 0x200000)], 0x800, 0x1000, 0x10000000, SZ_4K | SZ_64K | SZ_2M, 0 },
        // length - 1 + virt overflows: 0.
        { "iova-overflow", [(0x200000, 0x200000)], 0, 0x2000, ulong.MaxValue - 0x1000, SZ_4K | SZ_2M, 0 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FindBestPgsz(string what, (ulong, uint)[] table, ulong offset, ulong size, ulong virt, ulong bitmap, ulong expected)
    {
        using var f = new UmemFixture(table);
        var umem = Mapped(f, offset, size);
        Assert.True(expected == umem.Umem.FindBestPgsz(bitmap, virt), what);
        Assert.Equal(virt, umem.Umem.Iova);
        f.Locked(umem.UnmapPages);
        IbUmem.Release(umem.Umem);
    }

    [Fact]
    public void BitsPerIsTheKernels()
    {
        // __bits_per: 1 for 0 and 1; order_base_2(n) + 1 for powers of two; order_base_2(n) otherwise.
        Assert.Equal(1, IbUmem.BitsPer(0));
        Assert.Equal(1, IbUmem.BitsPer(1));
        Assert.Equal(2, IbUmem.BitsPer(2));
        Assert.Equal(2, IbUmem.BitsPer(3));
        Assert.Equal(3, IbUmem.BitsPer(4));
        Assert.Equal(22, IbUmem.BitsPer(0x3fffff));
        Assert.Equal(64, IbUmem.BitsPer(ulong.MaxValue));
    }

    [Fact]
    public void DmaBlocksOfA2MRun()
    {
        using var f = new UmemFixture([(0x200000, 0x400000)]);
        var umem = Mapped(f, 0, 0x400000);
        Assert.Equal(SZ_2M, umem.Umem.FindBestPgsz(SZ_4K | SZ_2M, SZ_1G));
        // ib_umem_num_dma_blocks over iova 1 GiB: (ALIGN(0x40400000, 2M) - 0x40000000) / 2M = 2.
        var blocks = new List<ulong>();
        Assert.Equal(2, umem.Umem.ForEachDmaBlock(SZ_2M, blocks));
        Assert.Equal([0x200000UL, 0x400000UL], blocks);
        // In 4 KiB blocks: 1024 of them, 0x200000 .. 0x5ff000 in steps of 4 KiB.
        blocks.Clear();
        Assert.Equal(1024, umem.Umem.ForEachDmaBlock(SZ_4K, blocks));
        for (int k = 0; k < 1024; k++)
        {
            Assert.Equal(0x200000UL + (ulong)k * SZ_4K, blocks[k]);
        }
        f.Locked(umem.UnmapPages);
        IbUmem.Release(umem.Umem);
    }

    [Fact]
    public void DmaBlocksAcrossDiscontiguousEntries()
    {
        using var f = new UmemFixture([(0x200000, 0x200000), (0x800000, 0x200000)]);
        var umem = Mapped(f, 0, 0x400000);
        Assert.Equal(SZ_2M, umem.Umem.FindBestPgsz(SZ_4K | SZ_2M, 0));
        var blocks = new List<ulong>();
        Assert.Equal(2, umem.Umem.ForEachDmaBlock(SZ_2M, blocks));
        Assert.Equal([0x200000UL, 0x800000UL], blocks);
        f.Locked(umem.UnmapPages);
        IbUmem.Release(umem.Umem);
    }

    [Fact]
    public void DmaBlocksOfAnUnalignedWindow()
    {
        using var f = new UmemFixture([(0x200000, 0x200000)]);
        var umem = Mapped(f, 0x800, 0x1000);
        Assert.Equal(SZ_64K, umem.Umem.FindBestPgsz(SZ_4K | SZ_64K, 0x10000800));
        var blocks = new List<ulong>();
        // 64K: (ALIGN(0x10001800, 64K) - ALIGN_DOWN(0x10000800, 64K)) / 64K = 1 block; __sg_advance = 0x800 & ~0xffff = 0.
        Assert.Equal(1, umem.Umem.ForEachDmaBlock(SZ_64K, blocks));
        Assert.Equal([0x200000UL], blocks);
        // 4K: (0x10002000 - 0x10000000) / 4K = 2 blocks: the trimmed entry's two pages.
        blocks.Clear();
        Assert.Equal(2, umem.Umem.ForEachDmaBlock(SZ_4K, blocks));
        Assert.Equal([0x200000UL, 0x201000UL], blocks);
        f.Locked(umem.UnmapPages);
        IbUmem.Release(umem.Umem);
    }
}
