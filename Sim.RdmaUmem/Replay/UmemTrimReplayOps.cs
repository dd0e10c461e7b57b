// Replay of the umem trimming of ib_umem_dmabuf_map_pages()/ib_umem_dmabuf_unmap_pages()
// (drivers/infiniband/core/umem_dmabuf.c, Linux 6.1): the sg_trim vectors and the sgcap-reimpl trace events.
using System.Runtime.InteropServices;
using System.Text.Json;
using Sim.Core.Lib;
using Sim.Core.Replay;

namespace Sim.RdmaUmem.Replay;

/// <summary>Per-file state of the trim handlers: one <see cref="SgTrimIndex"/> per mapped table of the model.</summary>
public sealed class UmemTrimReplayState
{
    /// <summary>The index of each table (by reference), built on first use and rebuilt when the table changes.</summary>
    public Dictionary<SgTable, SgTrimIndex> Indexes { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>The index of <paramref name="sgt"/>, created on first use.</summary>
    public SgTrimIndex For(SgTable sgt)
    {
        if (!Indexes.TryGetValue(sgt, out var index))
        {
            index = new SgTrimIndex();
            Indexes.Add(sgt, index);
        }
        return index;
    }
}

/// <summary>
/// Replay handlers of <c>sg_trim</c> (one vector line: both implementations against <c>expect</c>) and of
/// <c>ib_umem_dmabuf_map_pages</c> events with <c>args.impl</c> = <c>sgcap-reimpl</c> (the trim applied in place to
/// the model's table of the preceding <c>dma_map_sgtable</c> of the same <c>case</c>, or of the first
/// <c>dma_buf_map_attachment_unlocked</c> of the buffer, then undone). Both implementations run on every event; any
/// difference between them fails the event.
/// </summary>
public sealed class UmemTrimReplayOps : IReplayOpProvider
{
    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.Add("sg_trim", SgTrimVector);
        table.Add("ib_umem_dmabuf_map_pages", MapPages);
    }

    /// <summary>One line of <c>sg_trim*.jsonl</c>: build the chained table, map, compare, unmap, compare; Walk then Indexed.</summary>
    public static void SgTrimVector(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        ulong pageSize = ev.ArgU64("page_size", Align.PAGE_SIZE);
        if (pageSize != Align.PAGE_SIZE)
        {
            check.Skip($"page_size {pageSize} (the model's PAGE_SIZE is 4096)");
            return;
        }
        var sg = TrimmedViewComparer.Read(ev.Args.GetProperty("sg"), ev, "sg");
        if (sg.Length == 0)
        {
            check.Skip("empty sg");
            return;
        }
        ulong address = ev.ArgU64("address");
        ulong length = ev.ArgU64("length");
        var sgt = BuildTable(sg, new Random(unchecked((int)ev.I * 7919 + 17)));
        var original = Snapshot(sgt);

        var walk = UmemDmabufTrim.Walk(sgt, address, length);
        CompareVector(check, "walk", ev, sgt, walk, faithful: true);
        var walkState = Snapshot(sgt);
        UmemDmabufTrim.Unmap(sgt, walk);
        CompareTables(check, "walk.unmap", original, sgt);

        var indexed = UmemDmabufTrim.Indexed(sgt, new SgTrimIndex(), address, length);
        CompareVector(check, "indexed", ev, sgt, indexed, faithful: false);
        CompareResults(check, walk, indexed);
        CompareTables(check, "indexed.table", walkState, sgt);
        UmemDmabufTrim.Unmap(sgt, indexed);
        CompareTables(check, "indexed.unmap", original, sgt);
    }

    /// <summary>
    /// <c>ib_umem_dmabuf_map_pages</c>: the <c>sgcap-reimpl</c> flavour on the model's mapped table (from
    /// <see cref="SgReplayState"/>); the <c>ib_uverbs</c> flavour (the real map_pages on a umem) goes to
    /// <see cref="UmemDmabufReplayOps.MapPagesUverbs"/>.
    /// </summary>
    public static void MapPages(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        string? impl = ev.ArgString("impl");
        if (impl == "ib_uverbs")
        {
            UmemDmabufReplayOps.MapPagesUverbs(ctx, ev, check);
            return;
        }
        if (impl != "sgcap-reimpl")
        {
            check.Skip($"ib_umem_dmabuf_map_pages flavour {impl ?? "null"} not modelled");
            return;
        }
        var state = ctx.State<SgReplayState>();
        SgTable? sgt;
        string key;
        if (ev.ArgString("table") == "dma_buf_map_attachment")
        {
            // The buffer's tag; these events carry it as `case` (= the tag of the buffer's dma_buf_get).
            long tag = ev.HasArg("tag") ? ev.ArgI64("tag") : ev.ArgI64("case");
            state.FirstMapByTag.TryGetValue(tag, out sgt);
            key = $"tag {tag}";
        }
        else
        {
            long c = ev.ArgI64("case");
            state.MappedByCase.TryGetValue(c, out sgt);
            key = $"case {c}";
        }
        if (sgt is null)
        {
            check.Skip($"no mapped table for {key}");
            return;
        }

        ulong address = ev.ArgU64("address");
        ulong length = ev.ArgU64("length");
        check.Equal("args.window_start", ev.ArgU64("window_start"), UmemDmabufTrim.WindowStart(address));
        check.Equal("args.window_end", ev.ArgU64("window_end"), UmemDmabufTrim.WindowEnd(address, length));

        var original = Snapshot(sgt);
        var untrimmed = TrimmedViewComparer.DmaView(sgt);
        var walk = UmemDmabufTrim.Walk(sgt, address, length);
        check.Ret(0);
        check.ResultI64("first_sg", walk.FirstSgIndex);
        check.ResultU64("first_sg_offset", walk.FirstSgOffset);
        check.ResultI64("last_sg", walk.LastSgIndex);
        check.ResultU64("last_sg_trim", walk.LastSgTrim);
        check.ResultU64("nmap", walk.Nmap);
        if (ev.Result.TryGetProperty("trimmed", out var trimmedJson))
        {
            var expected = TrimmedViewComparer.Read(trimmedJson, ev, "result.trimmed");
            ulong expected0 = 0;
            if (expected.Length > 0)
            {
                long traceFirst = ev.ResultI64("first_sg");
                expected0 = traceFirst == 0 ? unchecked(expected[0].DmaAddress - ev.ResultU64("first_sg_offset")) : expected[0].DmaAddress;
            }
            uint firstCpuOffset = sgt.Sgl.IsNull ? 0 : sgt.At(sgt.Sgl).Offset;
            TrimmedViewComparer.Compare(check, ctx.Options.DmaPath, "result.trimmed", expected, TrimmedViewComparer.DmaView(sgt),
                expected0, untrimmed, firstCpuOffset);
        }
        var walkState = Snapshot(sgt);
        UmemDmabufTrim.Unmap(sgt, walk);
        bool restored = SameTables(original, sgt, out _);
        check.ResultBool("unmap_restored_exact", restored);

        var indexed = UmemDmabufTrim.Indexed(sgt, ctx.State<UmemTrimReplayState>().For(sgt), address, length);
        CompareResults(check, walk, indexed);
        CompareTables(check, "indexed.table", walkState, sgt);
        UmemDmabufTrim.Unmap(sgt, indexed);
        CompareTables(check, "indexed.unmap", original, sgt);
    }

    /// <summary>A chained table (128-slot chunks in shuffled places) whose DMA view is <paramref name="sg"/>.</summary>
    public static SgTable BuildTable(ReadOnlySpan<DmaEntry> sg, Random shuffle)
    {
        var sgt = new SgTable();
        if (SgTable.Alloc(sgt, sg.Length, shuffle) != 0)
        {
            throw new InvalidOperationException("sg_alloc_table failed for a non-empty table");
        }
        var c = sgt.Sgl;
        for (int k = 0; k < sg.Length; k++)
        {
            ref Scatterlist e = ref sgt.At(c);
            e.DmaAddress = sg[k].DmaAddress;
            e.DmaLength = sg[k].DmaLength;
            c = sgt.Next(c);
        }
        sgt.MarkChanged();
        return sgt;
    }

    /// <summary>A copy of every slot of every chunk (chain slots included).</summary>
    public static Scatterlist[][] Snapshot(SgTable sgt)
    {
        var chunks = sgt.Chunks;
        var copy = new Scatterlist[chunks.Length][];
        for (int k = 0; k < chunks.Length; k++)
        {
            copy[k] = (Scatterlist[])chunks[k].Clone();
        }
        return copy;
    }

    /// <summary>True when <paramref name="sgt"/> equals <paramref name="snapshot"/> byte for byte; else the first differing slot.</summary>
    public static bool SameTables(Scatterlist[][] snapshot, SgTable sgt, out string where)
    {
        var chunks = sgt.Chunks;
        if (chunks.Length != snapshot.Length)
        {
            where = $"{chunks.Length} chunks, snapshot has {snapshot.Length}";
            return false;
        }
        for (int k = 0; k < chunks.Length; k++)
        {
            var a = MemoryMarshal.AsBytes(snapshot[k].AsSpan());
            var b = MemoryMarshal.AsBytes(chunks[k].AsSpan());
            if (!a.SequenceEqual(b))
            {
                int slot = 0;
                while (slot < chunks[k].Length && snapshot[k].AsSpan(slot, 1).SequenceEqual(chunks[k].AsSpan(slot, 1)))
                {
                    slot++;
                }
                where = slot < chunks[k].Length
                    ? $"chunk {k} slot {slot}: dma_address 0x{chunks[k][slot].DmaAddress:x} dma_length {chunks[k][slot].DmaLength} (was 0x{snapshot[k][slot].DmaAddress:x} {snapshot[k][slot].DmaLength})"
                    : $"chunk {k} length";
                return false;
            }
        }
        where = "";
        return true;
    }

    private static void CompareTables(ReplayCheck check, string field, Scatterlist[][] snapshot, SgTable sgt)
    {
        if (!SameTables(snapshot, sgt, out string where))
        {
            check.Fail(field, "the same table byte for byte", where);
        }
    }

    private static void CompareResults(ReplayCheck check, in TrimResult walk, in TrimResult indexed)
    {
        if (walk != indexed)
        {
            check.Fail("indexed", walk.ToString(), indexed.ToString());
        }
    }

    private static void CompareVector(ReplayCheck check, string impl, TraceEvent ev, SgTable sgt, in TrimResult r, bool faithful)
    {
        JsonElement expect = ev.Result;
        check.Equal($"expect.first_sg[{impl}]", ReadIndex(ev, "first_sg"), (long)r.FirstSgIndex);
        check.Equal($"expect.first_sg_offset[{impl}]", ev.ResultU64("first_sg_offset"), r.FirstSgOffset);
        check.Equal($"expect.last_sg[{impl}]", ReadIndex(ev, "last_sg"), (long)r.LastSgIndex);
        check.Equal($"expect.last_sg_trim[{impl}]", ev.ResultU64("last_sg_trim"), r.LastSgTrim);
        check.Equal($"expect.nmap[{impl}]", ev.ResultU64("nmap"), (ulong)r.Nmap);
        check.Equal($"umem.sgt.sgl[{impl}]", true, r.UmemSgl == r.FirstSg && r.UmemNents == r.Nmap);
        if (faithful)
        {
            check.Equal($"expect.walked[{impl}]", ev.ResultU64("walked"), (ulong)r.Walked);
        }
        if (!expect.TryGetProperty("trimmed", out var trimmedJson))
        {
            return;
        }
        var expected = TrimmedViewComparer.Read(trimmedJson, ev, "expect.trimmed");
        var actual = new List<DmaEntry>();
        if (!r.FirstSg.IsNull)
        {
            var c = r.FirstSg;
            for (uint k = 0; k < r.Nmap && !c.IsNull; k++)
            {
                ref Scatterlist e = ref sgt.At(c);
                actual.Add(new DmaEntry(e.DmaAddress, e.DmaLength));
                c = sgt.Next(c);
            }
        }
        if (!check.Equal($"expect.trimmed.length[{impl}]", (ulong)expected.Length, (ulong)actual.Count))
        {
            return;
        }
        for (int k = 0; k < expected.Length; k++)
        {
            check.Equal($"expect.trimmed[{k}].dma_address[{impl}]", expected[k].DmaAddress, actual[k].DmaAddress);
            check.Equal($"expect.trimmed[{k}].dma_length[{impl}]", expected[k].DmaLength, actual[k].DmaLength);
        }
    }

    // first_sg / last_sg: null in the vectors (-1 in the traces) is NULL.
    private static long ReadIndex(TraceEvent ev, string name) =>
        ev.Result.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? ev.ResultI64(name) : -1;
}
