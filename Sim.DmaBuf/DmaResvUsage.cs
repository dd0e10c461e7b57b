// Models enum dma_resv_usage (include/linux/dma-resv.h, Linux 6.1).
using Sim.Core;

namespace Sim.DmaBufs;

/// <summary>
/// <c>enum dma_resv_usage</c>: how a fence in a reservation object is used, ordered so that a query for usage U
/// sees every fence with usage &lt;= U (KERNEL &lt; WRITE &lt; READ &lt; BOOKKEEP).
/// </summary>
[Kernel("dma_resv_usage", "include/linux/dma-resv.h")]
public enum DmaResvUsage
{
    /// <summary><c>DMA_RESV_USAGE_KERNEL</c>: kernel memory management (moves, clears).</summary>
    KERNEL = 0,
    /// <summary><c>DMA_RESV_USAGE_WRITE</c>: implicit write synchronisation.</summary>
    WRITE = 1,
    /// <summary><c>DMA_RESV_USAGE_READ</c>: implicit read synchronisation.</summary>
    READ = 2,
    /// <summary><c>DMA_RESV_USAGE_BOOKKEEP</c>: no implicit synchronisation.</summary>
    BOOKKEEP = 3,
}

/// <summary>Helpers of <c>enum dma_resv_usage</c>.</summary>
public static class DmaResvUsageExtensions
{
    /// <summary><c>dma_resv_usage_rw(write)</c>: READ for a writer (it waits for readers), WRITE for a reader.</summary>
    [Kernel("dma_resv_usage_rw", "include/linux/dma-resv.h")]
    public static DmaResvUsage UsageRw(bool write) => write ? DmaResvUsage.READ : DmaResvUsage.WRITE;

    /// <summary>Parses a usage name (<c>KERNEL</c> or <c>DMA_RESV_USAGE_KERNEL</c>); false if unknown.</summary>
    public static bool TryParse(string? name, out DmaResvUsage usage)
    {
        usage = default;
        if (name is null)
        {
            return false;
        }
        if (name.StartsWith("DMA_RESV_USAGE_", StringComparison.Ordinal))
        {
            name = name["DMA_RESV_USAGE_".Length..];
        }
        switch (name)
        {
            case "KERNEL": usage = DmaResvUsage.KERNEL; return true;
            case "WRITE": usage = DmaResvUsage.WRITE; return true;
            case "READ": usage = DmaResvUsage.READ; return true;
            case "BOOKKEEP": usage = DmaResvUsage.BOOKKEEP; return true;
            default: return false;
        }
    }
}
