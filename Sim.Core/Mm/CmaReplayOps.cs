// Replay of the cma-arm family's standalone reads (data/traces/README.md, linux-6.1-cma-arm): cma_state (the
// capture's debugfs dump of a CMA area) and proc_meminfo (fs/proc/meminfo.c's MemTotal/MemFree/CmaTotal/CmaFree).
using Sim.Core.Dma;
using Sim.Core.Replay;

namespace Sim.Core.Mm;

/// <summary>The previous <c>proc_meminfo</c> of a file: the traced and the model's MemFree (kB).</summary>
public sealed class MeminfoReplayState
{
    /// <summary>True after the first read.</summary>
    public bool Seen { get; set; }

    /// <summary>MemFree of the previous read in the trace.</summary>
    public long TracedMemFreeKb { get; set; }

    /// <summary>MemFree of the previous read in the model.</summary>
    public long ModelMemFreeKb { get; set; }

    /// <summary><see cref="Cma.ContigRangeCalls"/> at the previous read.</summary>
    public ulong ContigRangeCalls { get; set; }
}

/// <summary>
/// Handlers for <c>cma_state</c> and <c>proc_meminfo</c>. Both read the model's state after the user events
/// before them; they pass once the driver's allocations of those events are modelled.
/// </summary>
public sealed class CmaReplayOps : IReplayOpProvider
{
    /// <summary>
    /// How far the model's MemFree change between two reads may differ from the traced change (kB): the traces
    /// vary from boot to boot, and the captured exhaust run moved MemFree 456 kB less than CmaFree.
    /// </summary>
    public const long MemFreeDriftKb = 1024;

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.Add("cma_state", CmaStateOp);
        table.Add("proc_meminfo", ProcMeminfoOp);
    }

    /// <summary>
    /// <c>cma_state</c> (after event <c>after</c>): base_pfn, count, order_per_bit, used, maxchunk and bitmap of
    /// the named area, exactly.
    /// </summary>
    public static void CmaStateOp(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(check);
        if (Unmodelled(ctx, check))
        {
            return;
        }
        string? name = ev.ArgString("name");
        var cma = (ctx.Machine.GetService(typeof(DmaContiguous)) as DmaContiguous)?.DefaultArea;
        if (cma is null || (name is not null && name != cma.Name))
        {
            check.Fail("args.name", name ?? "(default)", cma is null ? "no CMA area" : cma.Name);
            return;
        }
        var s = cma.GetState();
        check.Ret(0);
        check.ResultU64("base_pfn", s.BasePfn);
        check.ResultU64("count", s.Count);
        check.ResultU64("order_per_bit", (ulong)s.OrderPerBit);
        check.ResultU64("used", s.Used);
        check.ResultU64("maxchunk", s.MaxChunk);
        check.ResultString("bitmap", s.Bitmap);
    }

    // A read after an event whose CMA allocations or releases were not modelled (its handler skipped it) cannot
    // be compared: it is skipped, naming that event.
    private static bool Unmodelled(ReplaySession ctx, ReplayCheck check)
    {
        if (ctx.State<KernelSideState>().FirstUnmodelledCmaEvent is { } j)
        {
            check.Skip($"depends on the CMA allocations of event i={j}, which is not modelled yet");
            return true;
        }
        return false;
    }

    /// <summary>
    /// <c>proc_meminfo</c>: CmaTotal_kB (<c>totalcma_pages</c>) and CmaFree_kB (<c>NR_FREE_CMA_PAGES</c>) exactly.
    /// MemTotal/MemFree vary from boot to boot and are compared by the README's rule only: MemFree counts the
    /// free CMA pages (so MemFree ≥ CmaFree, MemFree ≤ MemTotal), and from one read to the next the model's
    /// MemFree moves like the traced one: see <see cref="MemFreeChangeWindow"/>.
    /// </summary>
    public static void ProcMeminfoOp(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(ev);
        ArgumentNullException.ThrowIfNull(check);
        if (Unmodelled(ctx, check))
        {
            return;
        }
        var cma = (ctx.Machine.GetService(typeof(DmaContiguous)) as DmaContiguous)?.DefaultArea;
        var frames = ctx.PageFrames;
        var m = Meminfo.Read(frames, cma);
        check.Ret(0);
        check.ResultU64("CmaTotal_kB", m.CmaTotalKb);
        check.ResultU64("CmaFree_kB", m.CmaFreeKb);
        if (m.MemFreeKb < m.CmaFreeKb || m.MemFreeKb > m.MemTotalKb)
        {
            check.Fail("result.MemFree_kB", $"between CmaFree ({m.CmaFreeKb}) and MemTotal ({m.MemTotalKb})", m.MemFreeKb.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        if (!ev.HasResult("MemFree_kB"))
        {
            return;
        }
        var state = ctx.State<MeminfoReplayState>();
        long traced = ev.ResultI64("MemFree_kB");
        long model = (long)m.MemFreeKb;
        ulong drains = cma?.ContigRangeCalls ?? 0;
        if (state.Seen)
        {
            long tracedDelta = traced - state.TracedMemFreeKb;
            long modelDelta = model - state.ModelMemFreeKb;
            var pcp = PerCpuPages.ForZone(ctx.Options.Kernel, frames.TotalRamPages);
            var (lo, hi) = MemFreeChangeWindow(modelDelta, drains != state.ContigRangeCalls, pcp);
            if (tracedDelta < lo || tracedDelta > hi)
            {
                check.Fail("result.MemFree_kB (change since the previous read)",
                    $"{tracedDelta} kB within [{lo}, {hi}] (the model's {modelDelta} kB, ± {MemFreeDriftKb}, + up to pcp high {pcp.HighMax} pages drained)",
                    $"{modelDelta} kB");
            }
        }
        state.Seen = true;
        state.TracedMemFreeKb = traced;
        state.ModelMemFreeKb = model;
        state.ContigRangeCalls = drains;
    }

    /// <summary>
    /// The MemFree change (kB) between two <c>/proc/meminfo</c> reads that Linux can show, given the model's change
    /// (CMA pages taken or given back, pages the models allocated or freed). The model's machine keeps no per-cpu
    /// page lists, so: the change is the model's ± <see cref="MemFreeDriftKb"/> (slab and page-table pages of the
    /// objects made in between, vmstat's per-cpu deltas); and when a <c>cma_alloc</c> reached
    /// <c>alloc_contig_range</c> in between (<paramref name="drained"/>), its <c>drain_all_pages</c> returned to the
    /// free lists whatever the pcp held at the first read, up to <c>pcp-&gt;high</c>: 6.1's fixed high (the low
    /// watermark, 885 pages on the 512 MiB ARM board), 6.12's auto-tuned <c>high_max</c> (managed / 8). That drained
    /// amount is boot history the trace does not record, so it widens the window upwards only.
    /// </summary>
    [Kernel("drain_all_pages", "mm/page_alloc.c")]
    public static (long Lo, long Hi) MemFreeChangeWindow(long modelDeltaKb, bool drained, PerCpuPages pcp) =>
        (modelDeltaKb - MemFreeDriftKb, modelDeltaKb + MemFreeDriftKb + (drained ? pcp.HighMax * 4L : 0));
}

/// <summary>The <c>/proc/meminfo</c> lines the traces read (fs/proc/meminfo.c), in kB.</summary>
/// <param name="MemTotalKb"><c>MemTotal</c>: totalram_pages.</param>
/// <param name="MemFreeKb"><c>MemFree</c>: NR_FREE_PAGES, which includes the free pages of CMA areas.</param>
/// <param name="CmaTotalKb"><c>CmaTotal</c>: totalcma_pages.</param>
/// <param name="CmaFreeKb"><c>CmaFree</c>: NR_FREE_CMA_PAGES.</param>
[Kernel("meminfo_proc_show", "fs/proc/meminfo.c")]
public readonly record struct Meminfo(ulong MemTotalKb, ulong MemFreeKb, ulong CmaTotalKb, ulong CmaFreeKb)
{
    /// <summary>Reads the counters: pages outside CMA from the page allocator, CMA pages from the area's bitmap.</summary>
    public static Meminfo Read(IPageFrames frames, Cma? cma)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ulong cmaTotal = cma?.Count ?? 0;
        ulong cmaFree = cma?.FreePages ?? 0;
        return new Meminfo(frames.TotalRamPages * 4, (frames.FreePagesOutsideCma + cmaFree) * 4, cmaTotal * 4, cmaFree * 4);
    }
}
