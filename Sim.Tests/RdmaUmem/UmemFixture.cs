using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Lib;
using Sim.DmaBufs;
using Sim.RdmaUmem;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// An exporter whose mapping is a given DMA view (entries of page-multiple lengths at given DMA addresses, chained
/// like the kernel's tables). Optionally dynamic (pin/unpin, no cached mapping) and able to move its buffer: the new
/// view takes effect for the next map, and <c>dma_buf_move_notify</c> tells the importers. Records its op calls.
/// </summary>
public sealed class FixedTableExporter
{
    private (ulong Dma, uint Len)[] _entries;

    public FixedTableExporter((ulong Dma, uint Len)[] entries, bool dynamic)
    {
        _entries = entries;
        Ops = new DmaBufOps
        {
            CacheSgtMapping = !dynamic,
            MapDmaBuf = Map,
            UnmapDmaBuf = (a, sgt, dir) => { Calls.Add("unmap_dma_buf"); LiveTables--; sgt.Free(); },
            Release = b => Calls.Add("release"),
            Attach = (b, a) => { Calls.Add("attach"); return AttachError; },
            Detach = (b, a) => Calls.Add("detach"),
            Pin = dynamic ? a => { Calls.Add("pin"); return PinError; } : null,
            Unpin = dynamic ? a => Calls.Add("unpin") : null,
        };
    }

    public DmaBufOps Ops { get; }

    public List<string> Calls { get; } = [];

    public int AttachError { get; set; }

    public int PinError { get; set; }

    public int? MapFails { get; set; }

    public int LiveTables { get; private set; }

    public ulong Size
    {
        get
        {
            ulong s = 0;
            foreach (var e in _entries)
            {
                s += e.Len;
            }
            return s;
        }
    }

    public DmaBuf Export(DmaBufList list)
    {
        var (buf, err) = DmaBuf.Export(list, new DmaBufExportInfo { ExpName = "fixed", Ops = Ops, Size = Size, Flags = OpenFlags.O_RDWR, Priv = this });
        Assert.Equal(0, err);
        return buf!;
    }

    /// <summary>The exporter moves its buffer (same size): under the reservation lock, the new view, then move_notify.</summary>
    public void Move(DmaBuf buf, (ulong Dma, uint Len)[] entries)
    {
        Assert.Equal(0, buf.Resv.Lock(null));
        _entries = entries;
        buf.MoveNotify();
        buf.Resv.Unlock();
    }

    private (SgTable? Sgt, int Err) Map(DmaBufAttachment attach, DmaDataDirection dir)
    {
        Calls.Add("map_dma_buf");
        if (MapFails is int e)
        {
            return (null, e);
        }
        var t = new SgTable();
        Assert.Equal(0, SgTable.Alloc(t, _entries.Length, new Random(_entries.Length)));
        int k = 0;
        foreach (var c in t.Sgs())
        {
            ref var sg = ref t.At(c);
            sg.SetPage(_entries[k].Dma >> 12, _entries[k].Len, 0);
            sg.DmaAddress = _entries[k].Dma;
            sg.DmaLength = _entries[k].Len;
            k++;
        }
        t.MarkChanged();
        LiveTables++;
        return (t, 0);
    }
}

/// <summary>A machine with one process holding a dma-buf fd of a <see cref="FixedTableExporter"/>, and an ib_device.</summary>
public sealed class UmemFixture : IDisposable
{
    public UmemFixture((ulong Dma, uint Len)[] entries, bool dynamic = false)
    {
        Exporter = new FixedTableExporter(entries, dynamic);
        DmaBuf = Exporter.Export(M.List);
        Fd = DmaBuf.Fd(M.Process, OpenFlags.O_CLOEXEC);
        Assert.True(Fd >= 0);
        IbDev = new IbDevice(new Device("ib0"));
    }

    public TestMachine M { get; } = TestMachine.Create();

    public FixedTableExporter Exporter { get; }

    public DmaBuf DmaBuf { get; }

    public int Fd { get; }

    public IbDevice IbDev { get; }

    public static readonly DmaBufAttachOps NoopOps = new() { MoveNotify = _ => { } };

    /// <summary>A driver's invalidate callback (as RDMA drivers register): unmap the umem's pages.</summary>
    public static readonly DmaBufAttachOps InvalidateOps = new()
    {
        MoveNotify = a => ((IbUmemDmabuf)a.ImporterPriv!).UnmapPages(),
    };

    public (IbUmemDmabuf? Umem, int Err) Get(ulong offset, ulong size, DmaBufAttachOps? ops = null, int? fd = null) =>
        IbUmemDmabuf.Get(M.List, M.Process, IbDev, offset, size, fd ?? Fd, (int)IbAccessFlags.IB_ACCESS_LOCAL_WRITE, ops ?? NoopOps);

    /// <summary>Get + map_pages under the reservation lock (asserting success), the lock dropped again.</summary>
    public IbUmemDmabuf GetMapped(ulong offset, ulong size, DmaBufAttachOps? ops = null)
    {
        var (umem, err) = Get(offset, size, ops);
        Assert.Equal(0, err);
        Locked(() => Assert.Equal(0, umem!.MapPages()));
        return umem!;
    }

    public void Locked(Action a)
    {
        Assert.Equal(0, DmaBuf.Resv.Lock(null));
        a();
        DmaBuf.Resv.Unlock();
    }

    public long FileCount => DmaBuf.File.Count;

    public static (ulong, uint)[] View(SgTable sgt)
    {
        var list = new List<(ulong, uint)>();
        foreach (var c in sgt.DmaSgs())
        {
            list.Add((sgt.At(c).DmaAddress, sgt.At(c).DmaLength));
        }
        return [.. list];
    }

    public void Dispose() => M.Dispose();
}
