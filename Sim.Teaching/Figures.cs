// The pictures of the tour and of `show`, as data: what a figure shows is decided here from the models' state;
// Svg.cs draws it for the HTML page and TerminalView.cs writes it as text.
namespace Sim.Teaching;

/// <summary>A picture of one aspect of the machine.</summary>
public abstract record Figure(string Caption);

/// <summary>One region of the physical address space.</summary>
/// <param name="Name">What lives there (<c>RAM</c>, <c>CMA "reserved"</c>, <c>swiotlb</c>, a buffer).</param>
/// <param name="Start">First physical address.</param>
/// <param name="End">One past the last physical address.</param>
/// <param name="Kind"><c>ram</c>, <c>cma</c>, <c>swiotlb</c>, <c>buffer</c>: picks the colour.</param>
public sealed record MemRegion(string Name, ulong Start, ulong End, string Kind);

/// <summary>The physical memory map: RAM and what is carved out of it, drawn to scale.</summary>
public sealed record MemoryMapFigure(string Caption, IReadOnlyList<MemRegion> Regions) : Figure(Caption);

/// <summary>A marked run of pages in a CMA strip (a buffer being allocated or released).</summary>
/// <param name="FirstPage">Index of the first page in the area (bitmap bit, order_per_bit 0).</param>
/// <param name="Pages">Number of pages.</param>
/// <param name="Label">What it is.</param>
public sealed record PageRun(ulong FirstPage, ulong Pages, string Label);

/// <summary>
/// A CMA area as a strip of pages: one cell per bitmap bit, set bits drawn as used. <see cref="Used"/> is the
/// area's bitmap (<c>cma-&gt;bitmap</c>) bit by bit.
/// </summary>
public sealed record CmaStripFigure(string Caption, string Name, ulong BasePfn, ulong Count, int OrderPerBit,
    IReadOnlyList<bool> Used, IReadOnlyList<PageRun> Marks) : Figure(Caption)
{
    /// <summary>Decodes the bitmap of a <c>cma_state</c> dump (bytes in address order, LSB first).</summary>
    public static bool[] DecodeBitmap(string hex, ulong bits)
    {
        ArgumentNullException.ThrowIfNull(hex);
        var used = new bool[bits];
        for (ulong k = 0; k < bits; k++)
        {
            int b = Convert.ToInt32(hex.Substring((int)(k / 8) * 2, 2), 16);
            used[k] = (b & (1 << (int)(k % 8))) != 0;
        }
        return used;
    }
}

/// <summary>One entry of a scatterlist in the DMA view (<c>for_each_sgtable_dma_sg</c>).</summary>
/// <param name="Index">Index in the DMA view.</param>
/// <param name="Pfn">Page of the CPU view (<c>sg_page</c>).</param>
/// <param name="Offset">CPU view <c>offset</c>.</param>
/// <param name="Length">CPU view <c>length</c>.</param>
/// <param name="DmaAddress"><c>sg_dma_address</c>.</param>
/// <param name="DmaLength"><c>sg_dma_len</c>.</param>
public sealed record SgEntryView(int Index, ulong Pfn, uint Offset, uint Length, ulong DmaAddress, uint DmaLength);

/// <summary>What <c>ib_umem_dmabuf_map_pages</c> did to a table: the window and the trimmed parts.</summary>
/// <param name="Address"><c>umem.address</c> (offset in the dma-buf).</param>
/// <param name="Length"><c>umem.length</c>.</param>
/// <param name="Start"><c>ALIGN_DOWN(address, PAGE_SIZE)</c>.</param>
/// <param name="End"><c>ALIGN(address + length, PAGE_SIZE)</c>.</param>
/// <param name="FirstSg">Index of <c>first_sg</c> (-1 = NULL).</param>
/// <param name="FirstSgOffset"><c>first_sg_offset</c>.</param>
/// <param name="LastSg">Index of <c>last_sg</c> (-1 = NULL).</param>
/// <param name="LastSgTrim"><c>last_sg_trim</c>.</param>
/// <param name="Nmap"><c>nmap</c>.</param>
public sealed record UmemWindowView(ulong Address, ulong Length, ulong Start, ulong End, int FirstSg, ulong FirstSgOffset,
    int LastSg, ulong LastSgTrim, uint Nmap);

/// <summary>
/// An sg_table as a row of boxes whose widths are proportional to the entries' DMA lengths, each labelled with
/// its DMA address; with a umem window, the window over the table and the parts map_pages cut off.
/// </summary>
/// <param name="Caption">The caption.</param>
/// <param name="Entries">The untrimmed entries (the table as the exporter mapped it).</param>
/// <param name="Window">The umem window, or null.</param>
public sealed record SgTableFigure(string Caption, IReadOnlyList<SgEntryView> Entries, UmemWindowView? Window) : Figure(Caption)
{
    /// <summary>Sum of the DMA lengths.</summary>
    public ulong TotalLength
    {
        get
        {
            ulong t = 0;
            foreach (var e in Entries)
            {
                t += e.DmaLength;
            }
            return t;
        }
    }
}

/// <summary>A node of a reference graph (an fd, a file, a handle, a GEM object, a dma-buf, an attachment, a fence).</summary>
/// <param name="Id">Unique id inside the figure.</param>
/// <param name="Kind"><c>process</c>, <c>fd</c>, <c>file</c>, <c>handle</c>, <c>gem</c>, <c>dmabuf</c>, <c>attachment</c>, <c>sgt</c>, <c>umem</c>, <c>fence</c>.</param>
/// <param name="Label">First line (the C type and name).</param>
/// <param name="Detail">Second line (reference counts, sizes).</param>
public sealed record RefNode(string Id, string Kind, string Label, string Detail);

/// <summary>An edge: <paramref name="From"/> holds a reference to <paramref name="To"/>.</summary>
public sealed record RefEdge(string From, string To, string Label);

/// <summary>Who holds whom: handle -&gt; GEM object -&gt; dma-buf -&gt; attachment, fds -&gt; files.</summary>
public sealed record RefGraphFigure(string Caption, IReadOnlyList<RefNode> Nodes, IReadOnlyList<RefEdge> Edges) : Figure(Caption);

/// <summary>Bytes of physical memory with the user address they were written through.</summary>
public sealed record BytesFigure(string Caption, ulong PhysAddress, ulong UserAddress, IReadOnlyList<byte> Bytes) : Figure(Caption);
