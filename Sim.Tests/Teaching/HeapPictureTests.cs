using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.DmaBufs.Uapi;
using Sim.Machine;
using Sim.Teaching;
using Xunit;

namespace Sim.Tests.Teaching;

/// <summary>
/// DMA-BUF heaps as exporters in the show/tour pictures (MachineView's reference graph and SVG): the open heap
/// device, the heap's dma-buf with its <c>system_heap_buffer</c> / <c>cma_heap_buffer</c> as priv, and the heap.
/// </summary>
public sealed class HeapPictureTests
{
    private static (ServiceProvider Sp, Process P) Boot(string options) =>
        Composition.BuildBootedMachine(Composition.ParseMachine(options)) is var sp
            ? (sp, sp.GetRequiredService<ProcessTable>().Spawn("heap"))
            : default;

    private static int Alloc(Process p, int heap, ulong len)
    {
        var b = DmaHeapUapi.Alloc(len, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        Assert.Equal(0, p.Ioctl(heap, DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC, new UserArg(0x1000, b)));
        return (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
    }

    [Fact]
    public void SystemHeapBufferIsDrawnAsTheDmaBufsExporter()
    {
        var (sp, p) = Boot("kernel=6.12");
        using var _ = sp;
        int heap = p.Openat("/dev/dma_heap/system", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
        // 1 MiB + 64 KiB + 4 KiB: system_heap_allocate takes one block of each order (8, 4, 0)
        int fd = Alloc(p, heap, 0x111000);
        var view = MachineView.Capture(sp);
        var g = view.RefGraph("heap");
        var heapNode = Assert.Single(g.Nodes, n => n.Kind == "heap");
        Assert.Equal(("dma_heap system", "/dev/dma_heap/system (251:0)"), (heapNode.Label, heapNode.Detail));
        var buf = Assert.Single(g.Nodes, n => n.Kind == "heapbuf");
        Assert.Equal("system_heap_buffer", buf.Label);
        Assert.Equal("len 0x111000, 1 x 0x100000 + 1 x 0x10000 + 1 x 0x1000, vmap_cnt 0", buf.Detail);
        var dmabuf = Assert.Single(g.Nodes, n => n.Kind == "dmabuf");
        Assert.Contains("\"system\" 0x111000", dmabuf.Detail, StringComparison.Ordinal);
        Assert.Contains(new RefEdge(dmabuf.Id, buf.Id, "priv"), g.Edges);
        Assert.Contains(new RefEdge(buf.Id, heapNode.Id, "heap (exporter)"), g.Edges);
        // the heap's fd points at the heap; the dma-buf's fd at the dma-buf
        Assert.Contains(g.Edges, e => e.To == heapNode.Id && e.Label == "file");
        Assert.Contains(view.Processes.Single().Fds, f => f.Fd == heap && f.What == "/dev/dma_heap/system");
        Assert.Contains(view.Processes.Single().Fds, f => f.Fd == fd && f.Detail.Contains("\"system\"", StringComparison.Ordinal));
        // the buffer's own table, three entries of the three block sizes
        var table = Assert.Single(view.Tables, t => t.Owner.EndsWith("system_heap_buffer sg_table", StringComparison.Ordinal));
        Assert.Equal([0x100000u, 0x10000u, 0x1000u], table.Entries.Select(e => e.Length));
        // the SVG has the two new columns' boxes
        var svg = Svg.RefGraph(g).ToString();
        Assert.Contains("system_heap_buffer", svg, StringComparison.Ordinal);
        Assert.Contains("dma_heap system", svg, StringComparison.Ordinal);
    }

    [Fact]
    public void CmaHeapBufferShowsItsContiguousRange()
    {
        var (sp, p) = Boot("kernel=6.12 cma=16M dma_heap=cma");
        using var _ = sp;
        int heap = p.Openat("/dev/dma_heap/reserved", OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
        Assert.True(heap >= 0, $"open {heap}");
        Alloc(p, heap, 0x3000);
        var g = MachineView.Capture(sp).RefGraph("cma");
        var buf = Assert.Single(g.Nodes, n => n.Kind == "heapbuf");
        Assert.Equal("cma_heap_buffer", buf.Label);
        Assert.Matches(@"^len 0x3000, pfns 0x[0-9a-f]+\.\.0x[0-9a-f]+ of CMA area reserved, vmap_cnt 0$", buf.Detail);
        var heapNode = Assert.Single(g.Nodes, n => n.Kind == "heap");
        Assert.Equal("dma_heap reserved", heapNode.Label);
        Assert.Contains(new RefEdge(buf.Id, heapNode.Id, "heap (exporter)"), g.Edges);
    }
}
