using Sim.Core.Lib;

namespace Sim.Core.Replay;

/// <summary>
/// Per-file replay state shared by the scatterlist/DMA handlers (Sim.Core) and the umem trimming handlers
/// (Sim.RdmaUmem) of the <c>linux-6.1-sg</c> family: the model's own mapped tables, by the trace's keys.
/// </summary>
public sealed class SgReplayState
{
    /// <summary>
    /// The table the model mapped for each <c>case</c> of a <c>dma_map_sgtable</c> event (until its
    /// <c>dma_unmap_sgtable</c>); the <c>sgcap-reimpl</c> map_pages events with <c>table</c> =
    /// <c>dma_map_sgtable</c> trim it in place and undo the trim.
    /// </summary>
    public Dictionary<long, SgTable> MappedByCase { get; } = [];

    /// <summary>
    /// The table of the first successful <c>dma_buf_map_attachment_unlocked</c> of each buffer <c>tag</c>; the
    /// <c>sgcap-reimpl</c> map_pages events with <c>table</c> = <c>dma_buf_map_attachment</c> use it.
    /// </summary>
    public Dictionary<long, SgTable> FirstMapByTag { get; } = [];
}
