// Counter tracks: how full the machine's pools are over time (CMA, GEM objects, dma-bufs, pinned pages, IOVA
// space, swiotlb slots, materialised RAM), sampled after every call.
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Mm;
using Sim.DmaBufs;

namespace Sim.Timeline;

/// <summary>The machine's counters; each exists only where the machine has the pool.</summary>
internal sealed class TimelineCounters
{
    private const int PageShift = 12;
    private readonly Cma? _cma;
    private readonly DmaBufList? _dmabufs;
    private readonly DmaMapping? _dma;
    private readonly Swiotlb? _swiotlb;
    private readonly IPhysicalPageStore? _ram;
    private readonly TimelineCounter? _cmaC;
    private readonly TimelineCounter _gemC;
    private readonly TimelineCounter _dmabufC;
    private readonly TimelineCounter _pinnedC;
    private readonly TimelineCounter? _iovaC;
    private readonly TimelineCounter? _swiotlbC;
    private readonly TimelineCounter? _ramC;
    private long _gem;
    private long _dmabuf;

    public TimelineCounters(IServiceProvider machine, Timeline tl)
    {
        _cma = machine.GetService<Cma>();
        _dmabufs = machine.GetService<DmaBufList>();
        _dma = machine.GetService<DmaMapping>();
        _swiotlb = machine.GetService<Swiotlb>();
        _ram = machine.GetService<IPhysicalPageStore>();
        if (machine.GetService<LiveObjects>() is { } live)
        {
            _gem = live.Count("drm_gem_object");
            _dmabuf = live.Count("dma_buf");
        }
        if (_cma is not null)
        {
            _cmaC = Add(tl, new TimelineCounter("CMA pages used (" + _cma.Name + ")", "pages"));
        }
        _gemC = Add(tl, new TimelineCounter("live GEM objects", "objects"));
        _dmabufC = Add(tl, new TimelineCounter("live dma-bufs", "objects"));
        _pinnedC = Add(tl, new TimelineCounter("pinned pages", "pages"));
        if (_dma is { Path: DmaPath.Iommu })
        {
            _iovaC = Add(tl, new TimelineCounter("IOVA space mapped", "bytes"));
        }
        if (_swiotlb is { IsActive: true })
        {
            _swiotlbC = Add(tl, new TimelineCounter("swiotlb slots used", "slots"));
        }
        if (_ram is not null)
        {
            _ramC = Add(tl, new TimelineCounter("materialised RAM", "bytes") { MayGrow = true });
        }
    }

    private static TimelineCounter Add(Timeline tl, TimelineCounter c)
    {
        tl.Counters.Add(c);
        return c;
    }

    public void OnLive(LiveObject o, bool alive)
    {
        int d = alive ? 1 : -1;
        switch (o.Type)
        {
            case "drm_gem_object":
                _gem += d;
                break;
            case "dma_buf":
                _dmabuf += d;
                break;
            default:
                break;
        }
    }

    public void Sample(long ts)
    {
        if (_cmaC is not null)
        {
            _cmaC.Sample(ts, (long)_cma!.UsedPages);
        }
        _gemC.Sample(ts, _gem);
        _dmabufC.Sample(ts, _dmabuf);
        _pinnedC.Sample(ts, PinnedPages());
        if (_iovaC is not null)
        {
            long pages = 0;
            foreach (var dom in _dma!.Domains)
            {
                pages += dom.MappedPages;
            }
            _iovaC.Sample(ts, pages << PageShift);
        }
        _swiotlbC?.Sample(ts, _swiotlb!.Used);
        _ramC?.Sample(ts, _ram!.MaterialisedPages << PageShift);
    }

    // Pages of dma-bufs an importer pinned (dma_buf_pin not yet undone by dma_buf_unpin), each buffer once.
    private long PinnedPages()
    {
        if (_dmabufs is null)
        {
            return 0;
        }
        long pages = 0;
        foreach (var d in _dmabufs.Buffers)
        {
            foreach (var a in d.Attachments)
            {
                if (a.PinCount > 0)
                {
                    pages += (long)((d.Size + 4095) >> PageShift);
                    break;
                }
            }
        }
        return pages;
    }
}
