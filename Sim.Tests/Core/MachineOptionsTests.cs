using System.Text.Json;
using Sim.Core.Boot;
using Xunit;

namespace Sim.Tests.Core;

public class MachineOptionsTests
{
    [Fact]
    public void CommandLineReadsLikeTheKernels()
    {
        var o = new MachineOptions().Apply("mem=1G cma=16M iommu=on vgem kvmfr.static_size_mb=1,1", strict: true);
        Assert.Equal(1UL << 30, o.RamBytes);
        Assert.Equal(16UL << 20, o.CmaBytes);
        Assert.Equal(DmaPath.Iommu, o.DmaPath);
        Assert.Equal("vgem", Assert.Single(o.DrmDevices).Driver);
        Assert.True(o.KvmfrLoaded);
        Assert.Equal("1,1", o.KvmfrStaticSizeMb);
    }

    [Theory]
    [InlineData("mem=1T", 1UL << 40)]
    [InlineData("mem=512M", 512UL << 20)]
    [InlineData("mem=0x40000000", 1UL << 30)]
    [InlineData("mem=4096K", 4UL << 20)]
    public void MemParsesWithSuffixes(string arg, ulong bytes) =>
        Assert.Equal(bytes, new MachineOptions().Apply(arg, strict: true).RamBytes);

    [Theory]
    [InlineData("intel_iommu=on iommu=nopt", DmaPath.Iommu)]
    [InlineData("swiotlb=force", DmaPath.Swiotlb)]
    [InlineData("iommu=on iommu=off", DmaPath.Direct)]
    public void KernelSpellingsSelectTheDmaPath(string line, DmaPath path) =>
        Assert.Equal(path, new MachineOptions().Apply(line, strict: true).DmaPath);

    [Theory]
    [InlineData("frobnicate=1", "unknown machine option 'frobnicate=1'")]
    [InlineData("mem=lots", "mem=lots")]
    [InlineData("mem=2T", "mem=2T")]
    [InlineData("iommu=maybe", "iommu=maybe")]
    [InlineData("vgem=3", "vgem takes no value")]
    [InlineData("dma_heap=ion", "dma_heap=ion: expected system, cma, system,cma or off")]
    public void TypedOptionsGetClearErrors(string line, string message)
    {
        var ex = Assert.Throws<MachineOptionException>(() => new MachineOptions().Apply(line, strict: true));
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HeaderCommandLinesIgnoreWhatIsNotModelled()
    {
        var o = new MachineOptions().Apply("console=ttyS0 quiet loglevel=3 panic=-1 MODE=virtio swiotlb=force", strict: false);
        Assert.Equal(DmaPath.Swiotlb, o.DmaPath);
        Assert.Equal(["console=ttyS0", "quiet", "loglevel=3", "panic=-1", "MODE=virtio"], o.Ignored);
    }

    [Fact]
    public void QuotedValuesKeepTheirSpaces()
    {
        var p = KernelCmdline.Split("a=\"x y\" b");
        Assert.Equal([new CmdlineParam("a", "x y"), new CmdlineParam("b", null)], p);
    }

    [Fact]
    public void MinimalHeaderGivesTheReadmeDefaults()
    {
        using var doc = JsonDocument.Parse("{\"format\":\"dmabuf-trace\",\"version\":1}");
        var o = MachineOptions.FromHeader(doc.RootElement);
        Assert.Equal("x86_64", o.Arch);
        Assert.Equal(1024UL << 20, o.RamBytes);
        Assert.Equal(DmaPath.Direct, o.DmaPath);
        Assert.Null(o.CmaBytes);
        Assert.Empty(o.DrmDevices);
        Assert.False(o.KvmfrLoaded);
        Assert.Equal(250, o.Hz);
        Assert.Equal(0x100000000UL, o.DefaultMmapOffsetStart);
    }

    [Fact]
    public void ArmHeaderConfiguresTheCmaBoard()
    {
        using var doc = JsonDocument.Parse("""
            {"format":"dmabuf-trace","version":1,"machine_config":{"arch":"arm","ram_mib":512,"ram_base":1610612736,
             "dma_path":"direct","cma":{"name":"reserved","size_mib":8,"base_pfn":522240,"count":2048,"order_per_bit":0,
             "pages_used_at_start":64,"max_align_order":8},
             "drm_devices":[{"node":"/dev/dri/card0","card_minor":0,"render_node":null,"render_minor":null,"driver":"pl111_drm","mmap_offset_start":268435456,"mmap_offsets_in_use":[]}]}}
            """);
        var o = MachineOptions.FromHeader(doc.RootElement);
        Assert.True(o.Is32Bit);
        Assert.Equal(2048UL * 4096, o.CmaBytes);
        Assert.Equal(522240UL, o.CmaBasePfn);
        Assert.Equal(64, o.CmaPagesUsedAtStart);
        var d = Assert.Single(o.DrmDevices);
        Assert.Null(d.RenderMinor);
        Assert.Equal(0x10000000UL, d.MmapOffsetStart);
    }
}
