using Sim.Core.Dma;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Sim.DmaBuf;
using Sim.RdmaUmem;
using DmaBufT = Sim.DmaBuf.DmaBuf;

namespace Sim.Cli.Teaching;

/// <summary>
/// The tour's RDMA memory region over a dma-buf, following <c>drivers/infiniband/core/umem_dmabuf.c</c> step for step
/// on the dma-buf core (<see cref="DmaBufT.DynamicAttach"/>, <see cref="DmaBufT.MapAttachment"/>) and the umem trim
/// model (<see cref="UmemDmabufTrim.Walk"/> / <see cref="UmemDmabufTrim.Unmap"/>). Stand-in for the
/// <c>IbUmemDmabuf</c> model until it is part of the machine.
/// </summary>
public sealed class UmemRegion
{
    /// <summary>
    /// The wait of map_pages here: Linux 6.1 passes <c>MAX_SCHEDULE_TIMEOUT</c> (a fence nobody signals would hang the
    /// task); the tour bounds it to this many seconds of simulated time so the wait can end in <c>-ETIMEDOUT</c>.
    /// </summary>
    public const int WaitSeconds = 10;

    /// <summary>What the tour says about the bounded wait.</summary>
    public static string TimeoutNote =>
        $"(Linux 6.1 waits with MAX_SCHEDULE_TIMEOUT, i.e. until the fence signals; the tour's map_pages gives the wait {WaitSeconds} s of simulated time.)";

    private UmemRegion(DmaBufAttachment attach, ulong address, ulong length)
    {
        Attach = attach;
        Address = address;
        Length = length;
    }

    /// <summary><c>umem_dmabuf-&gt;attach</c>.</summary>
    public DmaBufAttachment Attach { get; }

    /// <summary><c>umem.address</c>.</summary>
    public ulong Address { get; }

    /// <summary><c>umem.length</c>.</summary>
    public ulong Length { get; }

    /// <summary><c>umem_dmabuf-&gt;sgt</c> (null when not mapped).</summary>
    public SgTable? Sgt { get; private set; }

    /// <summary>The DMA view of the table as the exporter mapped it, right before the last trim.</summary>
    public IReadOnlyList<SgEntryView> Before { get; private set; } = [];

    /// <summary>The trim of the last map_pages (first_sg, first_sg_offset, last_sg, last_sg_trim, nmap).</summary>
    public TrimResult? Trim { get; private set; }

    /// <summary>
    /// <c>ib_umem_dmabuf_get(device, offset, size, fd, access, ops)</c>: the bounds checks, <c>dma_buf_get</c>, and a
    /// dynamic attachment of <paramref name="dmaDevice"/> with <c>move_notify</c>. Returns the umem or -errno.
    /// </summary>
    public static (UmemRegion? Umem, int Err) Get(DmaBufList dbList, Process current, int fd, Device dmaDevice, ulong offset, ulong size)
    {
        ArgumentNullException.ThrowIfNull(dbList);
        ulong end = unchecked(offset + size);
        if (end < offset || size == 0)
        {
            return (null, -(int)Errno.EINVAL);
        }
        var (dmabuf, err) = DmaBufT.Get(dbList, current, fd);
        if (dmabuf is null)
        {
            return (null, err);
        }
        if (dmabuf.Size < end)
        {
            dmabuf.Put();
            return (null, -(int)Errno.EINVAL);
        }
        UmemRegion? umem = null;
        var ops = new DmaBufAttachOps { AllowPeer2Peer = true, MoveNotify = _ => umem?.UnmapPages() };
        var (attach, aerr) = dmabuf.DynamicAttach(dmaDevice, ops, null);
        if (attach is null)
        {
            dmabuf.Put();
            return (null, aerr);
        }
        umem = new UmemRegion(attach, offset, size);
        return (umem, 0);
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_map_pages</c> (the caller's <c>dma_resv_lock</c> included): maps the attachment if not yet
    /// mapped and trims the table in place to the window, then waits for the kernel fences; 0, -ETIMEDOUT or -errno.
    /// </summary>
    public long MapPages()
    {
        var dmabuf = Attach.DmaBuf!;
        var resv = dmabuf.Resv;
        resv.Lock(null);
        try
        {
            if (Sgt is null)
            {
                var (sgt, err) = DmaBufT.MapAttachment(Attach, DmaDataDirection.DMA_BIDIRECTIONAL);
                if (sgt is null)
                {
                    return err;
                }
                Before = MachineFigures.Entries(sgt);
                Trim = UmemDmabufTrim.Walk(sgt, Address, Length);
                Sgt = sgt;
            }
            var clock = dmabuf.DbList.Clock;
            long ret = resv.WaitTimeout(DmaResvUsage.KERNEL, false, (ulong)(WaitSeconds * clock.Hz));
            if (ret < 0)
            {
                return ret;
            }
            return ret == 0 ? -(long)Errno.ETIMEDOUT : 0;
        }
        finally
        {
            resv.Unlock();
        }
    }

    /// <summary><c>ib_umem_dmabuf_unmap_pages</c> under the reservation lock: restores the trimmed entries, then unmaps.</summary>
    public void UnmapPages()
    {
        var resv = Attach.DmaBuf!.Resv;
        bool locked = !resv.IsLocked;
        if (locked)
        {
            resv.Lock(null);
        }
        if (Sgt is not null)
        {
            UmemDmabufTrim.Unmap(Sgt, Trim!.Value);
            DmaBufT.UnmapAttachment(Attach, Sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
            Sgt = null;
        }
        if (locked)
        {
            resv.Unlock();
        }
    }

    /// <summary><c>ib_umem_release</c> of a dma-buf umem: unmap_pages, then <c>ib_umem_dmabuf_release</c> (detach, put).</summary>
    public void Release()
    {
        UnmapPages();
        var dmabuf = Attach.DmaBuf!;
        dmabuf.Detach(Attach);
        dmabuf.Put();
    }
}
