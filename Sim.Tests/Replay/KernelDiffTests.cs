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

    [Fact]
    public void Json_lists_each_difference_then_the_summary_object()
    {
        string file = Path.Combine(DataLocator.FindDataDir()!, "traces", "linux-6.1-sg", "dma_map_seed11_iommu.jsonl");
        var (rows, on61, on612) = KernelDiff.Compare(file);
        var w = new StringWriter();
        KernelDiff.WriteJson("linux-6.1-sg", rows, on61, on612, w);
        var lines = w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        using var diff = System.Text.Json.JsonDocument.Parse(lines[0]);
        Assert.Equal("difference", diff.RootElement.GetProperty("type").GetString());
        Assert.Equal("result.dma_ops", diff.RootElement.GetProperty("field").GetString());
        Assert.Equal("\"dma-direct(ops NULL)\"", diff.RootElement.GetProperty("on_6_12").GetString());
        using var summary = System.Text.Json.JsonDocument.Parse(lines[1]);
        var s = summary.RootElement;
        Assert.Equal(1, s.GetProperty("differences").GetInt32());
        Assert.Equal(on61.Totals.Passed + on612.Totals.Passed, s.GetProperty("passed").GetInt64());
        Assert.Equal(1, s.GetProperty("failed").GetInt64());
        Assert.Equal(0, s.GetProperty("skipped").GetInt64());
    }
}
