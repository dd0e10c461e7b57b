// Models struct ib_umem and its helpers (include/rdma/ib_umem.h, drivers/infiniband/core/umem.c, Linux 6.1):
// ib_umem_offset, ib_umem_dma_offset, ib_umem_num_dma_blocks, ib_umem_num_pages, ib_umem_find_best_pgsz,
// ib_umem_release; and the DMA block iterator (include/rdma/iter.h, drivers/infiniband/core/iter.c):
// __rdma_block_iter_start/next, rdma_umem_for_each_dma_block.
using System.Numerics;
using System.Runtime.CompilerServices;
using Sim.Core;
using Sim.Core.Lib;

namespace Sim.RdmaUmem;

/// <summary>
/// <c>struct ib_umem</c>: a registered memory region's window (<see cref="Address"/>, <see cref="Length"/>), its
/// <see cref="Iova"/> (set by <see cref="FindBestPgsz"/>), and <see cref="SgtAppend"/>, whose <c>sgt</c> is the DMA
/// view the driver programs. For a dma-buf umem that table is a view into the dma-buf's mapped table:
/// <c>sgl</c> = <c>first_sg</c>, <c>nents</c> = <c>nmap</c> (set by <c>ib_umem_dmabuf_map_pages</c>); it shares the
/// mapped table's chunks and owns none.
/// </summary>
[Kernel("struct ib_umem", "include/rdma/ib_umem.h")]
public sealed class IbUmem
{
    internal IbUmem(IbDevice ibdev) => IbDev = ibdev;

    /// <summary><c>ibdev</c>.</summary>
    public IbDevice IbDev { get; }

    /// <summary><c>iova</c>: 0 from <c>kzalloc</c> until <see cref="FindBestPgsz"/> sets it to <c>virt</c>.</summary>
    public ulong Iova { get; set; }

    /// <summary><c>length</c> (size_t).</summary>
    public ulong Length { get; internal set; }

    /// <summary><c>address</c>: for a dma-buf umem, the byte offset of the window inside the dma-buf.</summary>
    public ulong Address { get; internal set; }

    /// <summary><c>writable</c> (<see cref="IbVerbs.AccessWritable"/> of the access flags).</summary>
    public bool Writable { get; internal set; }

    /// <summary><c>is_odp</c> (on-demand paging umems are not modelled: always false).</summary>
    public bool IsOdp => false;

    /// <summary><c>is_dmabuf</c>.</summary>
    public bool IsDmabuf { get; internal set; }

    /// <summary><c>sgt_append</c>: the umem's table (for a dma-buf umem, the view described above).</summary>
    public SgAppendTable SgtAppend { get; } = new();

    /// <summary>The <c>struct ib_umem_dmabuf</c> this umem is embedded in (<c>to_ib_umem_dmabuf</c>), or null.</summary>
    internal IbUmemDmabuf? Dmabuf { get; set; }

    /// <summary><c>to_ib_umem_dmabuf</c> (container_of): the dma-buf umem this one is part of (null for others).</summary>
    [Kernel("to_ib_umem_dmabuf", "include/rdma/ib_umem.h")]
    public IbUmemDmabuf? ToIbUmemDmabuf() => Dmabuf;

    /// <summary><c>ib_umem_offset</c>: the offset of the umem start in its first page (<c>address &amp; ~PAGE_MASK</c>).</summary>
    [Kernel("ib_umem_offset", "include/rdma/ib_umem.h")]
    public int Offset => (int)(Address & (Align.PAGE_SIZE - 1));

    /// <summary>
    /// <c>ib_umem_dma_offset</c>: <c>(sg_dma_address(sgl) + ib_umem_offset) &amp; (pgsz - 1)</c>, the umem start's
    /// offset inside its <paramref name="pgsz"/> block of DMA space.
    /// </summary>
    [Kernel("ib_umem_dma_offset", "include/rdma/ib_umem.h")]
    public ulong DmaOffset(ulong pgsz)
    {
        var sgt = SgtAppend.Sgt;
        return unchecked(sgt.At(sgt.Sgl).DmaAddress + (ulong)Offset) & (pgsz - 1);
    }

    /// <summary>
    /// <c>ib_umem_num_dma_blocks</c>: <c>(ALIGN(iova + length, pgsz) - ALIGN_DOWN(iova, pgsz)) / pgsz</c> in 64-bit
    /// wrapping arithmetic (note: over <see cref="Iova"/>, not <see cref="Address"/>).
    /// </summary>
    [Kernel("ib_umem_num_dma_blocks", "include/rdma/ib_umem.h")]
    public ulong NumDmaBlocks(ulong pgsz)
    {
        ulong end = unchecked(Iova + Length + pgsz - 1) & ~(pgsz - 1);
        ulong start = Iova & ~(pgsz - 1);
        return unchecked(end - start) / pgsz;
    }

    /// <summary><c>ib_umem_num_pages</c>: <see cref="NumDmaBlocks"/> of <c>PAGE_SIZE</c>.</summary>
    [Kernel("ib_umem_num_pages", "include/rdma/ib_umem.h")]
    public ulong NumPages => NumDmaBlocks(Align.PAGE_SIZE);

    /// <summary>
    /// <c>ib_umem_find_best_pgsz(umem, pgsz_bitmap, virt)</c>: the largest page size of
    /// <paramref name="pgszBitmap"/> with which the HW can map the umem at IOVA <paramref name="virt"/> using one
    /// page size, or 0 when none fits. Sets <see cref="Iova"/> to <paramref name="virt"/> first. The kernel's rule:
    /// the mask collects the VA bits that change over the region (<c>bits_per(virt ^ last_va)</c>), the bits in which
    /// each discontiguous DMA run's start (plus the first page offset) differs from the VA it maps, and the VA of
    /// every discontinuity after the first entry; page sizes above its lowest set bit are dropped; the answer is the
    /// largest remaining one. An <c>length - 1 + virt</c> overflow gives 0.
    /// </summary>
    [Kernel("ib_umem_find_best_pgsz", "drivers/infiniband/core/umem.c")]
    public ulong FindBestPgsz(ulong pgszBitmap, ulong virt)
    {
        ulong currLen = 0;
        ulong currBase = ulong.MaxValue;
        ulong mask = 0;
        ulong va = virt;
        Iova = virt;

        // The best result is the smallest page size that results in the minimum number of required pages. Compute
        // the largest page size that could work based on VA address bits that don't change.
        ulong lastVa = unchecked(Length - 1 + virt);
        if (lastVa < virt)
        {
            return 0;
        }
        int bits = BitsPer(virt ^ lastVa);
        if (bits < 64)
        {
            mask = pgszBitmap & ~((1UL << bits) - 1);
        }

        // offset into first SGL
        ulong pgoff = Address & (Align.PAGE_SIZE - 1);
        var sgt = SgtAppend.Sgt;
        var sg = sgt.Sgl;
        for (int i = 0; i < sgt.Nents && !sg.IsNull; i++, sg = sgt.Next(sg))
        {
            ref Scatterlist e = ref sgt.At(sg);
            // If the current entry is physically contiguous with the previous one, no need to take its start
            // addresses into consideration.
            ulong end = unchecked(currBase + currLen);
            if (end < currBase || end != e.DmaAddress)
            {
                currBase = e.DmaAddress;
                currLen = 0;
                // Reduce max page size if VA/PA bits differ.
                mask |= unchecked(currBase + pgoff) ^ va;
                // The alignment of any VA matching a discontinuity point in the physical memory sets the maximum
                // possible page size as this must be a starting point of a new page that needs to be aligned.
                if (i != 0)
                {
                    mask |= va;
                }
            }
            currLen = unchecked(currLen + e.DmaLength);
            va = unchecked(va + e.DmaLength - pgoff);
            pgoff = 0;
        }

        // The mask accumulates 1's in each position where the VA and physical address differ, thus the length of
        // trailing 0 is the largest page size that can pass the VA through to the physical.
        if (mask != 0)
        {
            int tz = BitOperations.TrailingZeroCount(mask);
            pgszBitmap &= tz == 63 ? ulong.MaxValue : (1UL << (tz + 1)) - 1;
        }
        return pgszBitmap != 0 ? 1UL << (63 - BitOperations.LeadingZeroCount(pgszBitmap)) : 0;
    }

    /// <summary><c>bits_per(n)</c> (include/linux/log2.h): bits needed to represent n; 1 for 0 and 1.</summary>
    [Kernel("bits_per", "include/linux/log2.h")]
    public static int BitsPer(ulong n) => n < 2 ? 1 : 64 - BitOperations.LeadingZeroCount(n);

    /// <summary>
    /// <c>__rdma_umem_block_iter_start</c>: an iterator over the umem's DMA view in blocks of <paramref name="pgsz"/>
    /// (<c>pgsz</c> &lt;= PAGE_SIZE or a result of <see cref="FindBestPgsz"/>), starting
    /// <c>ib_umem_offset &amp; ~(pgsz - 1)</c> into the first entry, limited to <see cref="NumDmaBlocks"/> blocks.
    /// </summary>
    [Kernel("__rdma_umem_block_iter_start", "include/rdma/iter.h")]
    public IbBlockIter BlockIterStart(ulong pgsz)
    {
        var biter = IbBlockIter.Start(SgtAppend.Sgt, SgtAppend.Sgt.Sgl, (uint)SgtAppend.Sgt.Nents, pgsz);
        biter.SgAdvance = (uint)((ulong)Offset & ~(pgsz - 1));
        biter.SgNumBlocks = NumDmaBlocks(pgsz);
        return biter;
    }

    /// <summary>
    /// <c>rdma_umem_for_each_dma_block(umem, biter, pgsz)</c>: the aligned DMA address of every block
    /// (<c>rdma_block_iter_dma_address</c>), exactly <see cref="NumDmaBlocks"/> of them when the table covers the
    /// window. Appends to <paramref name="blocks"/> and returns how many were added.
    /// </summary>
    [Kernel("rdma_umem_for_each_dma_block", "include/rdma/iter.h")]
    public int ForEachDmaBlock(ulong pgsz, List<ulong> blocks)
    {
        int n = 0;
        var biter = BlockIterStart(pgsz);
        while (biter.UmemNext())
        {
            blocks.Add(biter.DmaAddress);
            n++;
        }
        return n;
    }

    /// <summary>
    /// <c>ib_umem_release</c>: a NULL umem does nothing; a dma-buf umem goes to <c>ib_umem_dmabuf_release</c>. (Umems
    /// of pinned user pages, <c>ib_umem_get</c>, and ODP umems are not modelled.)
    /// </summary>
    [Kernel("ib_umem_release", "drivers/infiniband/core/umem.c")]
    public static void Release(IbUmem? umem)
    {
        if (umem is null)
        {
            return;
        }
        if (umem.IsDmabuf)
        {
            umem.ToIbUmemDmabuf()!.Release();
            return;
        }
        throw new NotSupportedException("ib_umem_release of a non-dma-buf umem: ib_umem_get is not modelled");
    }
}

/// <summary>
/// <c>struct ib_block_iter</c> (include/rdma/iter.h): walks a DMA-mapped list in blocks aligned to a HW page size;
/// the fields are the kernel's internal state.
/// </summary>
[Kernel("struct ib_block_iter", "include/rdma/iter.h")]
public struct IbBlockIter
{
    private SgTable _table;

    /// <summary><c>__sg</c>: the entry holding the current block (NULL at the end).</summary>
    public SgCursor Sg;

    /// <summary><c>__dma_addr</c>: the unaligned DMA address of this block.</summary>
    public ulong DmaAddr;

    /// <summary><c>__sg_numblocks</c>: blocks left (the umem iterator only).</summary>
    public ulong SgNumBlocks;

    /// <summary><c>__sg_nents</c>: entries left.</summary>
    public uint SgNents;

    /// <summary><c>__sg_advance</c>: bytes into <see cref="Sg"/> where the next block starts.</summary>
    public uint SgAdvance;

    /// <summary><c>__pg_bit</c>: log2 of the block size.</summary>
    public int PgBit;

    /// <summary><c>__rdma_block_iter_start</c>: zeroed, at <paramref name="sglist"/>, <c>__pg_bit = __fls(pgsz)</c>.</summary>
    [Kernel("__rdma_block_iter_start", "drivers/infiniband/core/iter.c")]
    public static IbBlockIter Start(SgTable table, SgCursor sglist, uint nents, ulong pgsz) => new()
    {
        _table = table,
        Sg = sglist,
        SgNents = nents,
        PgBit = 63 - BitOperations.LeadingZeroCount(pgsz),
    };

    /// <summary><c>rdma_block_iter_dma_address</c>: the block's DMA address aligned down to the block size.</summary>
    [Kernel("rdma_block_iter_dma_address", "include/rdma/iter.h")]
    public readonly ulong DmaAddress => DmaAddr & ~((1UL << PgBit) - 1);

    /// <summary>
    /// <c>__rdma_block_iter_next</c>: false at the end; otherwise the block starts at the entry's address plus the
    /// advance, and the iterator moves on by what is left of the block, over every entry that ends inside it.
    /// </summary>
    [Kernel("__rdma_block_iter_next", "drivers/infiniband/core/iter.c")]
    public bool Next()
    {
        if (SgNents == 0 || Sg.IsNull)
        {
            return false;
        }
        DmaAddr = unchecked(_table.At(Sg).DmaAddress + SgAdvance);
        ulong blockOffset = DmaAddr & ((1UL << PgBit) - 1);
        ulong delta = (1UL << PgBit) - blockOffset;
        while (SgNents != 0 && !Sg.IsNull && unchecked(_table.At(Sg).DmaLength - SgAdvance) <= delta)
        {
            delta -= unchecked(_table.At(Sg).DmaLength - SgAdvance);
            SgAdvance = 0;
            Sg = _table.Next(Sg);
            SgNents--;
        }
        SgAdvance = unchecked(SgAdvance + (uint)delta);
        return true;
    }

    /// <summary><c>__rdma_umem_block_iter_next</c>: <see cref="Next"/> and <c>__sg_numblocks--</c> (post-decrement).</summary>
    [Kernel("__rdma_umem_block_iter_next", "include/rdma/iter.h")]
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool UmemNext() => Next() && SgNumBlocks-- != 0;
}
