using Sim.Core.Boot;
using Sim.Core.Dma;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// The dma-buf locking convention per kernel profile (drivers/dma-buf/dma-buf.c of 6.1.192 and 6.12.118).
/// 6.1: <c>dma_buf_map_attachment</c> / <c>dma_buf_unmap_attachment</c> assert the reservation lock only for a dynamic
/// attachment or exporter; <c>dma_buf_vmap</c> takes <c>dma_buf-&gt;lock</c>. 6.12: both assert it for every
/// attachment (<c>dma_resv_assert_held(attach-&gt;dmabuf-&gt;resv)</c> at the top), <c>dma_buf_vmap</c>/<c>vunmap</c>
/// assert it too, and <c>dma_buf_vmap_unlocked</c>/<c>dma_buf_vunmap_unlocked</c> exist. The asserts are lockdep's
/// (silent on Debian's non-lockdep builds); the simulator records them as a lockdep kernel would print them.
/// </summary>
public class DmaBufLockingTests
{
    private static readonly ulong[] Pfns = [0x6483, 0x6487];

    private static TestMachine Machine(string kernel) => TestMachine.Create(new MachineOptions().Apply("kernel=" + kernel, strict: true));

    [Theory]
    [InlineData("6.1", 0)]
    [InlineData("6.12", 2)] // map and unmap each assert once
    public void Locked_map_of_a_static_attachment_without_the_lock(string kernel, int warnings)
    {
        using var m = Machine(kernel);
        var (dmabuf, _) = new TestExporter(Pfns).Export(m.List);
        var (attach, _) = dmabuf!.Attach(new Device("importer"));
        var (sgt, err) = DmaBuf.MapAttachment(attach, DmaDataDirection.DMA_TO_DEVICE);
        Assert.Equal(0, err);
        DmaBuf.UnmapAttachment(attach, sgt, DmaDataDirection.DMA_TO_DEVICE);
        Assert.Equal(warnings, m.Warnings.Count);
        if (warnings > 0)
        {
            Assert.All(m.Warnings.Records, w => Assert.Contains("dma_resv_assert_held", w.ToString(), StringComparison.Ordinal));
        }
        dmabuf.Detach(attach);
        dmabuf.Put();
    }

    [Theory]
    [InlineData("6.1")]
    [InlineData("6.12")]
    public void Unlocked_variants_are_clean_on_both(string kernel)
    {
        using var m = Machine(kernel);
        var (dmabuf, _) = new TestExporter(Pfns).Export(m.List);
        var (attach, _) = dmabuf!.Attach(new Device("importer"));
        var (sgt, err) = DmaBuf.MapAttachmentUnlocked(attach, DmaDataDirection.DMA_TO_DEVICE);
        Assert.Equal(0, err);
        DmaBuf.UnmapAttachmentUnlocked(attach, sgt, DmaDataDirection.DMA_TO_DEVICE);
        dmabuf.Detach(attach);
        Assert.Equal(0, m.Warnings.Count);
        dmabuf.Put();
    }

    [Theory]
    [InlineData("6.1", 0)]
    [InlineData("6.12", 2)]
    public void Vmap_without_the_lock(string kernel, int warnings)
    {
        using var m = Machine(kernel);
        var (dmabuf, _) = new TestExporter(Pfns).Export(m.List);
        Assert.Equal(0, dmabuf!.Vmap(out var map));
        dmabuf.Vunmap(map);
        Assert.Equal(warnings, m.Warnings.Count);
        dmabuf.Put();
    }

    [Fact]
    public void Vmap_unlocked_exists_only_on_6_12()
    {
        using (var m = Machine("6.12"))
        {
            var (dmabuf, _) = new TestExporter(Pfns).Export(m.List);
            Assert.Equal(0, dmabuf!.VmapUnlocked(out var map));
            Assert.Equal(1, dmabuf.VmappingCounter);
            dmabuf.VunmapUnlocked(map);
            Assert.Equal(0, dmabuf.VmappingCounter);
            Assert.Equal(0, m.Warnings.Count);
            Assert.False(dmabuf.Resv.IsLocked);
            dmabuf.Put();
        }
        using (var m = Machine("6.1"))
        {
            var (dmabuf, _) = new TestExporter(Pfns).Export(m.List);
            Assert.Equal(-(int)Errno.ENOSYS, dmabuf!.VmapUnlocked(out _));
            dmabuf.Put();
        }
    }

    [Theory]
    [InlineData("6.1", false)]
    [InlineData("6.12", true)]
    public void Convention_follows_the_profile(string kernel, bool resvEverywhere)
    {
        using var m = Machine(kernel);
        Assert.Equal(resvEverywhere, m.List.ResvLockedConvention);
    }
}
