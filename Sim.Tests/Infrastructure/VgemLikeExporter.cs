using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;

namespace Sim.Tests.Infrastructure;

/// <summary>
/// A test stand-in for vgem's PRIME export (drm_gem_prime_dmabuf_ops over a shmem object), to drive the dma-buf core
/// with the sg traces before Sim.Drm wires its own: cache_sgt_mapping, not dynamic, exp_name "drm"; map_dma_buf =
/// drm_gem_map_dma_buf: drm_prime_pages_to_sg (sg_alloc_table_from_pages_segment with the exporting device's
/// dma_max_mapping_size as max_segment) + dma_map_sgtable(attach->dev, DMA_ATTR_SKIP_CPU_SYNC); mmap faults in its frames.
/// </summary>
public sealed class VgemLikeExporter : IVmOperations
{
    private readonly ulong[] _pfns;
    private readonly DmaMapping _dma;
    private readonly Device _exportingDevice;

    public VgemLikeExporter(ulong[] pfns, DmaMapping dma, Device exportingDevice)
    {
        _pfns = pfns;
        _dma = dma;
        _exportingDevice = exportingDevice;
        Ops = new DmaBufOps
        {
            CacheSgtMapping = true,
            MapDmaBuf = Map,
            UnmapDmaBuf = Unmap,
            Release = b => Released = true,
            Mmap = (b, vma) => { vma.Ops = this; return 0; },
        };
    }

    public DmaBufOps Ops { get; }

    public bool Released { get; private set; }

    private (SgTable? Sgt, int Err) Map(DmaBufAttachment attach, DmaDataDirection dir)
    {
        ulong max = _dma.MaxMappingSize(_exportingDevice);
        uint maxSegment = max == 0 ? uint.MaxValue : (uint)Math.Min(max, uint.MaxValue);
        var sgt = new SgTable();
        int err = SgTable.AllocFromPagesSegment(sgt, _pfns, (uint)_pfns.Length, 0, (ulong)_pfns.Length << 12, maxSegment);
        if (err != 0)
        {
            return (null, err);
        }
        err = _dma.MapSgtable(attach.Dev, sgt, dir, DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
        if (err != 0)
        {
            sgt.Free();
            return (null, err);
        }
        return (sgt, 0);
    }

    private static void Unmap(DmaBufAttachment attach, SgTable sgt, DmaDataDirection dir)
    {
        DmaMapping.UnmapSgtable(attach.Dev, sgt, dir, DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
        sgt.Free();
    }

    public long Fault(Vma vma, ulong pgoff) => pgoff < (ulong)_pfns.Length ? (long)_pfns[pgoff] : -(long)Errno.EFAULT;
}
