// Replay handlers of the linux-6.1-sg page pool, scatterlist and DMA mapping ops and of the sg_pages vectors
// (data/traces/README.md, "linux-6.1-sg"; data/vectors/README.md, "sg_pages.jsonl").
using System.Text.Json;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Mm;

namespace Sim.Core.Replay;

/// <summary>Per-file state of the page pool, the tables by case and the traced DMA device.</summary>
public sealed class SgCoreReplayState
{
    /// <summary>Pool index to pfn (the <c>alloc_pages</c> block, then the <c>alloc_page</c> singles).</summary>
    public List<ulong> Pool { get; } = [];

    /// <summary>pfn to pool index.</summary>
    public Dictionary<ulong, int> PoolIndexOf { get; } = [];

    /// <summary>The table of each <c>case</c> of <c>sg_alloc_table_from_pages_segment</c> (until the next one of that case).</summary>
    public Dictionary<long, SgTable> Tables { get; } = [];

}

/// <summary>
/// Ops <c>alloc_pages</c>, <c>alloc_page</c> (the traced frames become the pool's page identities),
/// <c>sg_alloc_table_from_pages_segment</c>, <c>dma_map_sgtable</c> (applies <c>params</c> first; the mapped
/// table goes to <see cref="SgReplayState.MappedByCase"/>), <c>dma_unmap_sgtable</c> (then restores the
/// defaults), <c>device_dma_params</c>, and the <c>sg_pages</c> vector op.
/// </summary>
public sealed class SgDmaReplayOps : IReplayOpProvider
{

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.Add("alloc_pages", AllocPages)
            .Add("alloc_page", AllocPage)
            .Add("sg_alloc_table_from_pages_segment", SgAllocTableFromPagesSegment)
            .Add("dma_map_sgtable", DmaMapSgtable)
            .Add("dma_unmap_sgtable", DmaUnmapSgtable)
            .Add("device_dma_params", DeviceDmaParams)
            .Add("sg_pages", SgPagesVector);
    }

    private static void AllocPages(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var st = ctx.State<SgCoreReplayState>();
        var alloc = ctx.PageAlloc;
        int order = (int)ev.ArgI64("order");
        var gfp = GfpNames.Parse(ev.ArgString("gfp"));
        check.Equal("args.pool_index_first", ev.ArgU64("pool_index_first", (ulong)st.Pool.Count), (ulong)st.Pool.Count);
        int ret;
        ulong pfn;
        if (ev.Ret == 0 && ev.HasResult("pfn"))
        {
            pfn = ev.ResultU64("pfn");
            ret = alloc.AllocExact(pfn, order, gfp);
        }
        else
        {
            ret = alloc.AllocPages(gfp, order, out pfn);
        }
        check.Ret(ret);
        if (ret != 0)
        {
            return;
        }
        check.ResultU64("n_pages", 1UL << order);
        for (ulong k = 0; k < 1UL << order; k++)
        {
            AddToPool(st, pfn + k);
        }
    }

    private static void AllocPage(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var st = ctx.State<SgCoreReplayState>();
        var alloc = ctx.PageAlloc;
        var gfp = GfpNames.Parse(ev.ArgString("gfp"));
        check.Equal("args.pool_index_first", ev.ArgU64("pool_index_first", (ulong)st.Pool.Count), (ulong)st.Pool.Count);
        var pfns = ReadU64Array(ev.Result, "pfns");
        long count = ev.ArgI64("count", pfns.Length);
        check.Equal("result.pfns.length", count, pfns.Length);
        int ret = alloc.AdoptFrames(pfns, gfp);
        check.Ret(ret);
        if (ret == 0)
        {
            foreach (ulong p in pfns)
            {
                AddToPool(st, p);
            }
        }
    }

    private static void AddToPool(SgCoreReplayState st, ulong pfn)
    {
        st.PoolIndexOf.TryAdd(pfn, st.Pool.Count);
        st.Pool.Add(pfn);
    }

    private static void SgAllocTableFromPagesSegment(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var st = ctx.State<SgCoreReplayState>();
        long caseNo = ev.ArgI64("case", -1);
        uint nPages = (uint)ev.ArgU64("n_pages");
        var indices = ReadU64Array(ev.Args, nPages == 0 && ev.HasArg("pages_array_beyond_n_pages") ? "pages_array_beyond_n_pages" : "pages");
        var tracedPfns = ReadU64Array(ev.Args, nPages == 0 && ev.HasArg("pfns_beyond_n_pages") ? "pfns_beyond_n_pages" : "pfns");
        var pfns = new ulong[indices.Length];
        for (int k = 0; k < indices.Length; k++)
        {
            if (indices[k] >= (ulong)st.Pool.Count)
            {
                check.Fail("args.pages", "a pool index", indices[k].ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
            pfns[k] = st.Pool[(int)indices[k]];
        }
        if (!pfns.AsSpan().SequenceEqual(tracedPfns))
        {
            check.Fail("args.pfns", "the pool's adopted frames", "different frames");
        }
        if (st.Tables.Remove(caseNo, out var old))
        {
            old.Free();
        }
        var sgt = new SgTable();
        int ret = SgTable.AllocFromPagesSegment(sgt, pfns, nPages, (uint)ev.ArgU64("offset"), ev.ArgU64("size"),
            (uint)ev.ArgU64("max_segment"), ctx.Warnings);
        check.Ret(ret);
        if (ret != 0)
        {
            return;
        }
        st.Tables[caseNo] = sgt;
        check.ResultU64("orig_nents", (ulong)sgt.OrigNents);
        check.ResultU64("nents", (ulong)sgt.Nents);
        var chunks = sgt.ChunkEntryCounts();
        if (ev.Result.TryGetProperty("chunks", out var ch) && ch.ValueKind == JsonValueKind.Array)
        {
            var expected = ReadU64Array(ev.Result, "chunks");
            check.Equal("result.chunks", string.Join(",", expected), string.Join(",", chunks));
        }
        check.ResultBool("chained", chunks.Length > 1);
        CompareCpuEntries(st, ev, check, sgt);
    }

    private static void CompareCpuEntries(SgCoreReplayState? st, TraceEvent ev, ReplayCheck check, SgTable sgt)
    {
        if (!ev.Result.TryGetProperty("entries", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        if (!check.Equal("result.entries.length", (long)entries.GetArrayLength(), sgt.OrigNents))
        {
            return;
        }
        int k = 0;
        // The entries in step with the table (indexing a JSON array of objects walks it from the start: quadratic).
        var entry = entries.EnumerateArray();
        foreach (var c in sgt.Sgs())
        {
            entry.MoveNext();
            var e = entry.Current;
            var s = sgt.At(c);
            if (st is not null && e.TryGetProperty("pool_index", out var pi) && TraceNumber.TryGetI64(pi, out long idx))
            {
                long mine = st.PoolIndexOf.TryGetValue(s.Pfn, out int m) ? m : -1;
                check.EqualAt(Entries, k, "pool_index", idx, mine);
            }
            else
            {
                check.EqualAt(Entries, k, "pfn", U64(e, "pfn"), s.Pfn);
            }
            check.EqualAt(Entries, k, "offset", U64(e, "offset"), s.Offset);
            check.EqualAt(Entries, k, "length", U64(e, "length"), s.Length);
            k++;
        }
    }

    private static Device Edu(ReplaySession ctx) => ctx.Devices.GetOrCreate(ReplayDevices.Edu);

    /// <summary>The device parameter sets of the sgcap module, by name: (max_segment_size, segment_boundary_mask, dma_mask or null).</summary>
    private static (uint Seg, ulong Boundary, ulong? Mask)? ParamSet(string? name) => name switch
    {
        "default" => (65536u, 0xffffffffUL, null),
        "max_seg_4096" => (4096u, 0xffffffffUL, null),
        "max_seg_1m" => (1u << 20, 0xffffffffUL, null),
        "max_seg_uint_max" => (uint.MaxValue, 0xffffffffUL, null),
        "max_seg_16k_boundary_64k" => (16384u, 0xffffUL, null),
        "max_seg_uint_max_boundary_1m" => (uint.MaxValue, 0xfffffUL, null),
        "mask_24" => (65536u, 0xffffffffUL, DmaAttrs.DMA_BIT_MASK(24)),
        "mask_64" => (65536u, 0xffffffffUL, DmaAttrs.DMA_BIT_MASK(64)),
        _ => null,
    };

    /// <summary>The module's defaults, restored after each unmap: 64 KiB, 0xffffffff, 32-bit mask.</summary>
    private static void RestoreDefaults(DmaMapping dma, Device dev)
    {
        _ = DmaMapping.SetMaxSegSize(dev, 65536);
        _ = DmaMapping.SetSegBoundary(dev, 0xffffffff);
        _ = dma.SetMask(dev, DmaAttrs.DMA_BIT_MASK(32));
    }

    private static void DmaMapSgtable(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var st = ctx.State<SgCoreReplayState>();
        var dma = ctx.DmaMapping;
        var dev = Edu(ctx);
        long caseNo = ev.ArgI64("case", -1);
        var dir = DmaAttrs.ParseDirection(ev.ArgString("dir"));
        ulong attrs = ev.ArgU64("attrs", 0);

        // The module applies the named parameter set right before the mapping.
        RestoreDefaults(dma, dev);
        int maskRet = 0;
        var set = ParamSet(ev.ArgString("params"));
        if (set is { } p)
        {
            _ = DmaMapping.SetMaxSegSize(dev, p.Seg);
            _ = DmaMapping.SetSegBoundary(dev, p.Boundary);
            if (p.Mask is { } m)
            {
                maskRet = dma.SetMask(dev, m);
            }
        }
        else
        {
            // A set this model does not know by name: apply the values the module read back.
            _ = DmaMapping.SetMaxSegSize(dev, (uint)ev.ArgU64("max_segment_size", 65536));
            _ = DmaMapping.SetSegBoundary(dev, ev.ArgU64("segment_boundary_mask", 0xffffffff));
            maskRet = dma.SetMask(dev, ev.ArgU64("dma_mask", DmaAttrs.DMA_BIT_MASK(32)));
        }
        check.Equal("args.max_segment_size", ev.ArgU64("max_segment_size", DmaMapping.GetMaxSegSize(dev)), DmaMapping.GetMaxSegSize(dev));
        check.Equal("args.segment_boundary_mask", ev.ArgU64("segment_boundary_mask", DmaMapping.GetSegBoundary(dev)), DmaMapping.GetSegBoundary(dev));
        check.Equal("args.dma_mask", ev.ArgU64("dma_mask", dev.DmaMask ?? 0), dev.DmaMask ?? 0);
        check.Equal("args.dma_set_mask_ret", ev.ArgI64("dma_set_mask_ret", maskRet), maskRet);

        if (!st.Tables.TryGetValue(caseNo, out var sgt))
        {
            check.Fail("args.case", "a table allocated by sg_alloc_table_from_pages_segment", "none");
            return;
        }
        int ret = dma.MapSgtable(dev, sgt, dir, attrs);
        check.Ret(ret);
        check.ResultU64("orig_nents", (ulong)sgt.OrigNents);
        // The module reports nents 0 for a failed mapping (dma_map_sgtable leaves sgt->nents alone).
        check.ResultU64("nents", ret == 0 ? (ulong)sgt.Nents : 0);
        if (ret != 0)
        {
            RestoreDefaults(dma, dev);
            return;
        }
        ctx.State<SgReplayState>().MappedByCase[caseNo] = sgt;
        CompareMappedEntries(ctx, st, ev, check, sgt);
        ctx.AtExit("dma mappings released", c => CheckNoMappingsLeft(ctx, c));
    }

    private static void CompareMappedEntries(ReplaySession ctx, SgCoreReplayState st, TraceEvent ev, ReplayCheck check, SgTable sgt)
    {
        CompareCpuEntries(st, ev, check, sgt);
        ulong sumLength = 0, pages = 0, dmaTotal = 0;
        int k = 0;
        foreach (var c in sgt.Sgs())
        {
            var s = sgt.At(c);
            sumLength += s.Length;
            pages += Align.DivRoundUp((ulong)s.Offset + s.Length, Align.PAGE_SIZE);
            if (k < sgt.Nents)
            {
                dmaTotal += s.DmaLength;
            }
            k++;
        }
        check.ResultU64("sum_length", sumLength);
        check.ResultU64("pages", pages);
        check.ResultU64("dma_total", dmaTotal);
        if (!ev.Result.TryGetProperty("entries", out var entries) || entries.ValueKind != JsonValueKind.Array ||
            entries.GetArrayLength() != sgt.OrigNents || sgt.OrigNents == 0)
        {
            return;
        }
        var path = ctx.Options.DmaPath;
        var first = sgt.At(sgt.Sgl);
        ulong expBase = unchecked(U64(entries[0], "dma_address") - (U64(entries[0], "offset") % Align.PAGE_SIZE));
        ulong myBase = unchecked(first.DmaAddress - (first.Offset % Align.PAGE_SIZE));
        var bounce = new List<(ulong Start, ulong End, int Index)>();
        k = 0;
        var entry = entries.EnumerateArray();
        foreach (var c in sgt.Sgs())
        {
            var s = sgt.At(c);
            entry.MoveNext();
            var e = entry.Current;
            check.EqualAt(Entries, k, "dma_length", U64(e, "dma_length"), s.DmaLength);
            ulong exp = U64(e, "dma_address");
            switch (path)
            {
                case DmaPath.Iommu:
                    if (exp == DmaAttrs.DMA_MAPPING_ERROR || s.DmaAddress == DmaAttrs.DMA_MAPPING_ERROR)
                    {
                        check.EqualAt(Entries, k, "dma_address", exp, s.DmaAddress);
                    }
                    else
                    {
                        check.EqualAt(Entries, k, "dma_address-base", unchecked(exp - expBase), unchecked(s.DmaAddress - myBase));
                    }
                    break;
                case DmaPath.Swiotlb:
                    if (k < sgt.Nents)
                    {
                        if (s.DmaLength >= Align.PAGE_SIZE && s.DmaAddress % Align.PAGE_SIZE != 0)
                        {
                            check.Fail(ReplayCheck.FieldAt(Entries, k, "dma_address"), "page aligned (bounce slot)", ReplayCheck.Show(s.DmaAddress));
                        }
                        bounce.Add((s.DmaAddress, s.DmaAddress + s.DmaLength, k));
                    }
                    break;
                default:
                    check.EqualAt(Entries, k, "dma_address", exp, s.DmaAddress);
                    break;
            }
            k++;
        }
        if (bounce.Count > 1)
        {
            bounce.Sort((a, b) => a.Start.CompareTo(b.Start));
            for (int j = 1; j < bounce.Count; j++)
            {
                if (bounce[j].Start < bounce[j - 1].End || bounce[j].Start == bounce[j - 1].Start)
                {
                    check.Fail($"result.entries[{bounce[j].Index}].dma_address", "distinct, non-overlapping bounce buffers",
                        $"overlaps entry {bounce[j - 1].Index}");
                }
            }
        }
    }

    private static void DmaUnmapSgtable(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var st = ctx.State<SgCoreReplayState>();
        var dma = ctx.DmaMapping;
        var dev = Edu(ctx);
        long caseNo = ev.ArgI64("case", -1);
        var dir = DmaAttrs.ParseDirection(ev.ArgString("dir"));
        var mapped = ctx.State<SgReplayState>().MappedByCase;
        if (!mapped.Remove(caseNo, out var sgt))
        {
            check.Fail("args.case", "a table mapped by dma_map_sgtable", "none");
            return;
        }
        DmaMapping.UnmapSgtable(dev, sgt, dir, ev.ArgU64("attrs", 0));
        check.Ret(0);
        if (st.Tables.Remove(caseNo, out var t))
        {
            t.Free();
        }
        RestoreDefaults(dma, dev);
    }

    private static void CheckNoMappingsLeft(ReplaySession ctx, ReplayCheck check)
    {
        var st = ctx.State<SgCoreReplayState>();
        check.Equal("mapped tables", 0L, ctx.State<SgReplayState>().MappedByCase.Count);
        check.Equal("swiotlb slots in use", 0L, ctx.DmaMapping.Swiotlb.Used);
        if (ctx.Devices.Find(ReplayDevices.Edu)?.Domain is { } d)
        {
            check.Equal("iova ranges in use", 0L, d.Iovad.Count);
            check.Equal("iommu pages mapped", 0L, d.MappedPages);
        }
    }

    private static void DeviceDmaParams(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var dma = ctx.DmaMapping;
        var st = ctx.State<SgCoreReplayState>();
        var dev = ctx.Devices.GetOrCreate(ev.ArgString("dev_name") ?? ReplayDevices.Edu,
            (ushort)ev.ArgU64("pci_vendor", 0x1234), (ushort)ev.ArgU64("pci_device", 0x11e8));
        check.Ret(0);
        check.ResultU64("dma_get_max_seg_size", DmaMapping.GetMaxSegSize(dev));
        check.ResultU64("dma_get_seg_boundary", DmaMapping.GetSegBoundary(dev));
        check.ResultU64("dma_mask", dev.DmaMask ?? 0);
        check.ResultU64("coherent_dma_mask", dev.CoherentDmaMask);
        check.ResultU64("bus_dma_limit", dev.BusDmaLimit);
        check.ResultU64("dma_max_mapping_size", dma.MaxMappingSize(dev));
        check.ResultU64("dma_opt_mapping_size", dma.OptMappingSize(dev));
        check.ResultBool("is_swiotlb_active", DmaMapping.IsSwiotlbActive(dev));
        check.ResultString("dma_ops", dev.DmaMapOps ? "iommu-dma(ops set)" : "dma-direct(ops NULL)");
        check.ResultI64("iommu_group", dev.IommuGroup);
        check.ResultI64("iommu_domain_type", dev.Domain?.Type ?? -1);
        check.ResultI64("HZ", ctx.Options.Hz);
        check.ResultI64("SG_MAX_SINGLE_ALLOC", SgTable.SG_MAX_SINGLE_ALLOC);
        check.ResultI64("sizeof_scatterlist", System.Runtime.CompilerServices.Unsafe.SizeOf<Scatterlist>());
        check.ResultString("kernel_release", KernelRelease(ctx.Options));
    }

    private static string KernelRelease(MachineOptions o) =>
        o.MachineConfig.ValueKind == JsonValueKind.Object && o.MachineConfig.TryGetProperty("kernel_release", out var r) &&
        r.ValueKind == JsonValueKind.String ? r.GetString()! : "6.1.0";

    private static void SgPagesVector(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var pfns = ReadU64Array(ev.Args, "pfns");
        var sgt = new SgTable();
        int ret = SgTable.AllocFromPagesSegment(sgt, pfns, (uint)pfns.Length, (uint)ev.ArgU64("offset"), ev.ArgU64("size"),
            (uint)ev.ArgU64("max_segment"), ctx.Warnings);
        check.Ret(ret);
        check.ResultU64("nents", ret == 0 ? (ulong)sgt.Nents : 0);
        if (ret == 0)
        {
            CompareCpuEntries(null, ev, check, sgt);
        }
        else if (ev.Result.TryGetProperty("entries", out var e) && e.ValueKind == JsonValueKind.Array)
        {
            check.Equal("result.entries.length", (long)e.GetArrayLength(), 0L);
        }
    }

    private const string Entries = "result.entries";

    private static ulong U64(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var e) && TraceNumber.TryGetU64(e, out ulong v) ? v : 0;

    private static ulong[] ReadU64Array(JsonElement obj, string name)
    {
        if (!obj.TryGetProperty(name, out var arr) || arr.ValueKind != JsonValueKind.Array)
        {
            return [];
        }
        var r = new ulong[arr.GetArrayLength()];
        int k = 0;
        foreach (var e in arr.EnumerateArray())
        {
            r[k++] = TraceNumber.TryGetU64(e, out ulong v) ? v : 0;
        }
        return r;
    }
}
