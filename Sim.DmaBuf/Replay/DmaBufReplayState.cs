using Sim.Core.Dma;
using Sim.Core.Lib;

namespace Sim.DmaBufs.Replay;

/// <summary>
/// Per-file state of the sg-family dma-buf events (<c>dmabuf_vgem_*</c>): the sgcap module's current buffer (its
/// <c>dma_buf_get</c> reference), its attachment to the edu device, the tables it mapped, and the "fresh" second
/// attachment of the DMA_TO_DEVICE / DMA_FROM_DEVICE pair.
/// </summary>
public sealed class DmaBufReplayState
{
    /// <summary>The buffer of the last successful <c>dma_buf_get</c> (null after its <c>dma_buf_put</c>).</summary>
    public DmaBuf? Current { get; set; }

    /// <summary>The <c>tag</c> of <see cref="Current"/>.</summary>
    public long Tag { get; set; } = -1;

    /// <summary>The module's attachment of <see cref="Current"/> (<c>dma_buf_attach</c> event).</summary>
    public DmaBufAttachment? Attach { get; set; }

    /// <summary>The table of the first map of <see cref="Attach"/>.</summary>
    public SgTable? FirstMap { get; set; }

    /// <summary>The table of the second map of <see cref="Attach"/>.</summary>
    public SgTable? SecondMap { get; set; }

    /// <summary>The fresh attachment (unlogged <c>dma_buf_attach</c> with <c>attachment: fresh</c>).</summary>
    public DmaBufAttachment? Fresh { get; set; }

    /// <summary>The tables mapped on the fresh attachment, by direction.</summary>
    public Dictionary<DmaDataDirection, SgTable> FreshMaps { get; } = [];
}
