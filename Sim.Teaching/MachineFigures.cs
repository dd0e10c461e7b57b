using System.Globalization;
using Sim.Core.Boot;
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Mm;

namespace Sim.Teaching;

/// <summary>Builds figures from the models' live state (never from a copy of their logic).</summary>
public static class MachineFigures
{
    /// <summary>The CMA area's bitmap as a strip, with <paramref name="marks"/> highlighted.</summary>
    public static CmaStripFigure CmaStrip(Cma cma, string caption, params PageRun[] marks)
    {
        ArgumentNullException.ThrowIfNull(cma);
        var used = new bool[cma.BitmapMaxno];
        for (ulong k = 0; k < cma.BitmapMaxno; k++)
        {
            used[k] = cma.IsAllocated(k);
        }
        // An empty run has no bits to name (its "last bit" would underflow): it is not a mark.
        return new CmaStripFigure(caption, cma.Name, cma.BasePfn, cma.Count, cma.OrderPerBit, used, [.. marks.Where(m => m.Pages > 0)]);
    }

    /// <summary>The DMA view of <paramref name="sgt"/> (mapped entries, <c>nents</c>), optionally under a umem window.</summary>
    public static SgTableFigure SgTable(SgTable sgt, string caption, UmemWindowView? window = null) =>
        new(caption, Entries(sgt), window);

    /// <summary>The entries of the DMA view of <paramref name="sgt"/>.</summary>
    public static List<SgEntryView> Entries(SgTable sgt)
    {
        ArgumentNullException.ThrowIfNull(sgt);
        var list = new List<SgEntryView>();
        int i = 0;
        foreach (var c in sgt.DmaSgs())
        {
            ref var e = ref sgt.At(c);
            list.Add(new SgEntryView(i++, e.Pfn, e.Offset, e.Length, e.DmaAddress, e.DmaLength));
        }
        return list;
    }

    /// <summary>The machine's physical memory map: RAM, the CMA area, the swiotlb pool and <paramref name="extra"/>.</summary>
    public static MemoryMapFigure MemoryMap(MachineOptions options, PhysicalMemory memory, Cma? cma, Swiotlb? swiotlb, string caption,
        params MemRegion[] extra)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(memory);
        var regions = new List<MemRegion> { new("RAM", memory.Base, memory.Base + memory.Size, "ram") };
        if (cma is not null)
        {
            regions.Add(new MemRegion($"CMA \"{cma.Name}\"", cma.GetBase(), cma.GetBase() + cma.GetSize(), "cma"));
        }
        if (swiotlb is not null && options.DmaPath == DmaPath.Swiotlb && swiotlb.End > swiotlb.Start)
        {
            regions.Add(new MemRegion("swiotlb", swiotlb.Start, swiotlb.End, "swiotlb"));
        }
        regions.AddRange(extra);
        return new MemoryMapFigure(caption, regions);
    }

    /// <summary><c>0x7f100000</c>.</summary>
    public static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>A size as <c>1228800 (0x12c000, 300 pages)</c>.</summary>
    public static string Size(ulong bytes) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytes} ({Hex(bytes)}{(bytes % 4096 == 0 && bytes > 0 ? $", {bytes / 4096} pages" : "")})");
}
