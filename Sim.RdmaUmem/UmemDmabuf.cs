// Models drivers/infiniband/core/umem_dmabuf.c (Linux 6.1): struct ib_umem_dmabuf, ib_umem_dmabuf_get,
// ib_umem_dmabuf_get_pinned, ib_umem_dmabuf_map_pages, ib_umem_dmabuf_unmap_pages, ib_umem_dmabuf_release.
using System.Runtime.CompilerServices;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;

namespace Sim.RdmaUmem;

/// <summary>How <see cref="IbUmemDmabuf.MapPages"/> finds the entries it trims (the same result either way).</summary>
public enum UmemTrimImpl
{
    /// <summary><see cref="UmemDmabufTrim.Indexed"/>: binary search over a prefix-sum index cached per mapped table.</summary>
    Indexed,

    /// <summary><see cref="UmemDmabufTrim.Walk"/>: the kernel's loop, entry by entry (the oracle).</summary>
    Walk,
}

/// <summary>
/// <c>struct ib_umem_dmabuf</c>: a umem over a window of a dma-buf, with its dynamic attachment to the ib_device's
/// DMA device. <see cref="MapPages"/> maps the attachment and trims the mapped table in place to the window
/// (<see cref="FirstSg"/>/<see cref="LastSg"/> and their offsets); <see cref="UnmapPages"/> restores it exactly and
/// unmaps. Every map/unmap runs with the dma-buf's reservation lock held. Lifetime: <see cref="Get"/> holds a dma-buf
/// reference and the attachment until <see cref="Release"/> (registered with <see cref="LiveObjects"/> while alive).
/// </summary>
[Kernel("struct ib_umem_dmabuf", "include/rdma/ib_umem.h")]
public sealed class IbUmemDmabuf
{
    // One trim index per mapped table (the dma-buf's cached table outlives the umems that trim it).
    private static readonly ConditionalWeakTable<SgTable, SgTrimIndex> Indexes = [];

    private static readonly TrimResult NoTrim = new(SgCursor.Null, -1, 0, SgCursor.Null, -1, 0, 0, 0, 0, 0);

    /// <summary>
    /// <c>ib_umem_dmabuf_attach_pinned_ops</c>: peer-to-peer allowed; <c>move_notify</c> only warns (an exporter must
    /// not move pinned memory).
    /// </summary>
    [Kernel("ib_umem_dmabuf_attach_pinned_ops", "drivers/infiniband/core/umem_dmabuf.c")]
    public static readonly DmaBufAttachOps AttachPinnedOps = new()
    {
        AllowPeer2Peer = true,
        MoveNotify = UnsupportedMoveNotify,
    };

    private readonly Warnings _warn;
    private readonly LiveObjects _live;
    private TrimResult _trim = NoTrim;
    private long _liveId;

    private IbUmemDmabuf(IbDevice device, Warnings warn, LiveObjects live)
    {
        Umem = new IbUmem(device) { Dmabuf = this, IsDmabuf = true };
        _warn = warn;
        _live = live;
    }

    /// <summary><c>umem</c>: the embedded <c>struct ib_umem</c>.</summary>
    public IbUmem Umem { get; }

    /// <summary><c>attach</c>: the dynamic attachment (importer_priv = this umem).</summary>
    public DmaBufAttachment Attach { get; private set; } = null!;

    /// <summary><c>sgt</c>: the mapped table while mapped (the dma-buf's table, trimmed in place), else NULL.</summary>
    public SgTable? Sgt { get; private set; }

    /// <summary><c>first_sg</c>: the entry holding the window start, or NULL.</summary>
    public SgCursor FirstSg => _trim.FirstSg;

    /// <summary><c>last_sg</c>: the entry holding the window end, or NULL.</summary>
    public SgCursor LastSg => _trim.LastSg;

    /// <summary><c>first_sg_offset</c>.</summary>
    public ulong FirstSgOffset => _trim.FirstSgOffset;

    /// <summary><c>last_sg_trim</c>.</summary>
    public ulong LastSgTrim => _trim.LastSgTrim;

    /// <summary>What the last trim recorded (indices in the DMA view included; all NULL when not mapped).</summary>
    public TrimResult Trim => _trim;

    /// <summary><c>private</c>: the driver's data.</summary>
    public object? Private { get; set; }

    /// <summary><c>pinned</c>: set by <see cref="GetPinned"/> after its <c>dma_buf_pin</c>.</summary>
    public bool Pinned { get; private set; }

    /// <summary>True once <see cref="Release"/> freed it.</summary>
    public bool Released { get; private set; }

    /// <summary>How <see cref="MapPages"/> trims (not kernel state; both give the same result).</summary>
    public UmemTrimImpl TrimImpl { get; set; } = UmemTrimImpl.Indexed;

    /// <summary>Calls of the pinned ops' <c>move_notify</c> (the kernel's ratelimited <c>ibdev_warn</c>).</summary>
    public int UnsupportedMoveNotifyCalls { get; private set; }

    private static readonly Sim.Core.Debug.FaultSite s_kzalloc = Sim.Core.Debug.FaultSite.Register("ib_umem_dmabuf_get:kzalloc");

    /// <summary>
    /// <c>ib_umem_dmabuf_get(device, offset, size, fd, access, ops)</c>, with <paramref name="current"/> the task whose
    /// fd table <paramref name="fd"/> is looked up in. Checks in the kernel's order: <c>offset + size</c> overflowing
    /// (-EINVAL), no <paramref name="ops"/> or no <c>move_notify</c> (-EINVAL), <c>dma_buf_get</c> (-EBADF / -EINVAL),
    /// a window ending past the dma-buf (-EINVAL, dropping the reference), zero pages (<c>ib_umem_num_pages</c>, over
    /// the zeroed iova: <paramref name="size"/> 0; -EINVAL), then <c>dma_buf_dynamic_attach</c> of
    /// <c>device-&gt;dma_device</c> (its error). Unwinds <c>out_free_umem</c> then <c>out_release_dmabuf</c>.
    /// </summary>
    [Kernel("ib_umem_dmabuf_get", "drivers/infiniband/core/umem_dmabuf.c")]
    public static (IbUmemDmabuf? Umem, int Err) Get(DmaBufList dbList, Process current, IbDevice device, ulong offset,
        ulong size, int fd, int access, DmaBufAttachOps? ops)
    {
        int ret = -(int)Errno.EINVAL;
        ulong end = unchecked(offset + size);
        if (end < offset)
        {
            return (null, ret);
        }
        if (ops is null || ops.MoveNotify is null)
        {
            return (null, ret);
        }

        var (dmabuf, err) = DmaBuf.Get(dbList, current, fd);
        if (dmabuf is null)
        {
            return (null, err);
        }
        IbUmemDmabuf? umemDmabuf = null;
        if (dmabuf.Size < end)
        {
            goto out_release_dmabuf;
        }

        if (s_kzalloc.ShouldFail())
        {
            ret = -(int)Errno.ENOMEM;
            goto out_release_dmabuf;
        }
        umemDmabuf = new IbUmemDmabuf(device, dbList.Warnings, dbList.Live);
        var umem = umemDmabuf.Umem;
        umem.Length = size;
        umem.Address = offset;
        umem.Writable = IbVerbs.AccessWritable(access);
        umem.IsDmabuf = true;

        if (umem.NumPages == 0)
        {
            goto out_free_umem;
        }

        var (attach, aerr) = dmabuf.DynamicAttach(device.DmaDevice, ops, umemDmabuf);
        if (attach is null)
        {
            ret = aerr;
            goto out_free_umem;
        }
        umemDmabuf.Attach = attach;
        umemDmabuf._liveId = dbList.Live.Register("ib_umem_dmabuf",
            $"umem [0x{offset:x}, +0x{size:x}) of {dmabuf}", () => umemDmabuf.Sgt is null ? "unmapped" : "mapped");
        return (umemDmabuf, 0);

    out_free_umem:
        // kfree(umem_dmabuf): nothing was registered yet.
        umemDmabuf!.Released = true;

    out_release_dmabuf:
        dmabuf.Put();
        return (null, ret);
    }

    [Kernel("ib_umem_dmabuf_unsupported_move_notify", "drivers/infiniband/core/umem_dmabuf.c")]
    private static void UnsupportedMoveNotify(DmaBufAttachment attach)
    {
        // ibdev_warn_ratelimited(..., "Invalidate callback should not be called when memory is pinned").
        if (attach.ImporterPriv is IbUmemDmabuf umemDmabuf)
        {
            umemDmabuf.UnsupportedMoveNotifyCalls++;
        }
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_get_pinned(device, offset, size, fd, access)</c>: <see cref="Get"/> with
    /// <see cref="AttachPinnedOps"/>, then under the reservation lock <c>dma_buf_pin</c> (sets <see cref="Pinned"/>)
    /// and <see cref="MapPages"/>. A failure of either unlocks and releases the umem (<c>ib_umem_release</c>, which
    /// unmaps, unpins when pinned, detaches and drops the dma-buf) and returns that error.
    /// </summary>
    [Kernel("ib_umem_dmabuf_get_pinned", "drivers/infiniband/core/umem_dmabuf.c")]
    public static (IbUmemDmabuf? Umem, int Err) GetPinned(DmaBufList dbList, Process current, IbDevice device, ulong offset,
        ulong size, int fd, int access)
    {
        var (umemDmabuf, err) = Get(dbList, current, device, offset, size, fd, access, AttachPinnedOps);
        if (umemDmabuf is null)
        {
            return (null, err);
        }
        var resv = umemDmabuf.Attach.DmaBuf!.Resv;
        resv.Lock(null);
        err = DmaBuf.Pin(umemDmabuf.Attach);
        if (err != 0)
        {
            goto err_release;
        }
        umemDmabuf.Pinned = true;

        err = umemDmabuf.MapPages();
        if (err != 0)
        {
            goto err_release;
        }
        resv.Unlock();
        return (umemDmabuf, 0);

    err_release:
        resv.Unlock();
        IbUmem.Release(umemDmabuf.Umem);
        return (null, err);
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_map_pages</c>, with the dma-buf's reservation lock held (a WARN otherwise). Unless mapped
    /// already, maps the attachment DMA_BIDIRECTIONAL (its error is returned), trims the table in place to the
    /// page-aligned window (<see cref="TrimImpl"/>), points <c>umem.sgt_append.sgt</c> at <c>first_sg</c> with
    /// <c>nmap</c> entries and records the table. Then (also when mapped already) waits without a timeout for the
    /// KERNEL-usage fences of the reservation object (<c>dma_resv_wait_timeout(resv, DMA_RESV_USAGE_KERNEL, false,
    /// MAX_SCHEDULE_TIMEOUT)</c>, on the simulated clock): a negative result is returned, 0 becomes -ETIMEDOUT.
    /// A released umem is a WARN and -EINVAL.
    /// </summary>
    [Kernel("ib_umem_dmabuf_map_pages", "drivers/infiniband/core/umem_dmabuf.c")]
    public int MapPages()
    {
        if (_warn.On(Released || Attach.DmaBuf is null, "ib_umem_dmabuf_map_pages on a released umem"))
        {
            return -(int)Errno.EINVAL;
        }
        var resv = Attach.DmaBuf!.Resv;
        resv.AssertHeld();

        if (Sgt is null)
        {
            var (sgt, err) = DmaBuf.MapAttachment(Attach, DmaDataDirection.DMA_BIDIRECTIONAL, _warn);
            if (sgt is null)
            {
                return err;
            }

            // Modify the sg list in place to match umem address and length.
            _trim = TrimImpl == UmemTrimImpl.Walk
                ? UmemDmabufTrim.Walk(sgt, Umem.Address, Umem.Length)
                : UmemDmabufTrim.Indexed(sgt, Indexes.GetValue(sgt, static _ => new SgTrimIndex()), Umem.Address, Umem.Length);

            var view = Umem.SgtAppend.Sgt;
            view.Chunks = sgt.Chunks;
            view.Sgl = _trim.FirstSg;
            view.Nents = (int)_trim.Nmap;
            Sgt = sgt;
        }

        // Although the sg list is valid now, the content of the pages may be not up-to-date. Wait for the exporter
        // to finish the migration.
        long ret = resv.WaitTimeout(DmaResvUsage.KERNEL, false, unchecked((ulong)Ktime.MAX_SCHEDULE_TIMEOUT));
        if (ret < 0)
        {
            return (int)ret;
        }
        if (ret == 0)
        {
            return -(int)Errno.ETIMEDOUT;
        }
        return 0;
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_unmap_pages</c>, with the reservation lock held (a WARN otherwise): nothing when not mapped;
    /// else gives <c>first_sg</c> its offset back (address down, length up) and <c>last_sg</c> its trim, sets both to
    /// NULL (offsets 0), <c>dma_buf_unmap_attachment</c> DMA_BIDIRECTIONAL, and <c>sgt</c> = NULL. The table is then
    /// byte for byte what the map returned. (<c>umem.sgt_append.sgt</c> keeps its stale view, as in the kernel.)
    /// </summary>
    [Kernel("ib_umem_dmabuf_unmap_pages", "drivers/infiniband/core/umem_dmabuf.c")]
    public void UnmapPages()
    {
        if (_warn.On(Released || Attach.DmaBuf is null, "ib_umem_dmabuf_unmap_pages on a released umem"))
        {
            return;
        }
        Attach.DmaBuf!.Resv.AssertHeld();
        if (Sgt is null)
        {
            return;
        }
        // Restore the original sg list (first_sg, then last_sg), and forget both.
        UmemDmabufTrim.Unmap(Sgt, _trim);
        _trim = NoTrim;

        DmaBuf.UnmapAttachment(Attach, Sgt, DmaDataDirection.DMA_BIDIRECTIONAL, _warn);
        Sgt = null;
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_release</c>: under the reservation lock <see cref="UnmapPages"/> and, when pinned,
    /// <c>dma_buf_unpin</c>; then <c>dma_buf_detach</c>, <c>dma_buf_put</c> and the free. A second release is a WARN
    /// (a use after free in the kernel) and does nothing.
    /// </summary>
    [Kernel("ib_umem_dmabuf_release", "drivers/infiniband/core/umem_dmabuf.c")]
    public void Release()
    {
        if (_warn.On(Released || Attach.DmaBuf is null, "ib_umem_dmabuf_release of a released umem"))
        {
            return;
        }
        var dmabuf = Attach.DmaBuf!;
        dmabuf.Resv.Lock(null);
        UnmapPages();
        if (Pinned)
        {
            DmaBuf.Unpin(Attach);
        }
        dmabuf.Resv.Unlock();

        dmabuf.Detach(Attach);
        dmabuf.Put();
        Released = true;
        _live.Unregister(_liveId);
    }

    /// <inheritdoc/>
    public override string ToString() => $"ib_umem_dmabuf [0x{Umem.Address:x}, +0x{Umem.Length:x}){(Sgt is null ? "" : " mapped")}";
}
