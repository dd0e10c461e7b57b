// Replay of the dma-buf events: the dma-buf ioctls and debugfs bufinfo of linux-6.1-vgem (and kvmfr), and the
// dma-buf kernel calls of the sgcap module in linux-6.1-sg dmabuf_vgem_* (dma_buf_get, attach, map, unmap, detach).
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.Core.Time;
using Sim.DmaBufs.Uapi;

namespace Sim.DmaBufs.Replay;

/// <summary>
/// The dma-buf replay handlers. User-space events act on the traced process (<see cref="TracedProcess"/>, filled by
/// the process-level replay); the sg events act on the buffer behind the traced process's fd 6, created by the
/// <c>unlogged_before</c> entries that other projects register (<see cref="UnloggedActions"/>).
/// </summary>
public sealed class DmaBufReplayOps : IReplayOpProvider
{
    /// <summary>The op name of the bufinfo snapshots.</summary>
    public const string BufinfoOp = "debugfs:dma_buf/bufinfo";

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.Add("DMA_BUF_IOCTL_SYNC", Sync)
            .Add(["DMA_BUF_SET_NAME", "DMA_BUF_SET_NAME_A", "DMA_BUF_SET_NAME_B"], SetName)
            .Add("DMA_BUF_IOCTL_EXPORT_SYNC_FILE", ExportSyncFile)
            .Add("DMA_BUF_IOCTL_IMPORT_SYNC_FILE", ImportSyncFile)
            .Add(BufinfoOp, Bufinfo)
            .Add("dma_buf_bufinfo", BufinfoObjects)
            .Add("dma_buf_get", DmaBufGet)
            .Add("dma_buf_attach", DmaBufAttach)
            .Add("dma_buf_map_attachment_unlocked", DmaBufMap)
            .Add("dma_buf_unmap_attachment_unlocked", DmaBufUnmap)
            .Add("dma_buf_detach", DmaBufDetach)
            .OnFileStart(RegisterUnlogged);
    }

    private static Process? TracedOrSkip(ReplaySession ctx, ReplayCheck check)
    {
        var p = ctx.TracedProcessOrNull;
        if (p is null)
        {
            check.Skip("no traced process (the process-level replay did not set TracedProcess)");
        }
        return p;
    }

    private static int FdOf(TraceEvent ev) => (int)(ev.Fd ?? ev.ArgI64("fd"));

    // ---- user space: dma-buf ioctls -------------------------------------------------------------------------

    private static long Ioctl(ReplaySession ctx, Process p, TraceEvent ev, uint fallbackRequest, byte[] buffer, ReplayCheck check)
    {
        var clock = ctx.Clock;
        long t0 = clock.NowNs;
        long ret = ctx.Syscalls.Ioctl(p, FdOf(ev), (uint)(ev.Request ?? fallbackRequest), new UserArg(0x1000, buffer));
        CheckElapsed(check, ev, clock.NowNs - t0);
        return ret;
    }

    /// <summary>
    /// <c>elapsed_s</c> thresholds (data/traces/README.md "Timing"): captured 0 -&gt; below 1 s; captured at least 10 s
    /// -&gt; in [10, 11).
    /// </summary>
    public static void CheckElapsed(ReplayCheck check, TraceEvent ev, long elapsedNs)
    {
        if (!ev.Result.TryGetProperty("elapsed_s", out var e) || e.ValueKind != JsonValueKind.Number)
        {
            return;
        }
        double captured = e.GetDouble();
        double model = elapsedNs / 1e9;
        bool ok = captured >= 10 ? model >= 10.0 && model < 11.0 : captured < 1 ? model < 1.0 : Math.Abs(model - captured) < 1.0;
        if (!ok)
        {
            check.Fail("result.elapsed_s", captured.ToString(CultureInfo.InvariantCulture), model.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void Sync(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = TracedOrSkip(ctx, check);
        if (p is null)
        {
            return;
        }
        var buf = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(buf, ev.ArgU64("flags"));
        check.Ret(Ioctl(ctx, p, ev, DmaBufUapi.DMA_BUF_IOCTL_SYNC, buf, check));
    }

    private static void SetName(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = TracedOrSkip(ctx, check);
        if (p is null)
        {
            return;
        }
        string name = ev.ArgString("name") ?? "";
        var bytes = Encoding.Latin1.GetBytes(name);
        var buf = new byte[bytes.Length + 1];
        bytes.CopyTo(buf, 0);
        uint fallback = DmaBufUapi.DMA_BUF_SET_NAME(ctx.Options.Is32Bit);
        check.Ret(Ioctl(ctx, p, ev, fallback, buf, check));
    }

    private static void ExportSyncFile(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        SyncFileIoctl(ctx, ev, check, DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, returnsFd: true);

    private static void ImportSyncFile(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        SyncFileIoctl(ctx, ev, check, DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE, returnsFd: false);

    // struct dma_buf_export_sync_file / dma_buf_import_sync_file: { u32 flags; s32 fd; } (export copies fd back).
    private static void SyncFileIoctl(ReplaySession ctx, TraceEvent ev, ReplayCheck check, uint cmd, bool returnsFd)
    {
        var p = TracedOrSkip(ctx, check);
        if (p is null)
        {
            return;
        }
        var buf = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(buf, (uint)ev.ArgU64("flags"));
        BinaryPrimitives.WriteInt32LittleEndian(buf.AsSpan(4), (int)ev.ArgI64("fd", -1));
        check.Ret(Ioctl(ctx, p, ev, cmd, buf, check));
        if (returnsFd)
        {
            check.ResultI64("fd", BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(4)));
        }
    }

    // ---- debugfs bufinfo ------------------------------------------------------------------------------------------

    private static void Bufinfo(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var (ret, text) = ctx.Syscalls.ReadSeqFile(ctx.Process, DmaBufList.BufinfoPath);
        check.Ret(ret);
        if (text is not null && ev.Result.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
        {
            CompareBufinfo(check, t.GetString()!, text, ctx.Traced);
        }
    }

    // cma-arm: the bufinfo rows parsed into objects {size, flags, mode, count, exp_name, ino, name}, in list order.
    private static void BufinfoObjects(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var (ret, text) = ctx.Syscalls.ReadSeqFile(ctx.Process, DmaBufList.BufinfoPath);
        check.Ret(ret);
        if (text is null || !ev.Result.TryGetProperty("objects", out var objs) || objs.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        // An object row: "%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s" (size, flags, mode, count, exp_name, ino, name).
        var rows = text.Split('\n').Select(l => l.Split('\t')).Where(c => c.Length == 7 &&
            ulong.TryParse(c[0], NumberStyles.None, CultureInfo.InvariantCulture, out _) &&
            ulong.TryParse(c[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out _) &&
            ulong.TryParse(c[5], NumberStyles.None, CultureInfo.InvariantCulture, out _)).ToList();
        if (!check.Equal("result.objects.length", (ulong)objs.GetArrayLength(), (ulong)rows.Count))
        {
            return;
        }
        static ulong Dec(string v) => ulong.Parse(v, NumberStyles.None, CultureInfo.InvariantCulture);
        static ulong Hex(string v) => ulong.Parse(v, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        var inodes = ctx.Traced;
        int k = 0;
        foreach (var o in objs.EnumerateArray())
        {
            var r = rows[k];
            string f = $"result.objects[{k}].";
            check.Equal(f + "size", o.GetProperty("size").GetUInt64(), Dec(r[0]));
            check.Equal(f + "flags", o.GetProperty("flags").GetUInt64(), Hex(r[1]));
            check.Equal(f + "mode", o.GetProperty("mode").GetUInt64(), Hex(r[2]));
            check.Equal(f + "count", o.GetProperty("count").GetUInt64(), Dec(r[3]));
            check.Equal(f + "exp_name", o.GetProperty("exp_name").GetString(), r[4]);
            check.Equal(f + "name", o.GetProperty("name").GetString(), r[6]);
            ulong ino = o.GetProperty("ino").GetUInt64();
            if (!inodes.InoMatches(ino, Dec(r[5])))
            {
                check.Fail(f + "ino", ino.ToString(CultureInfo.InvariantCulture), r[5] + " (equality pattern)");
            }
            k++;
        }
    }

    /// <summary>
    /// Compares bufinfo texts: every line exactly, except the <c>ino</c> column of object lines, which follows the
    /// file's inode equality pattern.
    /// </summary>
    public static bool CompareBufinfo(ReplayCheck check, string expected, string actual, TracedProcess inodes)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        bool ok = e.Length == a.Length;
        for (int k = 0; ok && k < e.Length; k++)
        {
            if (e[k] == a[k])
            {
                var cols = e[k].Split('\t');
                if (IsObjectLine(cols))
                {
                    ok = inodes.InoMatches(ulong.Parse(cols[5], CultureInfo.InvariantCulture), ulong.Parse(cols[5], CultureInfo.InvariantCulture));
                }
                continue;
            }
            var ec = e[k].Split('\t');
            var ac = a[k].Split('\t');
            if (!IsObjectLine(ec) || !IsObjectLine(ac))
            {
                ok = false;
                break;
            }
            for (int c = 0; c < 7; c++)
            {
                if (c != 5 && ec[c] != ac[c])
                {
                    ok = false;
                }
            }
            ok = ok && inodes.InoMatches(ulong.Parse(ec[5], CultureInfo.InvariantCulture), ulong.Parse(ac[5], CultureInfo.InvariantCulture));
        }
        if (!ok)
        {
            check.Fail("result.text", expected, actual);
        }
        return ok;
    }

    private static bool IsObjectLine(string[] cols) =>
        cols.Length == 7 && cols[0].Length == 8 && ulong.TryParse(cols[5], NumberStyles.None, CultureInfo.InvariantCulture, out _);

    // ---- linux-6.1-sg: the sgcap module's dma-buf calls ---------------------------------------------------------

    private static void RegisterUnlogged(ReplaySession ctx)
    {
        var u = ctx.Unlogged;
        u.Register("dma_buf_attach", (c, entry) =>
        {
            var st = c.State<DmaBufReplayState>();
            if (st.Current is not null && Device(c, ReplayDevices.Edu) is { } dev)
            {
                st.Fresh = st.Current.Attach(dev).Attach;
                st.FreshMaps.Clear();
            }
        });
        u.Register("dma_buf_unmap_attachment_unlocked", (c, entry) =>
        {
            var st = c.State<DmaBufReplayState>();
            var dir = Enum.Parse<DmaDataDirection>(entry.GetProperty("dir").GetString()!);
            if (st.Fresh is not null && st.FreshMaps.Remove(dir, out var sgt))
            {
                DmaBuf.UnmapAttachmentUnlocked(st.Fresh, sgt, dir, c.Warnings);
            }
        });
        u.Register("dma_buf_detach", (c, entry) =>
        {
            var st = c.State<DmaBufReplayState>();
            if (st.Current is not null && st.Fresh is not null)
            {
                st.Current.Detach(st.Fresh);
            }
            st.Fresh = null;
            st.FreshMaps.Clear();
        });
        u.Register("dma_buf_put", (c, entry) =>
        {
            var st = c.State<DmaBufReplayState>();
            st.Current?.Put();
            st.Current = null;
            st.Attach = null;
            st.FirstMap = null;
            st.SecondMap = null;
        });
        u.TryRegister("close", (c, entry) =>
        {
            if (c.TracedProcessOrNull is { } p)
            {
                c.Syscalls.Close(p, entry.GetProperty("fd").GetInt32());
            }
        });
    }

    /// <summary>The sg traces' DMA device: the edu device of the sg core replay (made on first use, as it does).</summary>
    private static Device? Device(ReplaySession ctx, string name)
    {
        return ctx.Devices.Find(name) ?? (name == ReplayDevices.Edu ? ctx.Devices.GetOrCreate(name) : null);
    }

    private static void DmaBufGet(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var p = TracedOrSkip(ctx, check);
        if (p is null)
        {
            return;
        }
        var st = ctx.State<DmaBufReplayState>();
        var (buf, err) = DmaBuf.Get(ctx.DmaBufs, p, (int)ev.ArgI64("fd"));
        check.Ret(err);
        if (buf is not null)
        {
            st.Current = buf;
            st.Tag = ev.ArgI64("tag", -1);
            st.Attach = null;
            st.FirstMap = null;
            st.SecondMap = null;
            check.ResultU64("size", buf.Size);
            check.ResultString("exp_name", buf.ExpName);
            check.ResultBool("dynamic_exporter", buf.IsDynamic);
            check.ResultBool("cache_sgt_mapping", buf.Ops.CacheSgtMapping);
        }
        ctx.Unlogged.RunAfter(ev, check);
    }

    private static void DmaBufAttach(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var st = ctx.State<DmaBufReplayState>();
        if (st.Current is null)
        {
            check.Skip("no dma-buf from a preceding dma_buf_get");
            return;
        }
        Device? dev = null;
        string? name = ev.ArgString("dev");
        if (name is not null)
        {
            dev = Device(ctx, name);
            if (dev is null)
            {
                check.Skip($"no device \"{name}\" registered in ReplayDevices");
                return;
            }
        }
        var (attach, err) = st.Current.Attach(dev);
        check.Ret(err);
        if (attach is not null)
        {
            st.Attach = attach;
            check.ResultBool("attach_sgt_cached", attach.Sgt is not null);
        }
        ctx.Unlogged.RunAfter(ev, check);
    }

    private static void DmaBufMap(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var st = ctx.State<DmaBufReplayState>();
        var dir = Enum.Parse<DmaDataDirection>(ev.ArgString("dir") ?? "DMA_BIDIRECTIONAL");
        bool nullAttach = ev.Args.TryGetProperty("attach", out var a) && a.ValueKind == JsonValueKind.Null;
        bool fresh = ev.ArgString("attachment") == "fresh";
        var attach = nullAttach ? null : fresh ? st.Fresh : st.Attach;
        if (!nullAttach && attach is null)
        {
            check.Skip("no attachment from a preceding dma_buf_attach");
            return;
        }
        var (sgt, err) = DmaBuf.MapAttachmentUnlocked(attach, dir, ctx.Warnings);
        check.Ret(err);
        if (sgt is not null)
        {
            check.ResultBool("attach_sgt_cached", ReferenceEquals(attach!.Sgt, sgt));
            check.ResultU64("nents", (ulong)sgt.Nents);
            if (fresh)
            {
                st.FreshMaps[dir] = sgt;
            }
            else if (ev.Args.TryGetProperty("second_map_same_attachment", out var s) && s.ValueKind == JsonValueKind.True)
            {
                st.SecondMap = sgt;
                check.ResultBool("same_sgt_as_first", ReferenceEquals(sgt, st.FirstMap));
            }
            else
            {
                st.FirstMap = sgt;
                ctx.State<SgReplayState>().FirstMapByTag[st.Tag] = sgt;
                CompareTable(ctx, ev, check, sgt, st.Tag);
            }
        }
        ctx.Unlogged.RunAfter(ev, check);
    }

    private static void DmaBufUnmap(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var st = ctx.State<DmaBufReplayState>();
        var dir = Enum.Parse<DmaDataDirection>(ev.ArgString("dir") ?? "DMA_BIDIRECTIONAL");
        var sgt = ev.ArgString("which") == "second" ? st.SecondMap : st.FirstMap;
        if (st.Attach is null || sgt is null)
        {
            check.Skip("no mapped table from a preceding dma_buf_map_attachment_unlocked");
            return;
        }
        DmaBuf.UnmapAttachmentUnlocked(st.Attach, sgt, dir, ctx.Warnings);
        check.Ret(0);
        check.ResultBool("attach_sgt_still_cached", ReferenceEquals(st.Attach.Sgt, sgt));
        ctx.Unlogged.RunAfter(ev, check);
    }

    private static void DmaBufDetach(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (!ctx.Unlogged.RunBefore(ev, check))
        {
            return;
        }
        var st = ctx.State<DmaBufReplayState>();
        if (st.Current is null || st.Attach is null)
        {
            check.Skip("no attachment from a preceding dma_buf_attach");
            return;
        }
        st.Current.Detach(st.Attach);
        st.Attach = null;
        check.Ret(0);
        ctx.Unlogged.RunAfter(ev, check);
    }

    /// <summary>SGCAP_PATTERN(t, o) = ((t * 0x01000193) mod 2^32) XOR o (data/traces/README.md "Data patterns").</summary>
    public static uint SgcapPattern(long tag, ulong offset) => unchecked((uint)tag * 0x01000193u) ^ (uint)offset;

    // The first map of a buffer: the table's shape, its entries (pfns adopted from buffer_pfns: exact; DMA addresses
    // exact under dma-direct, relative to the table's IOVA base under the IOMMU, only lengths under swiotlb), and the
    // pattern check of the first and last word of every page.
    private static void CompareTable(ReplaySession ctx, TraceEvent ev, ReplayCheck check, SgTable sgt, long tag)
    {
        check.ResultU64("orig_nents", (ulong)sgt.OrigNents);
        ulong sumLength = 0, pages = 0, dmaTotal = 0;
        int k = 0;
        foreach (var c in sgt.Sgs())
        {
            ref var sg = ref sgt.At(c);
            sumLength += sg.Length;
            pages += (sg.Offset + (ulong)sg.Length + 4095) / 4096;
            if (k < sgt.Nents)
            {
                dmaTotal += sg.DmaLength;
            }
            k++;
        }
        check.ResultU64("sum_length", sumLength);
        check.ResultU64("pages", pages);
        check.ResultU64("dma_total", dmaTotal);
        var chunks = sgt.ChunkEntryCounts();
        if (ev.Result.TryGetProperty("chunks", out var ch) && ch.ValueKind == JsonValueKind.Array)
        {
            var exp = new List<int>();
            foreach (var x in ch.EnumerateArray())
            {
                exp.Add(x.GetInt32());
            }
            check.Equal("result.chunks", string.Join(",", exp), string.Join(",", chunks));
        }
        check.ResultBool("chained", chunks.Length > 1);
        if (ev.Result.TryGetProperty("entries", out var entries) && entries.ValueKind == JsonValueKind.Array)
        {
            CompareEntries(ctx, check, sgt, entries);
        }
        if (ev.HasResult("pattern_pages_checked"))
        {
            ComparePattern(ctx, check, sgt, tag);
        }
    }

    private static void CompareEntries(ReplaySession ctx, ReplayCheck check, SgTable sgt, JsonElement entries)
    {
        var mode = ctx.Options.DmaPath;
        int n = entries.GetArrayLength();
        check.Equal("result.entries.length", (ulong)n, (ulong)sgt.OrigNents);
        ulong expBase = 0, modelBase = 0;
        int k = 0;
        foreach (var c in sgt.Sgs())
        {
            if (k >= n)
            {
                break;
            }
            var e = entries[k];
            ref var sg = ref sgt.At(c);
            string f = $"result.entries[{k}].";
            check.Equal(f + "pfn", e.GetProperty("pfn").GetUInt64(), sg.Pfn);
            check.Equal(f + "offset", e.GetProperty("offset").GetUInt64(), sg.Offset);
            check.Equal(f + "length", e.GetProperty("length").GetUInt64(), sg.Length);
            if (k < sgt.Nents && e.TryGetProperty("dma_address", out var da) && TraceNumber.TryGetU64(da, out ulong expDma))
            {
                check.Equal(f + "dma_length", e.GetProperty("dma_length").GetUInt64(), sg.DmaLength);
                switch (mode)
                {
                    case DmaPath.Direct:
                        check.Equal(f + "dma_address", expDma, sg.DmaAddress);
                        break;
                    case DmaPath.Iommu:
                        if (k == 0)
                        {
                            expBase = expDma - (e.GetProperty("offset").GetUInt64() % 4096);
                            modelBase = sg.DmaAddress - (sg.Offset % 4096);
                        }
                        check.Equal(f + "dma_address - base", expDma - expBase, sg.DmaAddress - modelBase);
                        break;
                    default:
                        if (sg.DmaLength >= 4096)
                        {
                            check.Equal(f + "dma_address % 4096", 0UL, sg.DmaAddress % 4096);
                        }
                        break;
                }
            }
            k++;
        }
    }

    private static void ComparePattern(ReplaySession ctx, ReplayCheck check, SgTable sgt, long tag)
    {
        var mem = ctx.PageData;
        Span<byte> w = stackalloc byte[4];
        ulong checkedPages = 0, bad = 0, offset = 0;
        foreach (var c in sgt.Sgs())
        {
            ref var sg = ref sgt.At(c);
            ulong np = (sg.Offset + (ulong)sg.Length + 4095) / 4096;
            for (ulong pg = 0; pg < np; pg++)
            {
                mem.Read(sg.Pfn + pg, 0, w);
                uint first = BinaryPrimitives.ReadUInt32LittleEndian(w);
                mem.Read(sg.Pfn + pg, 4092, w);
                uint last = BinaryPrimitives.ReadUInt32LittleEndian(w);
                ulong o = offset + pg * 4096;
                if (first != SgcapPattern(tag, o) || last != SgcapPattern(tag, o + 4092))
                {
                    bad++;
                }
                checkedPages++;
            }
            offset += np * 4096;
        }
        check.ResultU64("pattern_pages_checked", checkedPages);
        check.ResultU64("pattern_pages_bad", bad);
        check.ResultBool("pattern_ok", checkedPages > 0 && bad == 0);
    }
}
