using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Dma;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Xunit;

namespace Sim.Tests.Infrastructure;

/// <summary>
/// A small exporter for tests: a buffer of given page frames; <c>map_dma_buf</c> builds a real sg table (one entry per
/// page, dma-direct addresses = pfn * 4096), <c>unmap_dma_buf</c> frees it; its mmap faults in its frames.
/// Counts every op call and records them in order in <see cref="Calls"/>.
/// </summary>
public sealed class TestExporter : IVmOperations
{
    private readonly ulong[] _pfns;

    public TestExporter(ulong[] pfns, bool cacheSgtMapping = false, bool dynamic = false, bool withMmap = true)
    {
        _pfns = pfns;
        Ops = new DmaBufOps
        {
            CacheSgtMapping = cacheSgtMapping,
            MapDmaBuf = Map,
            UnmapDmaBuf = Unmap,
            Release = b => { Calls.Add("release"); Released++; },
            Attach = (b, a) => { Calls.Add("attach"); return AttachError; },
            Detach = (b, a) => Calls.Add("detach"),
            Pin = dynamic ? a => { Calls.Add("pin"); return PinError; } : null,
            Unpin = dynamic ? a => Calls.Add("unpin") : null,
            BeginCpuAccess = (b, d) => { Calls.Add("begin_cpu_access " + d); return 0; },
            EndCpuAccess = (b, d) => { Calls.Add("end_cpu_access " + d); return 0; },
            Mmap = withMmap ? (b, vma) => { Calls.Add("mmap"); vma.Ops = this; return 0; } : null,
            Vmap = (DmaBuf b, out IosysMap m) => { Calls.Add("vmap"); m = new IosysMap(0xffffc90000000000, false); return 0; },
            Vunmap = (b, m) => Calls.Add("vunmap"),
        };
    }

    public DmaBufOps Ops { get; }

    public List<string> Calls { get; } = [];

    public int AttachError { get; set; }

    public int PinError { get; set; }

    /// <summary>When set, map_dma_buf returns (null, this) (0 = a NULL return).</summary>
    public int? MapFails { get; set; }

    public int Released { get; private set; }

    public int LiveTables { get; private set; }

    public ulong Size => (ulong)_pfns.Length * 4096;

    public (DmaBuf? DmaBuf, int Err) Export(DmaBufList list, uint flags = OpenFlags.O_RDWR, string expName = "test") =>
        DmaBuf.Export(list, new DmaBufExportInfo { ExpName = expName, Ops = Ops, Size = Size, Flags = flags, Priv = this });

    private (SgTable? Sgt, int Err) Map(DmaBufAttachment attach, DmaDataDirection dir)
    {
        Calls.Add("map_dma_buf " + dir);
        if (MapFails is int e)
        {
            return (null, e);
        }
        var t = new SgTable();
        Assert.Equal(0, SgTable.Alloc(t, _pfns.Length));
        int k = 0;
        foreach (var c in t.Sgs())
        {
            ref var sg = ref t.At(c);
            sg.SetPage(_pfns[k], 4096, 0);
            sg.DmaAddress = _pfns[k] * 4096;
            sg.DmaLength = 4096;
            k++;
        }
        LiveTables++;
        return (t, 0);
    }

    private void Unmap(DmaBufAttachment attach, SgTable sgt, DmaDataDirection dir)
    {
        Calls.Add("unmap_dma_buf " + dir);
        sgt.Free();
        LiveTables--;
    }

    public long Fault(Vma vma, ulong pgoff) => pgoff < (ulong)_pfns.Length ? (long)_pfns[pgoff] : -(long)Errno.EFAULT;
}
