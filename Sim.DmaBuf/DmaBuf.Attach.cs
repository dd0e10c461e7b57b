// Models drivers/dma-buf/dma-buf.c (Linux 6.1), the importer side of struct dma_buf: attach (static and
// dynamic), detach, pin/unpin, map/unmap of an attachment (locked and unlocked), move_notify.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBufs;

/// <summary>The importer side of <c>struct dma_buf</c>: attachments and their mappings.</summary>
public sealed partial class DmaBuf
{
    /// <summary>
    /// <c>__map_dma_buf</c>: the exporter's <c>map_dma_buf</c>; for a static importer it then waits for the kernel
    /// fences of the reservation object (interruptibly) and unmaps again when that wait fails.
    /// </summary>
    [Kernel("__map_dma_buf", "drivers/dma-buf/dma-buf.c")]
    private (SgTable? Sgt, int Err) MapDmaBufRaw(DmaBufAttachment attach, DmaDataDirection direction)
    {
        var (sgt, err) = Ops.MapDmaBuf!(attach, direction);
        if (sgt is null)
        {
            return (null, err);
        }
        if (!attach.IsDynamic)
        {
            long ret = WaitKernelFencesForMap();
            if (ret < 0)
            {
                Ops.UnmapDmaBuf!(attach, sgt, direction);
                return (null, (int)ret);
            }
        }
        return (sgt, 0);
    }

    /// <summary><c>__unmap_dma_buf</c>.</summary>
    [Kernel("__unmap_dma_buf", "drivers/dma-buf/dma-buf.c")]
    private void UnmapDmaBufRaw(DmaBufAttachment attach, SgTable sgt, DmaDataDirection direction) =>
        Ops.UnmapDmaBuf!(attach, sgt, direction);

    /// <summary><c>dma_buf_attach</c>: <see cref="DynamicAttach"/> for a static importer (no importer ops).</summary>
    [Kernel("dma_buf_attach", "drivers/dma-buf/dma-buf.c")]
    public (DmaBufAttachment? Attach, int Err) Attach(Device? dev) => DynamicAttach(dev, null, null);

    /// <summary>
    /// <c>dma_buf_dynamic_attach</c>: adds <paramref name="dev"/> to the attachments. A NULL device or importer ops
    /// without <c>move_notify</c> are WARNs and <c>-EINVAL</c>; the exporter's <c>attach</c> may fail it. When exactly
    /// one side is dynamic the mapping is made (and cached, DMA_BIDIRECTIONAL) here, pinning a dynamic exporter
    /// first; a failure then unwinds in the kernel's order (unpin, unlock, <c>dma_buf_detach</c>).
    /// </summary>
    [Kernel("dma_buf_dynamic_attach", "drivers/dma-buf/dma-buf.c")]
    public (DmaBufAttachment? Attach, int Err) DynamicAttach(Device? dev, DmaBufAttachOps? importerOps, object? importerPriv)
    {
        int ret;
        _dbList.Kprobe("dma_buf_dynamic_attach");
        if (Warn.On(dev is null, "!dmabuf || !dev"))
        {
            return (null, -(int)Errno.EINVAL);
        }
        if (Warn.On(importerOps is not null && importerOps.MoveNotify is null, "importer_ops && !importer_ops->move_notify"))
        {
            return (null, -(int)Errno.EINVAL);
        }

        if (s_kzallocAttach.ShouldFail())
        {
            return (null, -(int)Errno.ENOMEM);
        }
        var attach = new DmaBufAttachment(this, dev!, importerOps, importerPriv);
        attach.LiveId = _dbList.Live.Register("dma_buf_attachment", $"attachment of {dev} to dma-buf ino {File.Inode.Ino}",
            () => $"importer of {attach.Dev}{(attach.Sgt is null ? "" : ", mapping held")}{(attach.ImporterOps is null ? "" : ", dynamic importer")}");

        if (Ops.Attach is not null)
        {
            ret = Ops.Attach(this, attach);
            if (ret != 0)
            {
                goto err_attach;
            }
        }
        ResvLock();
        _attachments.Insert(0, attach);
        ResvUnlock();

        // When either the importer or the exporter can't handle dynamic mappings the mapping is cached here.
        bool always = _dbList.ResvLockedConvention; // 6.12: the pre-map runs under the lock for every exporter
        if (attach.IsDynamic != IsDynamic)
        {
            if (always || IsDynamic)
            {
                ResvLock();
            }
            if (IsDynamic)
            {
                ret = Ops.Pin!(attach);
                if (ret != 0)
                {
                    goto err_unlock;
                }
            }

            var (sgt, err) = MapDmaBufRaw(attach, DmaDataDirection.DMA_BIDIRECTIONAL);
            if (sgt is null && err == 0)
            {
                err = -(int)Errno.ENOMEM;
            }
            if (sgt is null)
            {
                ret = err;
                goto err_unpin;
            }
            if (always || IsDynamic)
            {
                ResvUnlock();
            }
            attach.Sgt = sgt;
            attach.Dir = DmaDataDirection.DMA_BIDIRECTIONAL;
        }
        return (attach, 0);

    err_attach:
        attach.Freed = true;
        attach.DmaBuf = null;
        _dbList.Live.Unregister(attach.LiveId);
        return (null, ret);

    err_unpin:
        if (IsDynamic)
        {
            Ops.Unpin!(attach);
        }

    err_unlock:
        if (always || IsDynamic)
        {
            ResvUnlock();
        }

        Detach(attach);
        return (null, ret);
    }

    /// <summary>
    /// <c>dma_buf_detach</c>: drops the cached mapping (unpinning a dynamic exporter), takes the attachment off the
    /// list, calls the exporter's <c>detach</c> and frees it. A NULL attachment is a WARN and does nothing. An
    /// attachment of another buffer is a WARN on 6.12 (<c>dmabuf != attach-&gt;dmabuf</c>); 6.1 has no such check
    /// and goes on: the cached mapping is unmapped by the attachment's own exporter under its own lock, but unpinned
    /// through <paramref name="attach"/>'s wrong buffer's ops, the attachment is unlinked from its own buffer's list
    /// under this buffer's lock, and this buffer's exporter gets the <c>detach</c>. An attachment already detached
    /// is a use-after-free in the kernel, which the model cannot run: a WARN that does nothing on both profiles.
    /// </summary>
    [Kernel("dma_buf_detach", "drivers/dma-buf/dma-buf.c")]
    public void Detach(DmaBufAttachment? attach)
    {
        _dbList.Kprobe("dma_buf_detach");
        if (Warn.On(attach is null, "!dmabuf || !attach"))
        {
            return;
        }
        if (Warn.On(attach!.Freed, "dma_buf_detach of a freed attachment (use-after-free)"))
        {
            return;
        }
        // 6.1 locks the reservation around the cached unmap of a dynamic exporter only, then again around
        // list_del; 6.12 WARNs on a foreign attachment and holds the lock around both for every exporter.
        bool always = _dbList.ResvLockedConvention;
        if (always && Warn.On(!ReferenceEquals(attach.DmaBuf, this), "dmabuf != attach->dmabuf"))
        {
            return;
        }
        // An importer's attachment dropped in do_exit (its GEM object's last handle, ...): a leak for --check.
        using var lost = _dbList.Live.LostAtExit(attach.LiveId);
        var owner = attach.DmaBuf!; // this buffer, except for a foreign attachment on 6.1
        if (always)
        {
            ResvLock();
        }
        if (attach.Sgt is not null)
        {
            if (owner.IsDynamic && !always)
            {
                owner.ResvLock();
            }
            owner.UnmapDmaBufRaw(attach, attach.Sgt, attach.Dir);
            if (owner.IsDynamic)
            {
                // dmabuf->ops->unpin: the passed buffer's ops, which a static exporter does not have.
                KernelBugException.On(Ops.Unpin is null, "NULL pointer dereference: dmabuf->ops->unpin of a foreign dynamic attachment");
                Ops.Unpin!(attach);
            }
            if (owner.IsDynamic && !always)
            {
                owner.ResvUnlock();
            }
            attach.Sgt = null;
        }
        if (!always)
        {
            ResvLock();
        }
        owner._attachments.Remove(attach); // list_del(&attach->node): the list it is on, whoever's lock is held
        ResvUnlock();
        Ops.Detach?.Invoke(this, attach);

        attach.Freed = true;
        attach.DmaBuf = null;
        _dbList.Live.Unregister(attach.LiveId);
    }

    /// <summary><c>dma_buf_pin</c>: only for dynamic importers (WARN otherwise); the exporter's <c>pin</c>, or 0 without one.</summary>
    [Kernel("dma_buf_pin", "drivers/dma-buf/dma-buf.c")]
    public static int Pin(DmaBufAttachment attach)
    {
        var dmabuf = LiveOf(attach);
        if (dmabuf is null)
        {
            return -(int)Errno.EINVAL;
        }
        dmabuf.Warn.On(!attach.IsDynamic, "!dma_buf_attachment_is_dynamic(attach)");
        dmabuf.ResvAssertHeld();
        int ret = dmabuf.Ops.Pin is not null ? dmabuf.Ops.Pin(attach) : 0;
        attach.PinCount += ret == 0 ? 1 : 0;
        return ret;
    }

    /// <summary><c>dma_buf_unpin</c>.</summary>
    [Kernel("dma_buf_unpin", "drivers/dma-buf/dma-buf.c")]
    public static void Unpin(DmaBufAttachment attach)
    {
        var dmabuf = LiveOf(attach);
        if (dmabuf is null)
        {
            return;
        }
        dmabuf.Warn.On(!attach.IsDynamic, "!dma_buf_attachment_is_dynamic(attach)");
        dmabuf.ResvAssertHeld();
        dmabuf.Ops.Unpin?.Invoke(attach);
        attach.PinCount -= attach.PinCount > 0 ? 1 : 0;
    }

    private static DmaBuf? LiveOf(DmaBufAttachment attach) => attach.DmaBuf;

    /// <summary>
    /// <c>dma_buf_map_attachment</c>: the scatterlist of the buffer mapped for the attachment's device. A NULL
    /// attachment (or a freed one) is a WARN (recorded on <paramref name="warn"/> when there is no attachment to
    /// find the machine by) and <c>-EINVAL</c>. A cached mapping is returned again (<c>-EBUSY</c> for another
    /// direction unless it is bidirectional); a NULL table from the exporter is <c>-ENOMEM</c>.
    /// </summary>
    [Kernel("dma_buf_map_attachment", "drivers/dma-buf/dma-buf.c")]
    public static (SgTable? Sgt, int Err) MapAttachment(DmaBufAttachment? attach, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        dmabuf?._dbList.Kprobe("dma_buf_map_attachment", new KernelTraceField("dir", (long)direction));
        if (dmabuf is null)
        {
            warn?.On(true, "!attach || !attach->dmabuf");
            return (null, -(int)Errno.EINVAL);
        }
        var r = MapAttachmentRaw(attach!, dmabuf, direction);
        if (r.Sgt is { } t && dmabuf._dbList.Trace.Enabled)
        {
            ref var sg0 = ref t.At(t.Sgl);
            dmabuf._dbList.Kprobe("dma_buf_map_attachment:return", new KernelTraceField("nents", (long)t.Nents),
                new KernelTraceField("orig_nents", (long)t.OrigNents), new KernelTraceField("sg0_offset", (long)sg0.Offset),
                new KernelTraceField("sg0_length", (long)sg0.Length), new KernelTraceField("sg0_dma_length", (long)sg0.DmaLength));
        }
        return r;
    }

    private static (SgTable? Sgt, int Err) MapAttachmentRaw(DmaBufAttachment attach, DmaBuf dmabuf, DmaDataDirection direction)
    {
        bool always = dmabuf._dbList.ResvLockedConvention; // 6.12: dma_resv_assert_held for every attachment
        if (always || attach.IsDynamic)
        {
            dmabuf.ResvAssertHeld();
        }
        if (attach.Sgt is not null)
        {
            // Two mappings with different directions for the same attachment are not allowed.
            if (attach.Dir != direction && attach.Dir != DmaDataDirection.DMA_BIDIRECTIONAL)
            {
                return (null, -(int)Errno.EBUSY);
            }
            return (attach.Sgt, 0);
        }
        if (dmabuf.IsDynamic)
        {
            if (!always)
            {
                dmabuf.ResvAssertHeld();
            }
            if (!CONFIG_DMABUF_MOVE_NOTIFY)
            {
                int r = dmabuf.Ops.Pin!(attach);
                if (r != 0)
                {
                    return (null, r);
                }
            }
        }
        var (sgt, err) = dmabuf.MapDmaBufRaw(attach, direction);
        if (sgt is null && err == 0)
        {
            err = -(int)Errno.ENOMEM;
        }
        if (sgt is null && dmabuf.IsDynamic && !CONFIG_DMABUF_MOVE_NOTIFY)
        {
            dmabuf.Ops.Unpin!(attach);
        }
        if (sgt is not null)
        {
            if (dmabuf.Ops.CacheSgtMapping)
            {
                attach.Sgt = sgt;
                attach.Dir = direction;
            }
            else
            {
                attach.OutstandingMaps.Add(sgt);
            }
        }
        return (sgt, sgt is null ? err : 0);
    }

    /// <summary><c>dma_buf_map_attachment_unlocked</c>: <see cref="MapAttachment"/> under the reservation lock.</summary>
    [Kernel("dma_buf_map_attachment_unlocked", "drivers/dma-buf/dma-buf.c")]
    public static (SgTable? Sgt, int Err) MapAttachmentUnlocked(DmaBufAttachment? attach, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        if (dmabuf is null)
        {
            warn?.On(true, "!attach || !attach->dmabuf");
            return (null, -(int)Errno.EINVAL);
        }
        dmabuf.ResvLock();
        var r = MapAttachment(attach, direction, warn);
        dmabuf.ResvUnlock();
        return r;
    }

    /// <summary>
    /// <c>dma_buf_unmap_attachment</c>: unmaps a table of <see cref="MapAttachment"/>; the cached table stays
    /// until detach (nothing happens). A NULL argument is a WARN; so is (a model check, where the kernel would hand the
    /// exporter a table it never made) a table this attachment does not have mapped.
    /// </summary>
    [Kernel("dma_buf_unmap_attachment", "drivers/dma-buf/dma-buf.c")]
    public static void UnmapAttachment(DmaBufAttachment? attach, SgTable? sgt, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        dmabuf?._dbList.Kprobe("dma_buf_unmap_attachment", new KernelTraceField("dir", (long)direction));
        if (dmabuf is null || sgt is null)
        {
            (dmabuf?.Warn ?? warn)?.On(true, "!attach || !attach->dmabuf || !sg_table");
            return;
        }
        bool always = dmabuf._dbList.ResvLockedConvention; // 6.12: dma_resv_assert_held for every attachment
        if (always || attach!.IsDynamic)
        {
            dmabuf.ResvAssertHeld();
        }
        if (ReferenceEquals(attach!.Sgt, sgt))
        {
            return;
        }
        if (dmabuf.Warn.On(!attach.OutstandingMaps.Remove(sgt), "unmap of a table the attachment never mapped"))
        {
            return;
        }
        if (dmabuf.IsDynamic && !always)
        {
            dmabuf.ResvAssertHeld();
        }
        dmabuf.UnmapDmaBufRaw(attach, sgt, direction);
        if (dmabuf.IsDynamic && !CONFIG_DMABUF_MOVE_NOTIFY)
        {
            Unpin(attach);
        }
    }

    /// <summary><c>dma_buf_unmap_attachment_unlocked</c>: <see cref="UnmapAttachment"/> under the reservation lock.</summary>
    [Kernel("dma_buf_unmap_attachment_unlocked", "drivers/dma-buf/dma-buf.c")]
    public static void UnmapAttachmentUnlocked(DmaBufAttachment? attach, SgTable? sgt, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        if (dmabuf is null || sgt is null)
        {
            (dmabuf?.Warn ?? warn)?.On(true, "!attach || !attach->dmabuf || !sg_table");
            return;
        }
        dmabuf.ResvLock();
        UnmapAttachment(attach, sgt, direction, warn);
        dmabuf.ResvUnlock();
    }

    /// <summary><c>dma_buf_move_notify</c>: every dynamic importer's <c>move_notify</c>, in list order.</summary>
    [Kernel("dma_buf_move_notify", "drivers/dma-buf/dma-buf.c")]
    public void MoveNotify()
    {
        ResvAssertHeld();
        foreach (var attach in _attachments.ToArray())
        {
            attach.ImporterOps?.MoveNotify!(attach);
        }
    }
}
