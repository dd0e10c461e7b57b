// Models the umem fields that ib_umem_dmabuf_map_pages() sets (struct ib_umem_dmabuf, include/rdma/ib_umem.h,
// Linux 6.1): first_sg, first_sg_offset, last_sg, last_sg_trim, umem.sgt_append.sgt.{sgl,nents}.
using Sim.Core;
using Sim.Core.Lib;

namespace Sim.RdmaUmem;

/// <summary>
/// What <c>ib_umem_dmabuf_map_pages</c> leaves in the umem after trimming its mapped table in place, as a value
/// (both <see cref="UmemDmabufTrim.Walk"/> and <see cref="UmemDmabufTrim.Indexed"/> return it, and
/// <see cref="UmemDmabufTrim.Unmap"/> takes it back). NULL pointers are <see cref="SgCursor.Null"/> with index -1.
/// </summary>
/// <param name="FirstSg"><c>umem_dmabuf->first_sg</c>: the entry holding the window start, or NULL.</param>
/// <param name="FirstSgIndex">Index of <paramref name="FirstSg"/> in the DMA view (chain slots not counted), -1 for NULL.</param>
/// <param name="FirstSgOffset"><c>first_sg_offset</c>: bytes cut from the front of that entry (0 when NULL).</param>
/// <param name="LastSg"><c>umem_dmabuf->last_sg</c>: the entry where the walk found the window end, or NULL.</param>
/// <param name="LastSgIndex">Index of <paramref name="LastSg"/> in the DMA view, -1 for NULL.</param>
/// <param name="LastSgTrim"><c>last_sg_trim</c>: bytes cut from the end of that entry (0 when NULL).</param>
/// <param name="Nmap"><c>nmap</c>: entries counted as overlapping the window (<c>umem.sgt_append.sgt.nents</c>).</param>
/// <param name="Walked">
/// Not kernel state: entries the faithful kernel loop visits (the one it stops at included). <see cref="UmemDmabufTrim.Walk"/>
/// counts them; <see cref="UmemDmabufTrim.Indexed"/> computes the same number without visiting them.
/// </param>
/// <param name="WindowStart"><c>start = ALIGN_DOWN(umem.address, PAGE_SIZE)</c>.</param>
/// <param name="WindowEnd"><c>end = ALIGN(umem.address + umem.length, PAGE_SIZE)</c> (64-bit, wrapping).</param>
[Kernel("struct ib_umem_dmabuf", "include/rdma/ib_umem.h")]
public readonly record struct TrimResult(
    SgCursor FirstSg,
    int FirstSgIndex,
    ulong FirstSgOffset,
    SgCursor LastSg,
    int LastSgIndex,
    ulong LastSgTrim,
    uint Nmap,
    int Walked,
    ulong WindowStart,
    ulong WindowEnd)
{
    /// <summary><c>umem.sgt_append.sgt.sgl</c>: set to <c>first_sg</c> by map_pages (NULL when there is none).</summary>
    public SgCursor UmemSgl => FirstSg;

    /// <summary><c>umem.sgt_append.sgt.nents</c>: set to <c>nmap</c> by map_pages.</summary>
    public uint UmemNents => Nmap;

    /// <summary>True when map_pages recorded a first entry.</summary>
    public bool HasFirst => FirstSgIndex >= 0;

    /// <summary>True when map_pages recorded a last entry.</summary>
    public bool HasLast => LastSgIndex >= 0;

    /// <inheritdoc/>
    public override string ToString() =>
        $"first_sg={FirstSgIndex} first_sg_offset={FirstSgOffset} last_sg={LastSgIndex} last_sg_trim={LastSgTrim} " +
        $"nmap={Nmap} walked={Walked} window=[0x{WindowStart:x}, 0x{WindowEnd:x})";
}
