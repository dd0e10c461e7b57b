using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Dma;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Xunit;

namespace Sim.Tests.Core;

[Collection(MemoryMeasurement.Name)]
public class TerabyteReplayTests
{
    [Fact]
    public void ReplayOfTheSgTracesWithOneTerabyteGrowsTheHeapByLessThan100MiB()
    {
        string data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");
        var files = new[]
        {
            Path.Combine(data, "traces", "linux-6.1-sg", "sg_alloc_seed1.jsonl"),
            Path.Combine(data, "traces", "linux-6.1-sg", "dma_map_seed11_iommu.jsonl"),
        };
        var kept = new List<object>();
        var engine = new ReplayEngine(o =>
        {
            var m = Composition.BuildMachine(o);
            // Keep the machine's memory models alive past the engine's disposal, to measure what they hold.
            kept.Add(m.GetRequiredService<PageAlloc>());
            kept.Add(m.GetRequiredService<DmaMapping>());
            return m;
        })
        { MachineOverrides = "mem=1T" };
        long before = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var f in files)
        {
            var r = engine.ReplayFile(f);
            Assert.Null(r.FormatError);
            Assert.Equal(0L, r.Totals.Failed);
            Assert.True(r.Totals.Passed > 100);
        }
        long after = GC.GetTotalMemory(forceFullCollection: true);
        var pageAlloc = (PageAlloc)kept[0];
        // The sg traces' machine is q35: with 1 TiB of RAM, 2 GiB stay below the PCI hole and the rest is relocated
        // to 4 GiB (hw/i386/pc_q35.c), so physical memory spans 4 GiB + (1 TiB - 2 GiB).
        Assert.Equal((1UL << 40) + (2UL << 30), pageAlloc.Memory.Size);
        GC.KeepAlive(kept);
        Assert.True(after - before < 100L << 20, $"managed heap grew by {(after - before) >> 20} MiB");
    }
}
