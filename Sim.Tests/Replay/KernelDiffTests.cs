using Sim.Machine;
using Xunit;

namespace Sim.Tests.Replay;

/// <summary><c>dmabufsim diff-kernels</c>'s library: one trace on both profiles, the results that differ.</summary>
public class KernelDiffTests
{
    /// <summary>
    /// The IOMMU boots of the sg family: iommu_setup_dma_ops installs a dma_map_ops table on 6.1 and sets
    /// dev->dma_iommu on 6.12 (kernel/dma/mapping.c use_dma_iommu()); nothing else of the 702 events differs.
    /// </summary>
    [Theory]
    [InlineData("linux-6.1-sg", "\"iommu-dma(ops set)\"")]
    [InlineData("linux-6.12-sg", "\"dma-direct(ops NULL)\"")]
    public void Iommu_boot_differs_only_in_the_dma_ops_table(string family, string traced)
    {
        string file = Path.Combine(DataLocator.FindDataDir()!, "traces", family, "dma_map_seed11_iommu.jsonl");
        var (rows, on61, on612) = KernelDiff.Compare(file);
        var row = Assert.Single(rows);
        Assert.Equal((0L, "device_dma_params", "result.dma_ops"), (row.I, row.Op, row.Field));
        Assert.Equal("\"iommu-dma(ops set)\"", row.On61);
        Assert.Equal("\"dma-direct(ops NULL)\"", row.On612);
        Assert.Equal(traced, row.Traced);
        Assert.Equal(1, on61.Totals.Failed + on612.Totals.Failed);

        var w = new StringWriter();
        KernelDiff.Write(family, rows, on61, on612, w);
        Assert.StartsWith("i=0 device_dma_params: result.dma_ops: 6.1 \"iommu-dma(ops set)\", 6.12 \"dma-direct(ops NULL)\"", w.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Dma_direct_boot_has_no_difference()
    {
        string file = Path.Combine(DataLocator.FindDataDir()!, "traces", "linux-6.12-sg", "dma_map_seed11_direct.jsonl");
        var (rows, on61, on612) = KernelDiff.Compare(file);
        Assert.Empty(rows);
        Assert.Equal((0L, 0L), (on61.Totals.Failed, on612.Totals.Failed));
    }
}
