using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Drm;
using Sim.Machine;
using Sim.RdmaUmem;
using static Sim.Teaching.MachineFigures;

namespace Sim.Teaching;

/// <summary>The tour's steps 5 to 7, the importer side: the importer test, the umem window, a fence.</summary>
public sealed partial class Tour
{
    // ---- 5. the importer test ----------------------------------------------------------------------------------

    private TourStep Importer()
    {
        var step = new TourStep(5, "The importer: dma_buf_attach and dma_buf_map_attachment");
        if (_proc is null || _dmabufFd < 0)
        {
            return Blocked(step, "no dma-buf (step 4)");
        }
        step.Via("dma_buf_get", "dma_buf_attach", "dma_buf_dynamic_attach", "dma_buf_map_attachment", "drm_gem_map_dma_buf",
            "dma_map_sgtable");
        var (buf, err) = DmaBuf.Get(_dbList, _proc, _dmabufFd);
        if (buf is null)
        {
            return step.Fail("dma_buf_get", err);
        }
        _importerRef = buf;
        _importerDev = ImporterDevice();
        step.Add("device", $"\"{_importerDev.Name}\": {(_importerDev.Ops == DmaOps.Iommu ? $"behind the IOMMU (group {_importerDev.IommuGroup})" : "dma-direct")}, dma_mask {Hex(_importerDev.DmaMask ?? 0)}, max_segment_size {Hex(DmaMapping.GetMaxSegSize(_importerDev))}");
        var (attach, aerr) = Traced(step, () => buf.Attach(_importerDev));
        if (attach is null)
        {
            return step.Fail("dma_buf_attach", aerr);
        }
        var (sgt, merr) = Traced(step, () => DmaBuf.MapAttachmentUnlocked(attach, DmaDataDirection.DMA_BIDIRECTIONAL));
        if (sgt is null)
        {
            Traced(step, () => { buf.Detach(attach); return 0; });
            return step.Fail("dma_buf_map_attachment", merr);
        }
        ref var first = ref sgt.At(sgt.Sgl);
        step.Add("sg_table", $"orig_nents {sgt.OrigNents}, nents {sgt.Nents}");
        step.Add("pr_info", string.Create(CultureInfo.InvariantCulture, $"reg_addr = 0x{(uint)first.DmaAddress:x8}, reg_size = 0x{first.DmaLength:x8}"));
        foreach (var e in Entries(sgt).Take(8))
        {
            step.Add($"entry {e.Index}", $"page pfn {Hex(e.Pfn)} offset {e.Offset} length {Hex(e.Length)} -> dma_address {Hex(e.DmaAddress)} dma_length {Hex(e.DmaLength)}");
        }
        if (sgt.Nents > 8)
        {
            step.Add("...", $"{sgt.Nents - 8} more entries");
        }
        step.Figures.Add(SgTable(sgt, $"The importer's sg_table: {sgt.Nents} mapped entr{(sgt.Nents == 1 ? "y" : "ies")}, boxes proportional to sg_dma_len"));
        step.Figures.Add(RefGraph("References while the importer is attached"));
        step.Via("dma_buf_unmap_attachment", "dma_buf_detach");
        Traced(step, () =>
        {
            DmaBuf.UnmapAttachmentUnlocked(attach, sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
            buf.Detach(attach);
            return 0;
        });
        step.Note("The notes' importer_test2 kzallocs its struct device: in Linux 6.1 such a device has no dma_mask and dma_map_sgtable would WARN and map nothing, so the tour's importer is a device with the masks a platform (ARM) or PCI (x86) device gets.");
        step.Note("importer_test2 then unmaps and detaches; the module keeps its dma_buf_get reference until the teardown.");
        return step;
    }

    // The importer's struct device: on the ARM board a platform device with 32-bit masks (the notes kzalloc one,
    // which in 6.1 has no dma_mask and could not map); elsewhere a PCI device as the machine's probing configures it.
    private Device ImporterDevice()
    {
        if (_options.Is32Bit)
        {
            return new Device("importer")
            {
                DmaMask = DmaAttrs.DMA_BIT_MASK(32),
                CoherentDmaMask = DmaAttrs.DMA_BIT_MASK(32),
                Ops = DmaOps.Direct,
            };
        }
        return _machine.GetRequiredService<DmaMapping>().CreateDevice("importer");
    }

    // ---- 6. the umem ---------------------------------------------------------------------------------------------

    /// <summary>How long the exporter's fence waits before it gives up (its <c>dma_fence_ops.wait</c>), in seconds.</summary>
    public const int FenceWaitSeconds = 10;

    private TourStep Umem()
    {
        var step = new TourStep(6, "An RDMA memory region on a window of the buffer");
        if (_proc is null || _dmabufFd < 0 || _importerDev is null)
        {
            return Blocked(step, "no dma-buf (step 4) or no importer device (step 5)");
        }
        step.Via("ib_umem_dmabuf_get", "dma_buf_get", "dma_buf_dynamic_attach", "dma_resv_lock", "ib_umem_dmabuf_map_pages",
            "dma_buf_map_attachment", "for_each_sgtable_dma_sg", "dma_resv_wait_timeout");
        var ibdev = new IbDevice(_importerDev, "tour_ib0");
        // The driver's importer ops (as mlx5's): peer-to-peer allowed, move_notify unmaps the pages.
        var ops = new DmaBufAttachOps { AllowPeer2Peer = true, MoveNotify = a => (a.ImporterPriv as IbUmemDmabuf)?.UnmapPages() };
        step.Add("ib_umem_dmabuf_get", $"(ibdev {ibdev.Name} whose dma_device is \"{_importerDev.Name}\", offset {Hex(UmemOffset)}, size {Hex(UmemLength)}, fd {_dmabufFd}, IB_ACCESS_LOCAL_WRITE)");
        var (umem, err) = Traced(step, () => IbUmemDmabuf.Get(_dbList, _proc, ibdev, UmemOffset, UmemLength, _dmabufFd, (int)IbAccessFlags.IB_ACCESS_LOCAL_WRITE, ops));
        if (umem is null)
        {
            return step.Fail("ib_umem_dmabuf_get", err);
        }
        _umem = umem;
        step.Add("umem", $"address {Hex(umem.Umem.Address)}, length {Hex(umem.Umem.Length)}, {umem.Umem.NumPages} pages; the attachment is dynamic{(umem.Attach.Sgt is null ? "" : " and the exporter mapped it at attach time (cached table)")}");
        var resv = umem.Attach.DmaBuf!.Resv;
        resv.Lock(null);
        var before = umem.Attach.Sgt is { } cached ? Entries(cached) : null;
        int ret = Traced(step, umem.MapPages);
        before ??= umem.Sgt is { } mapped ? UntrimmedEntries(mapped, umem.Trim) : [];
        resv.Unlock();
        if (ret != 0)
        {
            return step.Fail("ib_umem_dmabuf_map_pages", ret);
        }
        var t = umem.Trim;
        step.Add("start, end", $"ALIGN_DOWN({Hex(UmemOffset)}, PAGE_SIZE) = {Hex(t.WindowStart)}, ALIGN({Hex(UmemOffset)} + {Hex(UmemLength)}, PAGE_SIZE) = {Hex(t.WindowEnd)}");
        step.Add("first_sg", t.HasFirst ? $"entry {t.FirstSgIndex}, first_sg_offset {Hex(t.FirstSgOffset)} (dma_address += offset, dma_len -= offset)" : "NULL");
        step.Add("last_sg", t.HasLast ? $"entry {t.LastSgIndex}, last_sg_trim {Hex(t.LastSgTrim)} (dma_len -= trim)" : "NULL");
        step.Add("nmap", $"{t.Nmap} (umem.sgt_append.sgt.nents; its sgl = first_sg)");
        var trimmed = Entries(umem.Sgt!);
        if (t.HasFirst)
        {
            var e = trimmed[t.FirstSgIndex];
            step.Add("trimmed first_sg", $"dma_address {Hex(e.DmaAddress)}, dma_len {Hex(e.DmaLength)}");
        }
        if (t.HasLast && t.LastSgIndex != t.FirstSgIndex)
        {
            var e = trimmed[t.LastSgIndex];
            step.Add("trimmed last_sg", $"dma_address {Hex(e.DmaAddress)}, dma_len {Hex(e.DmaLength)}");
        }
        var window = new UmemWindowView(UmemOffset, UmemLength, t.WindowStart, t.WindowEnd, t.FirstSgIndex, t.FirstSgOffset, t.LastSgIndex, t.LastSgTrim, t.Nmap);
        step.Figures.Add(new SgTableFigure("The umem window over the mapped table: the parts outside the window are cut off by map_pages", before, window));
        step.Via("ib_umem_dmabuf_unmap_pages");
        var table = umem.Sgt!;
        resv.Lock(null);
        Traced(step, () => { umem.UnmapPages(); return 0; });
        resv.Unlock();
        bool same = Entries(table).SequenceEqual(before);
        step.Add("unmap_pages", same
            ? "first_sg gets first_sg_offset back, last_sg gets last_sg_trim back: the table equals the exporter's again, byte for byte"
            : "the table differs from the exporter's after the restore");
        if (!same)
        {
            step.Fail("ib_umem_dmabuf_unmap_pages (restore)", -(long)Errno.EINVAL);
        }
        step.Figures.Add(RefGraph("References with the umem attached (dynamic attachment of the IB device)"));
        return step;
    }

    // The table as it was before the trim, when the attachment did not cache it: the trim undone on a copy.
    private static List<SgEntryView> UntrimmedEntries(SgTable sgt, TrimResult t)
    {
        var list = Entries(sgt);
        if (t.HasFirst)
        {
            var e = list[t.FirstSgIndex];
            list[t.FirstSgIndex] = e with { DmaAddress = e.DmaAddress - t.FirstSgOffset, DmaLength = e.DmaLength + (uint)t.FirstSgOffset };
        }
        if (t.HasLast)
        {
            var e = list[t.LastSgIndex];
            list[t.LastSgIndex] = e with { DmaLength = e.DmaLength + (uint)t.LastSgTrim };
        }
        return list;
    }

    // ---- 7. a fence ------------------------------------------------------------------------------------------------

    private TourStep Fence()
    {
        var step = new TourStep(7, "A fence: map_pages waits for the exporter");
        if (_umem is null)
        {
            return Blocked(step, "no umem (step 6)");
        }
        var core = _machine.GetRequiredService<DmaFenceCore>();
        var clock = _machine.GetRequiredService<Sim.Core.Time.Ktime>();
        long giveUp = FenceWaitSeconds * clock.Hz;
        // The exporter's fence (a GPU job, say) whose dma_fence_ops.wait gives up after FenceWaitSeconds.
        var ops = new DmaFenceOps
        {
            GetDriverName = _ => "tour",
            GetTimelineName = _ => "exporter",
            Wait = (f, intr, timeout) => f.DefaultWait(intr, Math.Min(timeout, giveUp)),
        };
        step.Via("dma_fence_init", "dma_resv_lock", "dma_resv_reserve_fences", "dma_resv_add_fence");
        _fence = DmaFence.Create(core, ops, core.ContextAlloc(1), 1);
        var resv = _umem.Attach.DmaBuf!.Resv;
        resv.Lock(null);
        int rf = resv.ReserveFences(1);
        if (rf != 0)
        {
            resv.Unlock();
            return step.Fail("dma_resv_reserve_fences", rf);
        }
        resv.AddFence(_fence, DmaResvUsage.KERNEL);
        resv.Unlock();
        step.Figures.Add(RefGraph("References with the fence in the dma-buf's reservation object"));
        step.Add("fence", $"context {_fence.Context}, seqno {_fence.Seqno}, unsignalled, in the dma-buf's reservation object with DMA_RESV_USAGE_KERNEL; its wait op gives up after {FenceWaitSeconds} s ({giveUp} jiffies at HZ={clock.Hz})");
        step.Via("ib_umem_dmabuf_map_pages", "dma_resv_wait_timeout", "dma_fence_wait_timeout");
        long t0 = clock.Jiffies;
        resv.Lock(null);
        int ret = Traced(step, _umem.MapPages);
        resv.Unlock();
        long waited = clock.Jiffies - t0;
        step.Add("map_pages", $"{ErrnoNames.Format(ret)} after {waited} jiffies ({waited * 1000 / clock.Hz} ms) of simulated time (schedule_timeout's timer fires when its timer-wheel bucket expires)");
        if (ret != -(int)Errno.ETIMEDOUT)
        {
            step.Fail("ib_umem_dmabuf_map_pages (expected -ETIMEDOUT)", ret);
        }
        step.Note("map_pages mapped and trimmed the table, then waited for the kernel fences with MAX_SCHEDULE_TIMEOUT; the fence's own wait gave up, dma_resv_wait_timeout returned 0, and map_pages turned that into -ETIMEDOUT. The table stays mapped (umem_dmabuf->sgt is set).");
        step.Via("dma_fence_signal");
        Traced(step, () => _fence.Signal());
        long t1 = clock.Jiffies;
        resv.Lock(null);
        ret = Traced(step, _umem.MapPages);
        resv.Unlock();
        step.Add("after dma_fence_signal", $"map_pages = {(ret == 0 ? "0" : ErrnoNames.Format(ret))} after {clock.Jiffies - t1} jiffies (already mapped: straight to wait_fence, nothing left to wait for)");
        if (ret != 0)
        {
            step.Fail("ib_umem_dmabuf_map_pages after the signal", ret);
        }
        return step;
    }
}
