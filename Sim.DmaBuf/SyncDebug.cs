// Models drivers/dma-buf/sync_debug.c (6.1.192 and 6.12.118 are the same): the list of sw_sync timelines
// (sync_timeline_debug_add at sync_timeline_create, _remove at sync_timeline_free) and debugfs
// /sys/kernel/debug/sync/info (sync_info_debugfs_show), built with CONFIG_SW_SYNC (machine option sw_sync). The
// "fences:" part lists the sync_file list, which nothing adds to in either kernel (sync_file_debug_add has no
// caller): it is always empty.
using System.Globalization;
using System.Text;
using Sim.Core;
using Sim.Core.Boot;

namespace Sim.DmaBufs;

/// <summary><c>sync_timeline_list_head</c> and <c>sync_info_debugfs_show</c>.</summary>
[Kernel("sync_debug", "drivers/dma-buf/sync_debug.c")]
public sealed class SyncDebug(MachineOptions options)
{
    /// <summary>The debugfs file.</summary>
    public const string InfoPath = "/sys/kernel/debug/sync/info";

    private readonly List<SyncTimeline> _timelines = [];

    /// <summary>The file exists: sync_debug.o is built with CONFIG_SW_SYNC.</summary>
    public bool Exists => options.SwSync;

    /// <summary>The timelines, oldest first.</summary>
    public IReadOnlyList<SyncTimeline> Timelines => _timelines;

    /// <summary><c>sync_timeline_debug_add</c>: <c>list_add_tail</c>.</summary>
    [Kernel("sync_timeline_debug_add", "drivers/dma-buf/sync_debug.c")]
    public void Add(SyncTimeline obj) => _timelines.Add(obj);

    /// <summary><c>sync_timeline_debug_remove</c>.</summary>
    [Kernel("sync_timeline_debug_remove", "drivers/dma-buf/sync_debug.c")]
    public void Remove(SyncTimeline obj) => _timelines.Remove(obj);

    /// <summary>
    /// <c>sync_info_debugfs_show</c>: "objs:" and a rule, each timeline (<c>sync_print_obj</c>: "NAME: VALUE" with
    /// the value as <c>%d</c>, then its <c>pt_list</c>, then a blank line), then "fences:" and a rule over the
    /// (empty) sync_file list.
    /// </summary>
    [Kernel("sync_info_debugfs_show", "drivers/dma-buf/sync_debug.c")]
    public string Show()
    {
        var s = new StringBuilder("objs:\n--------------\n");
        foreach (var obj in _timelines)
        {
            s.Append(CultureInfo.InvariantCulture, $"{obj.Name}: {unchecked((int)obj.Value)}\n");
            foreach (var pt in obj.ActivePoints)
            {
                PrintFence(s, pt);
            }
            s.Append('\n');
        }
        s.Append("fences:\n--------------\n");
        return s.ToString();
    }

    /// <summary>
    /// <c>sync_print_fence(s, fence, false)</c>: "  fence STATUS", "@SEC.NSEC" when the fence has its timestamp,
    /// ": SEQNO / TIMELINE-VALUE" from sw_sync's <c>fence_value_str</c> and <c>timeline_value_str</c>.
    /// </summary>
    [Kernel("sync_print_fence", "drivers/dma-buf/sync_debug.c")]
    private static void PrintFence(StringBuilder s, SyncPt pt)
    {
        int status = pt.GetStatusLocked();
        s.Append("  fence ").Append(StatusStr(status));
        if (pt.TestFlag(DmaFence.DMA_FENCE_FLAG_TIMESTAMP_BIT))
        {
            long ns = pt.TimestampNs;
            s.Append(CultureInfo.InvariantCulture, $"@{ns / 1_000_000_000}.{ns % 1_000_000_000:D9}");
        }
        s.Append(": ").Append(pt.ValueStr()).Append(" / ").Append(unchecked((int)pt.Parent.Value).ToString(CultureInfo.InvariantCulture));
        s.Append('\n');
    }

    /// <summary><c>sync_status_str</c>.</summary>
    [Kernel("sync_status_str", "drivers/dma-buf/sync_debug.c")]
    private static string StatusStr(int status) => status < 0 ? "error" : status > 0 ? "signaled" : "active";
}
