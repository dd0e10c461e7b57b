using Microsoft.Extensions.DependencyInjection;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Replay;
using Sim.DmaBufs;
using Sim.Drm;
using Sim.RdmaUmem;
using Sim.Tests.DmaBufs;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// Every event of linux-6.1-sg <c>dmabuf_vgem_*</c> (the real <c>ib_umem_dmabuf_get</c> / <c>map_pages</c> /
/// <c>unmap_pages</c> with the module's lock, pin, unpin, unlock and release between them, and the dma-buf events
/// around them) replayed on the CLI's machine composition (the vgem model performs the buffer-creating unlogged
/// entries). Nothing may fail or be skipped, the event counts are the files' own, no umem or attachment outlives the
/// trace, and the only WARNs are the kernel's for the trace's own bad-argument cases.
/// </summary>
public class UmemDmabufSgReplayTests
{
    [Theory]
    [InlineData("seed21_direct", 140)]
    [InlineData("seed21_iommu", 140)]
    [InlineData("seed21_swiotlb", 140)]
    [InlineData("seed22_direct", 92)]
    [InlineData("seed22_iommu", 92)]
    [InlineData("seed22_swiotlb", 92)]
    public void DmabufVgemFileReplaysGreen(string which, int gets)
    {
        string file = Path.Combine(Path.GetDirectoryName(DmaBufFileTests.DataDir())!, "linux-6.1-sg", $"dmabuf_vgem_{which}.jsonl");
        Warnings? warnings = null;
        LiveObjects? live = null;
        var engine = new ReplayEngine(options =>
        {
            var sp = Sim.Machine.Composition.BuildMachine(options);
            warnings = sp.GetRequiredService<Warnings>();
            live = sp.GetRequiredService<LiveObjects>();
            return sp;
        });
        var r = engine.ReplayFile(file);
        Assert.Null(r.FormatError);
        Assert.True(r.Totals.Failed == 0 && r.Totals.Skipped == 0,
            $"{r.Totals.Passed} passed, {r.Totals.Failed} failed, {r.Totals.Skipped} skipped; " + string.Join("; ", r.Differences.Take(4)) + " " +
            string.Join("; ", r.SkipReasons.Select(kv => kv.Key + ": " + kv.Value)));
        Assert.Equal(gets, r.Ops["ib_umem_dmabuf_get"].Passed);
        Assert.Equal(155, r.Ops["ib_umem_dmabuf_map_pages"].Passed);
        Assert.Equal(92, r.Ops["ib_umem_dmabuf_unmap_pages"].Passed);
        // The trace's own bad-argument cases WARN in the kernel (dma_buf_attach with a NULL device, map with a NULL
        // attachment: 8 buffers in seed 21); nothing else may.
        Assert.All(warnings!.Records, w => Assert.Contains(w.Condition, new[] { "!dmabuf || !dev", "!attach || !attach->dmabuf" }));
        Assert.Equal(which.StartsWith("seed21", StringComparison.Ordinal) ? 16 : 0, warnings.Count);
        Assert.Equal(0, live!.Count("ib_umem_dmabuf"));
        Assert.Equal(0, live.Count("dma_buf_attachment"));
    }
}
