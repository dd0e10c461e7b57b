using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Dma;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>The kernel profile machine option (issue 16, "Kernel profiles").</summary>
public class KernelProfileTests
{
    [Fact]
    public void Default_is_6_1()
    {
        var o = new MachineOptions();
        Assert.Equal(KernelVersion.V6_1, o.Kernel);
        Assert.Equal("6.1.192", o.Kernel.ToString());
    }

    [Theory]
    [InlineData("kernel=6.12", "6.12")]
    [InlineData("kernel=6.1", "6.1")]
    [InlineData("kernel=6.12 kernel=6.1", "6.1")]
    public void Option_selects_the_profile(string line, string profile) =>
        Assert.Equal(profile, new MachineOptions().Apply(line, strict: true).Kernel.Profile);

    [Theory]
    [InlineData("kernel=5.10")]
    [InlineData("kernel=6")]
    [InlineData("kernel=")]
    [InlineData("kernel=6.13")]
    public void Other_lines_are_refused(string line)
    {
        var ex = Assert.Throws<MachineOptionException>(() => new MachineOptions().Apply(line, strict: true));
        Assert.Contains("expected 6.1 or 6.12", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("6.1.0-56-amd64", "6.1")]         // the x86 captures (Debian 6.1.192-2)
    [InlineData("6.1.0-50-armmp", "6.1")]         // the ARM captures (Debian 6.1.176-1)
    [InlineData("6.12.118+deb12-amd64", "6.12")]  // linux-6.12-sg
    [InlineData("6.12.118+deb12-armmp", "6.12")]  // linux-6.12-cma-arm
    public void Header_kernel_release_picks_the_profile(string release, string profile)
    {
        using var doc = JsonDocument.Parse("{\"machine_config\":{\"kernel_release\":\"" + release + "\"}}");
        var o = MachineOptions.FromHeader(doc.RootElement);
        Assert.Equal(profile, o.Kernel.Profile);
        // --machine kernel=... overrides the header, as replay applies it after FromHeader.
        Assert.Equal("6.1", o.Apply("kernel=6.1", strict: true).Kernel.Profile);
    }

    [Fact]
    public void Versions_compare_like_KERNEL_VERSION()
    {
        Assert.True(KernelVersion.V6_12 > KernelVersion.V6_1);
        Assert.True(KernelVersion.V6_1 >= new KernelVersion(6, 1, 0));
        Assert.True(new KernelVersion(6, 11, 0) < KernelVersion.V6_12);
        Assert.Equal((6 << 16) + (12 << 8) + 118, KernelVersion.V6_12.Code);
        Assert.Equal((6 << 16) + (1 << 8) + 192, KernelVersion.V6_1.Code);
    }

    /// <summary>
    /// iommu_setup_dma_ops: 6.1 installs iommu_dma_ops in dev->dma_ops; 6.12 sets dev->dma_iommu and leaves
    /// dev->dma_ops NULL (kernel/dma/mapping.c: use_dma_iommu()). linux-6.1-sg and linux-6.12-sg
    /// dma_map_seed11_iommu.jsonl i=0: dma_ops "iommu-dma(ops set)" and "dma-direct(ops NULL)". Both still map
    /// through iommu-dma (IOVAs), and dma_opt_mapping_size is the IOVA rcache limit (131072) on both.
    /// </summary>
    [Theory]
    [InlineData("6.1", true, false)]
    [InlineData("6.12", false, true)]
    public void Iommu_dma_has_an_ops_table_only_on_6_1(string kernel, bool opsSet, bool dmaIommu)
    {
        var o = new MachineOptions { RamBytes = 512UL << 20 }.Apply($"kernel={kernel} iommu=on", strict: true);
        using var m = Composition.BuildMachine(o);
        var dma = m.GetRequiredService<DmaMapping>();
        var dev = dma.CreateDevice("0000:00:01.0");
        Assert.Equal(DmaOps.Iommu, dev.Ops);
        Assert.Equal(opsSet, dev.DmaMapOps);
        Assert.Equal(dmaIommu, dev.DmaIommu);
        Assert.Equal(131072UL, dma.OptMappingSize(dev));
    }

    [Theory]
    [InlineData("6.1")]
    [InlineData("6.12")]
    public void Dma_direct_has_no_ops_on_either(string kernel)
    {
        var o = new MachineOptions { RamBytes = 512UL << 20 }.Apply($"kernel={kernel}", strict: true);
        using var m = Composition.BuildMachine(o);
        var dev = m.GetRequiredService<DmaMapping>().CreateDevice("0000:00:01.0");
        Assert.False(dev.DmaMapOps);
        Assert.False(dev.DmaIommu);
    }
}
