using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.DmaBufs;
using Sim.Drm;

namespace Sim.Teaching;

/// <summary>One open fd of a process.</summary>
/// <param name="Fd">The number.</param>
/// <param name="What">What the file is (<c>/dev/dri/card0</c>, <c>dmabuf:</c>, ...).</param>
/// <param name="FileCount">The file's reference count (<c>f_count</c>).</param>
/// <param name="Detail">GEM handles of a DRM file, the dma-buf of a dma-buf file.</param>
public sealed record FdView(int Fd, string What, int FileCount, string Detail);

/// <summary>A process: pid, comm, fds and mappings.</summary>
public sealed record ProcessView(int Pid, string Comm, IReadOnlyList<FdView> Fds, IReadOnlyList<string> Mappings);

/// <summary>A dma-buf with its attachments.</summary>
public sealed record DmaBufView(ulong Ino, string ExpName, ulong Size, int FileCount, IReadOnlyList<string> Attachments);

/// <summary>A mapped sg_table of an attachment.</summary>
public sealed record MappedTableView(string Owner, IReadOnlyList<SgEntryView> Entries);

/// <summary>
/// What a live machine holds, read from its models: processes with their fds and mappings, DRM files with their
/// GEM handles, dma-bufs with their attachments and mapped tables, the CMA area; and the reference graph between
/// them. Used by <c>show</c> (after replaying a trace up to an event) and by the tour's reference pictures.
/// </summary>
public sealed class MachineView
{
    private readonly List<RefNode> _nodes = [];
    private readonly List<RefEdge> _edges = [];
    private readonly Dictionary<object, string> _ids = new(ReferenceEqualityComparer.Instance);

    /// <summary>The processes alive.</summary>
    public List<ProcessView> Processes { get; } = [];

    /// <summary>Every dma-buf of <c>db_list</c>.</summary>
    public List<DmaBufView> DmaBufs { get; } = [];

    /// <summary>Every mapped table of an attachment.</summary>
    public List<MappedTableView> Tables { get; } = [];

    /// <summary>The CMA strip, when the machine has an area.</summary>
    public CmaStripFigure? Cma { get; private set; }

    /// <summary>Live objects by type.</summary>
    public SortedDictionary<string, int> LiveByType { get; } = new(StringComparer.Ordinal);

    /// <summary>Reads the machine.</summary>
    public static MachineView Capture(IServiceProvider machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var v = new MachineView();
        foreach (var p in machine.GetRequiredService<ProcessTable>().Processes)
        {
            if (!p.Exited)
            {
                v.AddProcess(p);
            }
        }
        foreach (var buf in machine.GetRequiredService<DmaBufList>().Buffers)
        {
            v.AddDmaBuf(buf);
        }
        if (machine.GetService<DmaContiguous>()?.DefaultArea is { } cma)
        {
            v.Cma = MachineFigures.CmaStrip(cma, $"CMA area \"{cma.Name}\": {cma.UsedPages} of {cma.Count} pages used");
        }
        foreach (var o in machine.GetRequiredService<Sim.Core.Debug.LiveObjects>().Alive())
        {
            v.LiveByType[o.Type] = v.LiveByType.GetValueOrDefault(o.Type) + 1;
        }
        return v;
    }

    /// <summary>The reference graph: fd -&gt; file, handle -&gt; GEM object, dma-buf -&gt; GEM object, dma-buf -&gt; attachment -&gt; table.</summary>
    public RefGraphFigure RefGraph(string caption) => new(caption, [.. _nodes], [.. _edges]);

    private string Node(object key, string kind, string label, string detail)
    {
        if (_ids.TryGetValue(key, out var id))
        {
            return id;
        }
        id = kind + _ids.Count.ToString(CultureInfo.InvariantCulture);
        _ids.Add(key, id);
        _nodes.Add(new RefNode(id, kind, label, detail));
        return id;
    }

    private string GemNode(DrmGemObject obj) =>
        Node(obj, "gem", "drm_gem_object", $"size {MachineFigures.Hex(obj.Size)}, refcount {obj.Refcount}, handles {obj.HandleCount}");

    private string DmaBufNode(DmaBuf buf) =>
        Node(buf, "dmabuf", $"dma_buf (ino {buf.File.Inode.Ino})", $"\"{buf.ExpName}\" {MachineFigures.Hex(buf.Size)}, f_count {buf.File.Count}");

    private string HeapNode(DmaHeap heap) =>
        Node(heap, "heap", $"dma_heap {heap.Name}", $"{heap.DevPath} ({heap.Major}:{heap.Minor})");

    private string AttachmentNode(DmaBufAttachment a) =>
        Node(a, "attachment", $"attachment {a.Dev.Name}", (a.IsDynamic ? "dynamic, " : "") + (a.Sgt is { } t ? $"attach->sgt: {t.Nents} entries" : "attach->sgt NULL"));

    private void AddProcess(Process p)
    {
        var fds = new List<FdView>();
        string proc = Node(p, "process", $"{p.Comm} (pid {p.Pid})", $"{p.Files.OpenFds().Count()} fds");
        foreach (int fd in p.Files.OpenFds())
        {
            var file = p.Files.Lookup(fd)!;
            if (file.PrivateData is not (DrmFile or DmaBuf or DmaHeap))
            {
                // Consoles, logs, trace pipes: listed, but kept out of the graph.
                fds.Add(new FdView(fd, file.Name, file.Count, ""));
                continue;
            }
            string fdNode = Node((p, fd), "fd", $"fd {fd}", p.Comm);
            _edges.Add(new RefEdge(proc, fdNode, ""));
            switch (file.PrivateData)
            {
                case DrmFile drm:
                    var handles = new List<string>();
                    string df = Node(drm, "file", $"drm_file {drm.Minor.Path}", $"f_count {file.Count}");
                    _edges.Add(new RefEdge(fdNode, df, "file"));
                    foreach (var (h, slot) in drm.ObjectIdr.Entries())
                    {
                        if (slot.Obj is not { } obj)
                        {
                            continue;
                        }
                        string hn = Node((drm, h), "handle", $"handle {h}", drm.Minor.Path);
                        _edges.Add(new RefEdge(df, hn, "object_idr"));
                        _edges.Add(new RefEdge(hn, GemNode(obj), "ref"));
                        handles.Add($"handle {h} -> GEM object {MachineFigures.Hex(obj.Size)} (refcount {obj.Refcount}, handle_count {obj.HandleCount})");
                        if (obj.ImportAttach is DmaBufAttachment imp)
                        {
                            // An imported object holds the dma-buf (get_dma_buf) and its own attachment.
                            if (obj.DmaBuf is DmaBuf imported)
                            {
                                _edges.Add(new RefEdge(GemNode(obj), DmaBufNode(imported), "dma_buf (import: holds a reference)"));
                            }
                            _edges.Add(new RefEdge(GemNode(obj), AttachmentNode(imp), "import_attach"));
                        }
                        else if (obj.DmaBuf is DmaBuf exported)
                        {
                            _edges.Add(new RefEdge(GemNode(obj), DmaBufNode(exported), "dma_buf (export: no reference)"));
                        }
                    }
                    foreach (var (b, h) in drm.Prime.Members)
                    {
                        if (b is DmaBuf cached)
                        {
                            _edges.Add(new RefEdge(df, DmaBufNode(cached), $"PRIME cache (handle {h})"));
                        }
                    }
                    fds.Add(new FdView(fd, drm.Minor.Path, file.Count, handles.Count == 0 ? "no handles" : string.Join("; ", handles)));
                    break;
                case DmaHeap heap:
                    // an open /dev/dma_heap/NAME: DMA_HEAP_IOCTL_ALLOC on it makes the heap's dma-bufs
                    _edges.Add(new RefEdge(fdNode, HeapNode(heap), "file"));
                    fds.Add(new FdView(fd, heap.DevPath, file.Count, $"dma-buf heap \"{heap.Name}\""));
                    break;
                case DmaBuf buf:
                    _edges.Add(new RefEdge(fdNode, DmaBufNode(buf), "file"));
                    fds.Add(new FdView(fd, "dmabuf:" + (buf.Name ?? ""), file.Count, $"dma-buf ino {buf.File.Inode.Ino}, \"{buf.ExpName}\", {MachineFigures.Hex(buf.Size)}"));
                    break;
            }
        }
        var maps = new List<string>();
        foreach (var vma in p.Mm.Vmas)
        {
            maps.Add($"[{MachineFigures.Hex(vma.Start)}, {MachineFigures.Hex(vma.End)}) pgoff {MachineFigures.Hex(vma.PgOff)} {vma.File?.Name}");
            string vn = Node(vma, "vma", $"vma {MachineFigures.Hex(vma.Start)}", $"{MachineFigures.Hex(vma.Length)} bytes");
            _edges.Add(new RefEdge(proc, vn, "mm"));
            if (vma.PrivateData is DrmGemObject obj)
            {
                _edges.Add(new RefEdge(vn, GemNode(obj), "vm_private_data"));
            }
            else if (vma.File?.PrivateData is DmaBuf b)
            {
                _edges.Add(new RefEdge(vn, DmaBufNode(b), "vm_file"));
            }
        }
        Processes.Add(new ProcessView(p.Pid, p.Comm, fds, maps));
    }

    private void AddDmaBuf(DmaBuf buf)
    {
        string bn = DmaBufNode(buf);
        if (buf.Priv is DrmGemObject obj)
        {
            _edges.Add(new RefEdge(bn, GemNode(obj), "priv"));
        }
        else if (buf.Priv is Sim.DmaBufs.Heaps.SystemHeapBuffer sys)
        {
            // system_heap_allocate: the buffer's blocks (orders 8, 4, 0: 1 MiB, 64 KiB, 4 KiB) in its own sg_table
            var blocks = sys.SgTable.DmaSgs().Select(c => sys.SgTable.At(c).Length).GroupBy(l => l)
                .Select(g => $"{g.Count()} x {MachineFigures.Hex(g.Key)}");
            string hb = Node(sys, "heapbuf", "system_heap_buffer", $"len {MachineFigures.Hex(sys.Len)}, {string.Join(" + ", blocks)}, vmap_cnt {sys.VmapCnt}");
            _edges.Add(new RefEdge(bn, hb, "priv"));
            if (sys.Heap.Heap is { } heap)
            {
                _edges.Add(new RefEdge(hb, HeapNode(heap), "heap (exporter)"));
            }
            Tables.Add(new MappedTableView($"dma-buf ino {buf.File.Inode.Ino} system_heap_buffer sg_table", MachineFigures.Entries(sys.SgTable)));
        }
        else if (buf.Priv is Sim.DmaBufs.Heaps.CmaHeapBuffer cma)
        {
            // cma_heap_allocate: one contiguous range of the CMA area, a page array
            string hb = Node(cma, "heapbuf", "cma_heap_buffer",
                $"len {MachineFigures.Hex(cma.Len)}, pfns {MachineFigures.Hex(cma.CmaPages)}..{MachineFigures.Hex(cma.CmaPages + cma.PageCount - 1)} of CMA area {cma.Heap.Cma?.Name}, vmap_cnt {cma.VmapCnt}");
            _edges.Add(new RefEdge(bn, hb, "priv"));
            if (cma.Heap.Heap is { } heap)
            {
                _edges.Add(new RefEdge(hb, HeapNode(heap), "heap (exporter)"));
            }
        }
        foreach (var slot in buf.Resv.Slots())
        {
            var f = slot.Fence;
            string fnode = Node(f, "fence", $"dma_fence {f.Context}:{f.Seqno}", $"{slot.Usage}, {(f.SignaledBit ? "signalled" : "unsignalled")}");
            _edges.Add(new RefEdge(bn, fnode, "resv"));
        }
        var atts = new List<string>();
        int k = 0;
        foreach (var a in buf.Attachments)
        {
            string detail = a.Sgt is { } t ? $"attach->sgt: {t.Nents} entries" : "attach->sgt NULL";
            string an = AttachmentNode(a);
            _edges.Add(new RefEdge(bn, an, "attachments"));
            atts.Add($"{a.Dev.Name}{(a.IsDynamic ? " (dynamic)" : "")}: {detail}");
            if (a.Sgt is { } sgt)
            {
                Tables.Add(new MappedTableView($"dma-buf ino {buf.File.Inode.Ino} attachment {k} ({a.Dev.Name})", MachineFigures.Entries(sgt)));
            }
            k++;
        }
        DmaBufs.Add(new DmaBufView(buf.File.Inode.Ino, buf.ExpName, buf.Size, buf.File.Count, atts));
    }

    /// <summary>Adds the tables an sg replay keeps (mapped by case, first map of each buffer tag).</summary>
    public void AddReplayTables(Sim.Core.Replay.SgReplayState sg)
    {
        ArgumentNullException.ThrowIfNull(sg);
        foreach (var (c, t) in sg.MappedByCase)
        {
            Tables.Add(new MappedTableView($"dma_map_sgtable of case {c}", MachineFigures.Entries(t)));
        }
    }

    /// <summary>Entries helper for tables that are not attachments.</summary>
    public static MappedTableView Table(string owner, SgTable t) => new(owner, MachineFigures.Entries(t));
}
