// Models struct dma_buf_attachment (include/linux/dma-buf.h, Linux 6.1).
using Sim.Core;
using Sim.Core.Dma;
using Sim.Core.Lib;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_buf_attachment</c>: one device's attachment to a dma-buf, created by
/// <see cref="DmaBuf.DynamicAttach"/> and freed by <see cref="DmaBuf.Detach"/>. It holds no reference to the
/// dma-buf (the importer holds one from <c>dma_buf_get</c>).
/// </summary>
[Kernel("struct dma_buf_attachment", "include/linux/dma-buf.h")]
public sealed class DmaBufAttachment
{
    internal readonly List<SgTable> OutstandingMaps = [];
    internal long LiveId;

    internal DmaBufAttachment(DmaBuf dmabuf, Device dev, DmaBufAttachOps? importerOps, object? importerPriv)
    {
        DmaBuf = dmabuf;
        Dev = dev;
        ImporterOps = importerOps;
        ImporterPriv = importerPriv;
        Peer2Peer = importerOps?.AllowPeer2Peer ?? false;
    }

    /// <summary><c>dmabuf</c> (null once freed by <c>dma_buf_detach</c>).</summary>
    public DmaBuf? DmaBuf { get; internal set; }

    /// <summary><c>dev</c>: the importing device (the exporter's <c>map_dma_buf</c> maps for it).</summary>
    public Device Dev { get; }

    /// <summary><c>sgt</c>: the cached mapping (cache_sgt_mapping exporters, or created at attach time).</summary>
    public SgTable? Sgt { get; internal set; }

    /// <summary><c>dir</c>: the direction of <see cref="Sgt"/>.</summary>
    public DmaDataDirection Dir { get; internal set; }

    /// <summary><c>peer2peer</c>.</summary>
    public bool Peer2Peer { get; }

    /// <summary><c>importer_ops</c> (non-null = a dynamic importer).</summary>
    public DmaBufAttachOps? ImporterOps { get; }

    /// <summary><c>importer_priv</c>.</summary>
    public object? ImporterPriv { get; }

    /// <summary><c>priv</c>: the exporter's per-attachment data.</summary>
    public object? Priv { get; set; }

    /// <summary>True once <c>dma_buf_detach</c> freed it.</summary>
    public bool Freed { get; internal set; }

    /// <summary>Successful <c>dma_buf_pin</c> calls not yet undone by <c>dma_buf_unpin</c> (accounting only).</summary>
    public int PinCount { get; internal set; }

    /// <summary><c>dma_buf_attachment_is_dynamic</c>: the importer can handle moves (has importer ops).</summary>
    [Kernel("dma_buf_attachment_is_dynamic", "include/linux/dma-buf.h")]
    public bool IsDynamic => ImporterOps is not null;

    /// <inheritdoc/>
    public override string ToString() => $"attachment of {Dev} to {DmaBuf?.ExpName ?? "(freed)"}";
}
