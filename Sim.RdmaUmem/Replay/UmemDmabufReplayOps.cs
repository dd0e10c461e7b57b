// Replay of the umem events of linux-6.1-sg dmabuf_vgem_* (drivers/infiniband/core/umem_dmabuf.c, Linux 6.1):
// ib_umem_dmabuf_get, ib_umem_dmabuf_map_pages (impl ib_uverbs, reached through UmemTrimReplayOps), the module's
// reservation lock + dma_buf_pin before it, ib_umem_dmabuf_unmap_pages, and the unlogged dma_buf_unpin,
// dma_resv_unlock and ib_umem_release entries.
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Replay;
using Sim.DmaBufs;
using Sim.DmaBufs.Replay;

namespace Sim.RdmaUmem.Replay;

/// <summary>Per-file state of the umem events: the sgcap module's ib_device and its current umem.</summary>
public sealed class UmemDmabufReplayState
{
    /// <summary>The zeroed <c>struct ib_device</c> whose <c>dma_device</c> is the edu device (made on first use).</summary>
    public IbDevice? Device { get; set; }

    /// <summary>The umem of the last successful <c>ib_umem_dmabuf_get</c> (null after its <c>ib_umem_release</c>).</summary>
    public IbUmemDmabuf? Umem { get; set; }

    /// <summary>The umem's table as the last map_pages found it (every slot), for <c>restored_exact</c>.</summary>
    public Scatterlist[][]? Before { get; set; }
}

/// <summary>
/// Replay handlers of <c>ib_umem_dmabuf_get</c> and <c>ib_umem_dmabuf_unmap_pages</c>, the <c>ib_uverbs</c> flavour
/// of <c>ib_umem_dmabuf_map_pages</c> (called by <see cref="UmemTrimReplayOps.MapPages"/>, which owns the op), and
/// the unlogged actions <c>dma_buf_unpin</c>, <c>dma_resv_unlock</c>, <c>ib_umem_release</c>.
/// </summary>
public sealed class UmemDmabufReplayOps : IReplayOpProvider
{
    /// <summary>The fd of the current buffer's dma-buf in the sg traces (README "Open fds and machine").</summary>
    public const int DmaBufFd = 6;

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.Add("ib_umem_dmabuf_get", UmemGet)
            .Add("ib_umem_dmabuf_unmap_pages", UnmapPages)
            .OnFileStart(RegisterUnlogged);
    }

    private static void RegisterUnlogged(ReplaySession ctx)
    {
        var u = ctx.Unlogged;
        u.Register("dma_buf_unpin", (c, entry) =>
        {
            if (c.State<UmemDmabufReplayState>().Umem is { } umem)
            {
                DmaBuf.Unpin(umem.Attach);
            }
        });
        u.Register("dma_resv_unlock", (c, entry) =>
        {
            if (c.State<UmemDmabufReplayState>().Umem?.Attach.DmaBuf is { } dmabuf)
            {
                dmabuf.Resv.Unlock();
            }
        });
        u.Register("ib_umem_release", (c, entry) =>
        {
            var st = c.State<UmemDmabufReplayState>();
            IbUmem.Release(st.Umem?.Umem);
            st.Umem = null;
            st.Before = null;
        });
    }

    private static IbDevice IbDev(ReplaySession ctx)
    {
        var st = ctx.State<UmemDmabufReplayState>();
        if (st.Device is null)
        {
            st.Device = new IbDevice(ctx.Devices.GetOrCreate(ReplayDevices.Edu));
        }
        return st.Device;
    }

    private static int ParseAccess(string? names)
    {
        int access = 0;
        foreach (var name in (names ?? "").Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            access |= (int)Enum.Parse<IbAccessFlags>(name);
        }
        return access;
    }

    // The sgcap module's importer ops: a move_notify that does nothing (the exporter never moves: vgem is not dynamic).
    private static readonly DmaBufAttachOps ModuleOps = new() { MoveNotify = _ => { } };

    private static void UmemGet(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var p = ctx.TracedProcessOrNull;
        if (p is null)
        {
            check.Skip("no traced process (the process-level replay did not set TracedProcess)");
            return;
        }
        var st = ctx.State<UmemDmabufReplayState>();
        var ops = ev.ArgString("ops") == "NULL" ? null : ModuleOps;
        var (umem, err) = IbUmemDmabuf.Get(ctx.DmaBufs, p, IbDev(ctx), ev.ArgU64("offset"), ev.ArgU64("size"),
            (int)ev.ArgI64("fd", DmaBufFd), ParseAccess(ev.ArgString("access")), ops);
        check.Ret(err);
        if (umem is not null)
        {
            if (ev.Ret != 0)
            {
                // The kernel refused it: do not let the model's umem outlive the event.
                IbUmem.Release(umem.Umem);
            }
            else
            {
                st.Umem = umem;
                var attach = umem.Attach;
                check.ResultBool("attach_dynamic", attach.IsDynamic);
                check.ResultBool("attach_sgt_cached", attach.Sgt is not null);
                if (attach.Sgt is { } cached)
                {
                    check.ResultU64("orig_nents", (ulong)cached.OrigNents);
                    check.ResultU64("nents", (ulong)cached.Nents);
                }
            }
        }
        ctx.Unlogged.RunAfter(ev, check);
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_map_pages</c> with <c>impl</c> = <c>ib_uverbs</c>: the module locks the reservation object and
    /// calls <c>dma_buf_pin</c> (<c>dma_buf_pin_ret</c>), then the real map_pages runs on the current umem. Compares
    /// the trim results, the umem's table pointers, <c>before</c> and <c>trimmed</c> (structurally per DMA path, IOVA
    /// base = <c>before[0].dma_address</c>) and <c>reimpl_agrees</c> (the faithful walk on a copy of <c>before</c>).
    /// </summary>
    public static void MapPagesUverbs(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var st = ctx.State<UmemDmabufReplayState>();
        var umem = st.Umem;
        if (umem?.Attach.DmaBuf is not { } dmabuf)
        {
            check.Skip("no umem from a preceding ib_umem_dmabuf_get");
            return;
        }
        ulong address = ev.ArgU64("address");
        ulong length = ev.ArgU64("length");
        check.Equal("args.address", address, umem.Umem.Address);
        check.Equal("args.length", length, umem.Umem.Length);
        check.Equal("args.window_start", ev.ArgU64("window_start"), UmemDmabufTrim.WindowStart(address));
        check.Equal("args.window_end", ev.ArgU64("window_end"), UmemDmabufTrim.WindowEnd(address, length));
        if (ev.HasArg("dmabuf_size"))
        {
            check.Equal("args.dmabuf_size", ev.ArgU64("dmabuf_size"), dmabuf.Size);
        }

        // The module: dma_resv_lock(dmabuf->resv, NULL); dma_buf_pin(attach).
        dmabuf.Resv.Lock(null);
        int pinRet = DmaBuf.Pin(umem.Attach);
        check.ResultI64("dma_buf_pin_ret", pinRet);

        // The table map_pages is about to trim, as it is now (the attachment's cached mapping).
        var cached = umem.Sgt ?? umem.Attach.Sgt;
        DmaEntry[]? beforeView = cached is null ? null : TrimmedViewComparer.DmaView(cached);
        st.Before = cached is null ? null : UmemTrimReplayOps.Snapshot(cached);

        int ret = umem.MapPages();
        check.Ret(ret);
        if (ret == 0 && umem.Sgt is { } sgt)
        {
            var r = umem.Trim;
            if (beforeView is null)
            {
                // A mapping made by this call (no cached table before it): the untrimmed view is the trimmed one
                // with the trim undone.
                beforeView = Untrim(TrimmedViewComparer.DmaView(sgt), r);
                st.Before = null;
            }
            var trimmedView = TrimmedViewComparer.DmaView(sgt);
            check.ResultI64("first_sg", r.FirstSgIndex);
            check.ResultU64("first_sg_offset", umem.FirstSgOffset);
            check.ResultI64("last_sg", r.LastSgIndex);
            check.ResultU64("last_sg_trim", umem.LastSgTrim);
            check.ResultU64("nmap", (ulong)umem.Umem.SgtAppend.Sgt.Nents);
            check.ResultI64("umem_sgl_index", IndexInDmaView(sgt, umem.Umem.SgtAppend.Sgt.Sgl));
            check.ResultU64("sgt_nents", (ulong)sgt.Nents);
            check.ResultBool("same_sgt_as_attach_cache", ReferenceEquals(sgt, umem.Attach.Sgt));
            check.ResultBool("reimpl_agrees", ReimplAgrees(beforeView, trimmedView, r, umem.Umem));

            uint firstCpuOffset = sgt.Sgl.IsNull ? 0 : sgt.At(sgt.Sgl).Offset;
            var path = ctx.Options.DmaPath;
            if (ev.Result.TryGetProperty("before", out var beforeJson))
            {
                var expected = TrimmedViewComparer.Read(beforeJson, ev, "result.before");
                ulong expected0 = expected.Length > 0 ? expected[0].DmaAddress : 0;
                TrimmedViewComparer.Compare(check, path, "result.before", expected, beforeView, expected0, beforeView, firstCpuOffset);
                if (ev.Result.TryGetProperty("trimmed", out var trimmedJson))
                {
                    var expTrimmed = TrimmedViewComparer.Read(trimmedJson, ev, "result.trimmed");
                    TrimmedViewComparer.Compare(check, path, "result.trimmed", expTrimmed, trimmedView, expected0, beforeView, firstCpuOffset);
                }
            }
        }
        ctx.Unlogged.RunAfter(ev, check);
    }

    private static void UnmapPages(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var st = ctx.State<UmemDmabufReplayState>();
        var umem = st.Umem;
        if (umem?.Attach.DmaBuf is null)
        {
            check.Skip("no umem from a preceding ib_umem_dmabuf_get");
            return;
        }
        var sgt = umem.Sgt;
        umem.UnmapPages();
        check.Ret(0);
        if (ev.HasResult("restored_exact"))
        {
            bool restored = sgt is not null && st.Before is not null && UmemTrimReplayOps.SameTables(st.Before, sgt, out _);
            check.ResultBool("restored_exact", restored);
        }
        check.ResultBool("first_sg_null", umem.FirstSg.IsNull);
        check.ResultBool("last_sg_null", umem.LastSg.IsNull);
        check.ResultBool("sgt_null", umem.Sgt is null);
        st.Before = null;
        ctx.Unlogged.RunAfter(ev, check);
    }

    // The index of cursor c in the DMA view of sgt, -1 for NULL (or a cursor outside the view).
    private static long IndexInDmaView(SgTable sgt, SgCursor c)
    {
        if (c.IsNull)
        {
            return -1;
        }
        long k = 0;
        foreach (var x in sgt.DmaSgs())
        {
            if (x == c)
            {
                return k;
            }
            k++;
        }
        return -1;
    }

    private static DmaEntry[] Untrim(DmaEntry[] trimmed, in TrimResult r)
    {
        var v = (DmaEntry[])trimmed.Clone();
        if (r.FirstSgIndex >= 0)
        {
            var e = v[r.FirstSgIndex];
            v[r.FirstSgIndex] = new DmaEntry(unchecked(e.DmaAddress - r.FirstSgOffset), unchecked(e.DmaLength + (uint)r.FirstSgOffset));
        }
        if (r.LastSgIndex >= 0)
        {
            var e = v[r.LastSgIndex];
            v[r.LastSgIndex] = new DmaEntry(e.DmaAddress, unchecked(e.DmaLength + (uint)r.LastSgTrim));
        }
        return v;
    }

    // The sgcap module's re-implementation: the faithful walk on a copy of `before` must give the same results and
    // the same trimmed view.
    private static bool ReimplAgrees(DmaEntry[] before, DmaEntry[] trimmed, in TrimResult r, IbUmem umem)
    {
        if (before.Length == 0)
        {
            return r.Nmap == 0 && r.FirstSgIndex < 0 && r.LastSgIndex < 0;
        }
        var copy = UmemTrimReplayOps.BuildTable(before, new Random(1));
        var w = UmemDmabufTrim.Walk(copy, umem.Address, umem.Length);
        if (w.FirstSgIndex != r.FirstSgIndex || w.FirstSgOffset != r.FirstSgOffset || w.LastSgIndex != r.LastSgIndex ||
            w.LastSgTrim != r.LastSgTrim || w.Nmap != r.Nmap)
        {
            return false;
        }
        var view = TrimmedViewComparer.DmaView(copy);
        return view.AsSpan().SequenceEqual(trimmed);
    }
}
