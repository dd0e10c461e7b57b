using Sim.Core.Lib;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// The three trims and their restores allocate nothing per operation on a warm table, at every size of the benchmark
/// grid (BenchmarkDotNet's MemoryDiagnoser reports the same per run; this counts this thread's allocations exactly).
/// </summary>
public sealed class UmemDmabufTrimAllocationTests
{
    [Theory]
    [InlineData(16)]
    [InlineData(1024)]
    [InlineData(65536)]
    [InlineData(1048576)]
    public void WalkIndexedAndPackedAllocateNothingPerOperation(int n)
    {
        const uint Len = 64 * 1024;
        var sgt = new SgTable();
        Assert.Equal(0, SgTable.Alloc(sgt, n, new Random(n)));
        ulong dma = 0x100000000;
        foreach (var c in sgt.DmaSgs())
        {
            ref var e = ref sgt.At(c);
            e.DmaAddress = dma;
            e.DmaLength = Len;
            dma += Len;
        }
        sgt.MarkChanged();
        ulong total = (ulong)n * Len;
        (ulong, ulong)[] windows = [(0, 4096), ((total / 1000 * 495) & ~4095UL, Math.Max(4096, (total / 100) & ~4095UL)), (0, total)];
        var index = new SgTrimIndex();
        var packed = SgPackedTable.From(sgt);
        foreach (var (address, length) in windows)
        {
            for (int pass = 0; pass < 2; pass++)
            {
                // Pass 0 warms (the index is built on its first use); pass 1 counts.
                long before = GC.GetAllocatedBytesForCurrentThread();
                for (int k = 0; k < 3; k++)
                {
                    var w = UmemDmabufTrim.Walk(sgt, address, length);
                    UmemDmabufTrim.Unmap(sgt, w);
                    var x = UmemDmabufTrim.Indexed(sgt, index, address, length);
                    UmemDmabufTrim.Unmap(sgt, x);
                    var p = UmemDmabufTrim.Packed(packed, address, length);
                    UmemDmabufTrim.UnmapPacked(packed, p);
                }
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (pass == 1)
                {
                    Assert.True(allocated == 0, $"n={n} window=({address:x}, {length:x}): {allocated} bytes allocated by 9 operations");
                }
            }
        }
        sgt.Free();
    }
}
