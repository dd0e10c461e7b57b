// Models the machine-wide state of drivers/dma-buf/dma-buf.c (Linux 6.1): db_list (every live dma-buf), the
// dmabuf_inode counter of dma_buf_getfile, and /sys/kernel/debug/dma_buf/bufinfo (dma_buf_debug_show).
using System.Globalization;
using System.Text;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Time;

namespace Sim.DmaBufs;

/// <summary>
/// <c>db_list</c>: the machine's live dma-bufs, newest first (<c>list_add</c> at export, <c>list_del</c> at file
/// release), the inode number counter of the dma-buf pseudo filesystem (numbers count every dma-buf since boot,
/// from 1), and the <c>bufinfo</c> text. One per machine (a DI singleton).
/// </summary>
[Kernel("db_list", "drivers/dma-buf/dma-buf.c")]
public sealed class DmaBufList(Warnings warnings, LiveObjects live, Ktime clock, DmaFenceCore fenceCore, Vfs vfs, KernelTrace trace, ModuleList modules,
    Sim.Core.Boot.MachineOptions options)
{
    /// <summary>The machine's options (features that differ by kernel profile).</summary>
    public Sim.Core.Boot.MachineOptions Options { get; } = options;

    /// <summary>The machine's kernel profile: dma-buf.c's locking convention follows it.</summary>
    public Sim.Core.Boot.KernelVersion Kernel => Options.Kernel;

    /// <summary>
    /// 6.12's dma-buf locking convention (upstream 6.2, "dma-buf: Move dma_buf_... to dynamic locking specification"):
    /// every importer holds the reservation lock around <c>dma_buf_map_attachment</c>, <c>dma_buf_unmap_attachment</c>,
    /// <c>dma_buf_vmap</c> and <c>dma_buf_vunmap</c> (or calls their <c>_unlocked</c> variants); attach and detach take
    /// it for every exporter; <c>dma_buf-&gt;lock</c> is gone. 6.1.192 asserts the lock only for dynamic
    /// attachments/exporters and serialises vmap with <c>dma_buf-&gt;lock</c>.
    /// </summary>
    public bool ResvLockedConvention => Kernel >= Sim.Core.Boot.KernelVersion.V6_12;

    private readonly List<DmaBuf> _head = [];
    private ulong _dmabufInode;

    /// <summary>The machine's WARN log.</summary>
    public Warnings Warnings { get; } = warnings;

    /// <summary>The machine's live-object accounting.</summary>
    public LiveObjects Live { get; } = live;

    /// <summary>The machine's clock (waits of SYNC and poll).</summary>
    public Ktime Clock { get; } = clock;

    /// <summary>The machine's trace sink: the kprobe events of the vgem/kvmfr ftrace captures (group <c>drmcap</c>).</summary>
    public KernelTrace Trace { get; } = trace;

    /// <summary>
    /// Fires a kprobe record (<c>dma_buf_fd</c>, <c>dma_buf_fd:return</c>, ...) when anyone listens. Pointers are not
    /// modelled: a returned <c>struct dma_buf *</c> is its inode number, or the negative errno.
    /// </summary>
    public void Kprobe(string op, params KernelTraceField[] fields)
    {
        if (Trace.Enabled)
        {
            Trace.Emit(new KernelTraceRecord(op, fields));
        }
    }

    /// <summary>The machine's modules (<c>try_module_get</c>/<c>module_put</c> of an exporter's owner).</summary>
    public ModuleList Modules { get; } = modules;

    /// <summary>The machine's fence core (embedded reservation objects, the stub fence).</summary>
    public DmaFenceCore FenceCore { get; } = fenceCore;

    /// <summary>
    /// <c>anon_inode_inode</c> (fs/anon_inodes.c): the one inode shared by every anon-inode file (sync_file, ...).
    /// </summary>
    public Inode AnonInode { get; } = new(vfs.NextIno(), 0x180);

    /// <summary>The live dma-bufs in list order (newest first).</summary>
    public IReadOnlyList<DmaBuf> Buffers => _head;

    /// <summary><c>atomic64_add_return(1, &amp;dmabuf_inode)</c>: the next dma-buf inode number.</summary>
    public ulong NextInodeNumber() => ++_dmabufInode;

    internal void Add(DmaBuf dmabuf) => _head.Insert(0, dmabuf);

    internal void Remove(DmaBuf dmabuf) => _head.Remove(dmabuf);

    /// <summary>Where debugfs serves <see cref="DebugShow"/>.</summary>
    public const string BufinfoPath = "/sys/kernel/debug/dma_buf/bufinfo";

    /// <summary>
    /// <c>dma_buf_debug_show</c>: the text of <c>/sys/kernel/debug/dma_buf/bufinfo</c>, byte for byte: a header,
    /// then per buffer "size flags mode count exp_name ino name" (<c>%08zu\t%08x\t%08x\t%08ld\t%s\t%08lu\t%s</c>),
    /// its fences (<c>dma_resv_describe</c>), its attached devices, and the totals.
    /// </summary>
    [Kernel("dma_buf_debug_show", "drivers/dma-buf/dma-buf.c")]
    public string DebugShow()
    {
        var s = new StringBuilder();
        s.Append("\nDma-buf Objects:\n");
        s.Append(CultureInfo.InvariantCulture, $"{"size",-8}\t{"flags",-8}\t{"mode",-8}\t{"count",-8}\texp_name\t{"ino",-8}\tname\n");
        int count = 0;
        ulong size = 0;
        foreach (var buf in _head)
        {
            var f = buf.File;
            s.Append(CultureInfo.InvariantCulture,
                $"{buf.Size:D8}\t{f.Flags:x8}\t{f.Mode:x8}\t{f.Count:D8}\t{buf.ExpName}\t{f.Inode.Ino:D8}\t{buf.Name ?? "<none>"}\n");
            buf.DescribeResv(s);
            s.Append("\tAttached Devices:\n");
            int attachCount = 0;
            foreach (var a in buf.Attachments)
            {
                s.Append('\t').Append(a.Dev.Name).Append('\n');
                attachCount++;
            }
            s.Append(CultureInfo.InvariantCulture, $"Total {attachCount} devices attached\n\n");
            count++;
            size += buf.Size;
        }
        s.Append(CultureInfo.InvariantCulture, $"\nTotal {count} objects, {size} bytes\n");
        return s.ToString();
    }
}
