// Models fs/proc/meminfo.c (Linux 6.1): the text of /proc/meminfo, line for line as meminfo_proc_show prints it
// with Debian's configurations: x86_64 (no CONFIG_HIGHMEM, no CONFIG_CMA; CONFIG_ZSWAP, CONFIG_MEMORY_FAILURE,
// CONFIG_TRANSPARENT_HUGEPAGE, hugetlb and x86's DirectMap lines; data/proc/linux-6.1-qemu-pc-meminfo.txt) and the
// ARM board (CONFIG_HIGHMEM, CONFIG_CMA; raw/cma_exhaust.raw.txt of linux-6.1-cma-arm).
using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Sim.Core.Mm;

namespace Sim.Core.Fs;

/// <summary>
/// <c>/proc/meminfo</c> of a machine. The counters the models keep are theirs (MemTotal, MemFree, CmaTotal, CmaFree,
/// VmallocTotal, VmallocUsed, Hugepagesize); what they do not model (page cache, LRU lists, slab, page tables, swap,
/// per-cpu areas, the direct map's page sizes) is 0, and MemAvailable is MemFree (no reclaimable cache, no
/// watermark reserve subtracted).
/// </summary>
[Kernel("meminfo_proc_show", "fs/proc/meminfo.c")]
public static class ProcMeminfo
{
    /// <summary>The lines of x86_64's 6.1 Debian kernel (CONFIG_CMA off) in their order.</summary>
    private static readonly ImmutableArray<string> s_x86 =
    [
        "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive", "Active(anon)",
        "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked", "SwapTotal", "SwapFree", "Zswap",
        "Zswapped", "Dirty", "Writeback", "AnonPages", "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable",
        "SUnreclaim", "KernelStack", "PageTables", "SecPageTables", "NFS_Unstable", "Bounce", "WritebackTmp",
        "CommitLimit", "Committed_AS", "VmallocTotal", "VmallocUsed", "VmallocChunk", "Percpu", "HardwareCorrupted",
        "AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "FileHugePages", "FilePmdMapped", "HugePages_Total",
        "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp", "Hugepagesize", "Hugetlb", "DirectMap4k", "DirectMap2M",
    ];

    /// <summary>The lines of the ARM board's 6.1 kernel (CONFIG_HIGHMEM, CONFIG_CMA) in their order.</summary>
    private static readonly ImmutableArray<string> s_arm =
    [
        "MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapCached", "Active", "Inactive", "Active(anon)",
        "Inactive(anon)", "Active(file)", "Inactive(file)", "Unevictable", "Mlocked", "HighTotal", "HighFree",
        "LowTotal", "LowFree", "SwapTotal", "SwapFree", "Zswap", "Zswapped", "Dirty", "Writeback", "AnonPages",
        "Mapped", "Shmem", "KReclaimable", "Slab", "SReclaimable", "SUnreclaim", "KernelStack", "PageTables",
        "SecPageTables", "NFS_Unstable", "Bounce", "WritebackTmp", "CommitLimit", "Committed_AS", "VmallocTotal",
        "VmallocUsed", "VmallocChunk", "Percpu", "CmaTotal", "CmaFree",
    ];

    /// <summary>
    /// The text: <paramref name="arm"/> picks the ARM board's lines; CmaTotal/CmaFree are printed on x86_64 only
    /// when the machine has a CMA area (a kernel built with CONFIG_CMA).
    /// </summary>
    public static string Show(Meminfo m, ulong vmallocTotalKb, ulong vmallocUsedPages, bool arm, Sim.Core.Mm.Hugetlb? hugetlb = null)
    {
        var values = new Dictionary<string, ulong>(StringComparer.Ordinal)
        {
            ["MemTotal"] = m.MemTotalKb,
            ["MemFree"] = m.MemFreeKb,
            ["MemAvailable"] = m.MemFreeKb,
            ["LowTotal"] = m.MemTotalKb,
            ["LowFree"] = m.MemFreeKb,
            ["VmallocTotal"] = vmallocTotalKb,
            ["VmallocUsed"] = vmallocUsedPages * 4,
            ["CmaTotal"] = m.CmaTotalKb,
            ["CmaFree"] = m.CmaFreeKb,
            ["Hugepagesize"] = 2048,
            // hugetlb_report_meminfo: the default hstate's pool; Hugetlb is every hstate's pages in kB
            ["HugePages_Total"] = (ulong)(hugetlb?.NrHugePages ?? 0),
            ["HugePages_Free"] = (ulong)(hugetlb?.FreeHugePages ?? 0),
            ["HugePages_Rsvd"] = unchecked((ulong)(hugetlb?.ResvHugePages ?? 0)),
            ["Hugetlb"] = (ulong)(hugetlb?.NrHugePages ?? 0) * 2048,
        };
        IEnumerable<string> lines = arm ? s_arm : s_x86;
        if (!arm && m.CmaTotalKb > 0)
        {
            // CONFIG_CMA's two lines come after the THP ones, before hugetlb_report_meminfo.
            var l = lines.ToList();
            l.InsertRange(l.IndexOf("HugePages_Total"), ["CmaTotal", "CmaFree"]);
            lines = l;
        }
        var sb = new StringBuilder();
        foreach (var name in lines)
        {
            ulong v = values.GetValueOrDefault(name);
            if (name.StartsWith("HugePages_", StringComparison.Ordinal))
            {
                // hugetlb_report_meminfo: "HugePages_Total:   %5lu\n", "HugePages_Free:    %5lu\n", ... (no unit).
                sb.Append(CultureInfo.InvariantCulture, $"{(name + ":").PadRight(19)}{v,5}\n");
            }
            else if (name == "HardwareCorrupted")
            {
                // "HardwareCorrupted: %5lu kB\n"
                sb.Append(CultureInfo.InvariantCulture, $"{name}: {v,5} kB\n");
            }
            else
            {
                // show_val_kb (the label padded to 16 columns, seq_put_decimal_ull_width(.., 8), " kB") and the
                // seq_printf("...:   %8lu kB\n") lines, which align the same way.
                sb.Append(CultureInfo.InvariantCulture, $"{(name + ":").PadRight(16)}{v,8} kB\n");
            }
        }
        return sb.ToString();
    }
}
