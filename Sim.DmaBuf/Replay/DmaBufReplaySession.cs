using Sim.Core.Replay;

namespace Sim.DmaBufs.Replay;

/// <summary>The dma-buf models a replay session's handlers reach (the resv and importer families).</summary>
public static class DmaBufReplaySession
{
    extension(ReplaySession session)
    {
        /// <summary>The dma-fence core (fence contexts, the fences the resv family makes).</summary>
        public DmaFenceCore Fences => session.Get<DmaFenceCore>();

        /// <summary>The dma-buf list (<c>dma_buf_get</c> of the importer families).</summary>
        public DmaBufList DmaBufs => session.Get<DmaBufList>();
    }
}
