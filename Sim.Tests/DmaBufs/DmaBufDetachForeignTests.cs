using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.DmaBufs;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// <c>dma_buf_detach(dmabuf, attach)</c> with an attachment of another buffer (in-kernel misuse), per profile.
/// 6.12.118 (drivers/dma-buf/dma-buf.c): <c>WARN_ON(!dmabuf || !attach || dmabuf != attach-&gt;dmabuf)</c> and
/// return. 6.1.192: only <c>WARN_ON(!dmabuf || !attach)</c>, then the cached table is unmapped through
/// <c>attach-&gt;dmabuf</c> (its own exporter, its own lock when dynamic), unpinned through <c>dmabuf-&gt;ops-&gt;unpin</c>
/// (the passed buffer's), <c>list_del(&amp;attach-&gt;node)</c> under the passed buffer's lock, the passed buffer's
/// exporter's <c>detach</c>, <c>kfree</c>.
/// </summary>
public class DmaBufDetachForeignTests
{
    private static readonly ulong[] PfnsA = [0x6483, 0x6487];
    private static readonly ulong[] PfnsB = [0x7000];

    private static TestMachine Machine(string kernel) => TestMachine.Create(new MachineOptions().Apply("kernel=" + kernel, strict: true));

    /// <summary>The boundary: its own buffer is detached cleanly on both profiles.</summary>
    [Theory]
    [InlineData("6.1")]
    [InlineData("6.12")]
    public void Own_attachment_is_detached_without_a_warning(string kernel)
    {
        using var m = Machine(kernel);
        var expA = new TestExporter(PfnsA);
        var (a, _) = expA.Export(m.List);
        var (at, _) = a!.Attach(new Device("importer"));
        a.Detach(at);
        Assert.Equal(0, m.Warnings.Count);
        Assert.True(at!.Freed);
        Assert.Empty(a.Attachments);
        Assert.Equal(["attach", "detach"], expA.Calls);
        a.Put();
    }

    [Fact]
    public void Foreign_attachment_is_a_warning_and_nothing_else_on_6_12()
    {
        using var m = Machine("6.12");
        var expA = new TestExporter(PfnsA);
        var expB = new TestExporter(PfnsB);
        var (a, _) = expA.Export(m.List);
        var (b, _) = expB.Export(m.List);
        var (at, _) = a!.Attach(new Device("importer"));
        b!.Detach(at);
        Assert.Equal(1, m.Warnings.Count);
        Assert.Contains("dmabuf != attach->dmabuf", m.Warnings.Records[0].ToString(), StringComparison.Ordinal);
        Assert.False(at!.Freed);
        Assert.Same(at, Assert.Single(a.Attachments));
        Assert.Equal(["attach"], expA.Calls);
        Assert.Empty(expB.Calls);
        a.Detach(at); // the right call still works
        Assert.Equal(["attach", "detach"], expA.Calls);
        a.Put();
        b.Put();
        Assert.Equal(1, m.Warnings.Count);
    }

    [Fact]
    public void Foreign_attachment_is_unlinked_from_its_own_buffer_and_given_to_the_wrong_exporter_on_6_1()
    {
        using var m = Machine("6.1");
        var expA = new TestExporter(PfnsA, cacheSgtMapping: true);
        var expB = new TestExporter(PfnsB);
        var (a, _) = expA.Export(m.List);
        var (b, _) = expB.Export(m.List);
        var (at, _) = a!.Attach(new Device("importer"));
        Assert.Equal(0, DmaBuf.MapAttachmentUnlocked(at, DmaDataDirection.DMA_TO_DEVICE).Err);
        Assert.NotNull(at!.Sgt); // cached (cache_sgt_mapping)
        b!.Detach(at);
        Assert.Equal(0, m.Warnings.Count);
        Assert.True(at.Freed);
        Assert.Empty(a.Attachments); // list_del works on the list the node is on
        Assert.Empty(b.Attachments);
        // __unmap_dma_buf goes through attach->dmabuf (A's exporter); ops->detach is the passed buffer's (B's).
        Assert.Equal(["attach", "map_dma_buf DMA_TO_DEVICE", "unmap_dma_buf DMA_TO_DEVICE"], expA.Calls);
        Assert.Equal(0, expA.LiveTables);
        Assert.Equal(["detach"], expB.Calls);
        Assert.False(a.Resv.IsLocked);
        Assert.False(b.Resv.IsLocked);
        a.Put();
        b.Put();
        Assert.Equal(0, m.Warnings.Count); // A's release finds its attachment list empty
    }

    /// <summary>6.1 unpins a dynamic exporter's cached attachment through the passed buffer's ops.</summary>
    [Fact]
    public void Foreign_dynamic_attachment_is_unpinned_by_the_passed_buffers_exporter_on_6_1()
    {
        using var m = Machine("6.1");
        var expA = new TestExporter(PfnsA, dynamic: true);
        var expB = new TestExporter(PfnsB, dynamic: true);
        var (a, _) = expA.Export(m.List);
        var (b, _) = expB.Export(m.List);
        var (at, _) = a!.Attach(new Device("importer")); // static importer of a dynamic exporter: pinned and mapped now
        Assert.NotNull(at!.Sgt);
        b!.Detach(at);
        Assert.Equal(["attach", "pin", "map_dma_buf DMA_BIDIRECTIONAL", "unmap_dma_buf DMA_BIDIRECTIONAL"], expA.Calls);
        Assert.Equal(["unpin", "detach"], expB.Calls);
        Assert.Empty(a.Attachments);
        Assert.False(a.Resv.IsLocked);
        Assert.False(b.Resv.IsLocked);
        a.Put();
        b.Put();
    }

    /// <summary>... and a static passed buffer has no <c>unpin</c>: a NULL pointer dereference on 6.1.</summary>
    [Fact]
    public void Foreign_dynamic_attachment_given_to_a_static_exporter_oopses_on_6_1()
    {
        using var m = Machine("6.1");
        var (a, _) = new TestExporter(PfnsA, dynamic: true).Export(m.List);
        var (b, _) = new TestExporter(PfnsB).Export(m.List);
        var (at, _) = a!.Attach(new Device("importer"));
        var e = Assert.Throws<KernelBugException>(() => b!.Detach(at));
        Assert.Contains("unpin", e.Message, StringComparison.Ordinal);
    }
}
