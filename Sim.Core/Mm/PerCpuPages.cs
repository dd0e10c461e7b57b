// Models the per-cpu page lists of mm/page_alloc.c (struct per_cpu_pages, include/linux/mmzone.h) as far as
// /proc/meminfo sees them: their size limits (zone_batchsize, zone_highsize, the watermarks they derive from) on
// Linux 6.1.192 and 6.12.118, and what drain_all_pages does to MemFree.
using Sim.Core.Boot;

namespace Sim.Core.Mm;

/// <summary>
/// The limits of one zone's per-cpu free lists (pcp). Pages freed with <c>free_unref_page</c> (order ≤ 3, CMA pages
/// too: a MIGRATE_CMA page goes on the MOVABLE list) sit on the freeing CPU's pcp and are <i>not</i> counted in
/// <c>NR_FREE_PAGES</c> (MemFree) nor <c>NR_FREE_CMA_PAGES</c> until the list is flushed: when it reaches
/// <c>pcp-&gt;high</c> (<c>free_pcppages_bulk</c>) or is drained. <c>alloc_contig_range</c> (every <c>cma_alloc</c>
/// that found room in its bitmap) calls <c>drain_all_pages(zone)</c> after isolating the range, so the first CMA
/// allocation after a <c>/proc/meminfo</c> read gives back every page the pcp held at that read: MemFree then
/// falls by less than CmaFree, by up to <see cref="HighMax"/> pages. A <c>cma_alloc</c> that finds no room in the
/// bitmap returns -ENOMEM before <c>alloc_contig_range</c>: no drain, and (on ARM, where <c>__dma_alloc</c> uses
/// the CMA allocator alone once the device has a CMA area) no fallback allocation either.
/// How many pages the pcp holds at a given moment depends on everything the kernel freed since boot, which a
/// trace does not record; the simulator's machine starts with empty lists, and replay compares MemFree changes
/// against the window these limits give.
/// </summary>
[Kernel("struct per_cpu_pages", "include/linux/mmzone.h")]
public readonly record struct PerCpuPages(int Batch, int HighMin, int HighMax, int LowWmark, int MinFreeKbytes)
{
    /// <summary><c>MIN_PERCPU_PAGELIST_HIGH_FRACTION</c> (6.12): the auto-tuned <c>high_max</c> is a zone's managed pages / 8.</summary>
    public const int MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

    /// <summary><c>watermark_scale_factor</c> default (10: 0.1% of the zone).</summary>
    public const int WatermarkScaleFactor = 10;

    /// <summary>
    /// The limits of a single lowmem zone of <paramref name="managedPages"/> pages on <paramref name="onlineCpus"/>
    /// CPUs (the x86 and ARM machines of the captures: one zone below 4 GiB / all lowmem, one vCPU), as
    /// <c>init_per_zone_wmark_min</c> (postcore_initcall, after CMA areas were given to the buddy allocator) leaves them.
    /// <list type="bullet">
    /// <item>6.1.192: <c>pcp-&gt;high</c> = <c>zone_highsize</c> = low watermark / CPUs (at least 4 × batch); fixed.</item>
    /// <item>6.12.118: <c>pcp-&gt;high</c> is auto-tuned between <c>high_min</c> (the same low-watermark value) and
    /// <c>high_max</c> = managed pages / <c>MIN_PERCPU_PAGELIST_HIGH_FRACTION</c> / CPUs: it grows while a CPU frees
    /// more than it allocates and decays back once a second (<c>decay_pcp_high</c>).</item>
    /// </list>
    /// </summary>
    [Kernel("zone_set_pageset_high_and_batch", "mm/page_alloc.c")]
    public static PerCpuPages ForZone(KernelVersion kernel, ulong managedPages, int onlineCpus = 1)
    {
        int minFree = CalculateMinFreeKbytes(managedPages);
        int low = (int)LowWmarkPages(managedPages, minFree);
        int batch = Math.Max(1, ZoneBatchsize(managedPages)); // new_batch = max(1, zone_batchsize(zone))
        int cpus = Math.Max(1, onlineCpus);
        int highMin = ZoneHighsize(low, batch, cpus);
        int highMax = kernel >= KernelVersion.V6_12
            ? ZoneHighsize((long)(managedPages / MIN_PERCPU_PAGELIST_HIGH_FRACTION), batch, cpus)
            : highMin;
        return new PerCpuPages(batch, highMin, highMax, low, minFree);
    }

    /// <summary>
    /// <c>calculate_min_free_kbytes</c>: <c>int_sqrt(lowmem_kbytes * 16)</c> clamped to 128 .. 262144, where
    /// <c>lowmem_kbytes</c> = <c>nr_free_buffer_pages()</c> in KiB (the zone's managed pages: its high watermark is
    /// still 0 on the first call). Same in 6.1 and 6.12.
    /// </summary>
    [Kernel("calculate_min_free_kbytes", "mm/page_alloc.c")]
    public static int CalculateMinFreeKbytes(ulong managedPages)
    {
        ulong lowmemKbytes = managedPages * 4;
        return (int)Math.Clamp(IntSqrt(lowmemKbytes * 16), 128UL, 262144UL);
    }

    /// <summary>
    /// <c>__setup_per_zone_wmarks</c> for a single lowmem zone: min = <c>min_free_kbytes</c> in pages; low = min +
    /// max(min / 4, managed × <c>watermark_scale_factor</c> / 10000). Same in 6.1 and 6.12.
    /// </summary>
    [Kernel("__setup_per_zone_wmarks", "mm/page_alloc.c")]
    public static long LowWmarkPages(ulong managedPages, int minFreeKbytes)
    {
        long min = minFreeKbytes >> 2;
        long tmp = Math.Max(min >> 2, (long)(managedPages * WatermarkScaleFactor / 10000));
        return min + tmp;
    }

    /// <summary>
    /// <c>zone_batchsize</c>: min(managed / 1024, 1 MiB of pages) / 4, rounded down to a power of two after
    /// × 1.5, minus 1 (so 31 for the 512 MiB ARM board). Same in 6.1 and 6.12.
    /// </summary>
    [Kernel("zone_batchsize", "mm/page_alloc.c")]
    public static int ZoneBatchsize(ulong managedPages)
    {
        int batch = (int)Math.Min(managedPages >> 10, 256UL);
        batch /= 4;
        if (batch < 1)
        {
            batch = 1;
        }
        int x = batch + batch / 2;
        int pow = 1;
        while (pow * 2 <= x)
        {
            pow *= 2;
        }
        return pow - 1;
    }

    /// <summary><c>zone_highsize</c>: <paramref name="totalPages"/> split across the CPUs of the node, at least 4 × batch.</summary>
    [Kernel("zone_highsize", "mm/page_alloc.c")]
    public static int ZoneHighsize(long totalPages, int batch, int cpus) => (int)Math.Max(totalPages / cpus, (long)batch << 2);

    /// <summary><c>int_sqrt</c> (lib/math/int_sqrt.c): floor of the square root.</summary>
    [Kernel("int_sqrt", "lib/math/int_sqrt.c")]
    public static ulong IntSqrt(ulong x)
    {
        ulong r = (ulong)Math.Sqrt(x);
        while (r * r > x)
        {
            r--;
        }
        while ((r + 1) * (r + 1) <= x)
        {
            r++;
        }
        return r;
    }
}
