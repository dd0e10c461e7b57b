// Models kernel/dma/swiotlb.c (Linux 6.1): the bounce pool (2 KiB slots in 128-slot segments), slot search
// with the device's segment boundary, swiotlb_map's mask check after choosing the slot, and the bounce copies.
using Sim.Core.Boot;
using Sim.Core.Lib;

namespace Sim.Core.Dma;

/// <summary>
/// <c>struct io_tlb_mem</c> with one area (one vCPU): <c>nslabs</c> slots of <see cref="IO_TLB_SIZE"/> bytes from
/// <see cref="Start"/>; each slot's <c>list</c> counts the free slots from it to the end of its
/// <see cref="IO_TLB_SEGSIZE"/>-slot segment, so no mapping exceeds 128 slots = 256 KiB. A machine without
/// a pool has <see cref="NSlabs"/> 0 (<c>is_swiotlb_active</c> false).
/// </summary>
[Kernel("struct io_tlb_mem", "kernel/dma/swiotlb.c")]
public sealed class Swiotlb
{
    /// <summary><c>IO_TLB_SHIFT</c>.</summary>
    public const int IO_TLB_SHIFT = 11;

    /// <summary><c>IO_TLB_SIZE</c>: 2 KiB per slot.</summary>
    public const ulong IO_TLB_SIZE = 1UL << IO_TLB_SHIFT;

    /// <summary><c>IO_TLB_SEGSIZE</c>: at most 128 contiguous slots per mapping.</summary>
    public const int IO_TLB_SEGSIZE = 128;

    private const ulong INVALID_PHYS_ADDR = ulong.MaxValue;

    private readonly int[] _list;
    private readonly ulong[] _origAddr;
    private readonly ulong[] _allocSize;
    private readonly PhysicalMemoryAccess? _memory;
    private int _areaIndex;

    /// <summary>The machine's pool: present when <see cref="MachineOptions.DmaPath"/> is <see cref="DmaPath.Swiotlb"/>.</summary>
    public Swiotlb(MachineOptions options, Mm.PhysicalMemory memory)
        : this(PoolFor(options, memory), options.DmaPath == DmaPath.Swiotlb, memory)
    {
    }

    /// <summary>A pool at <paramref name="pool"/> (null: no pool), bouncing through <paramref name="memory"/> when given.</summary>
    public Swiotlb((ulong Base, ulong Size)? pool, bool forceBounce, Mm.PhysicalMemory? memory = null)
    {
        if (pool is { } p)
        {
            Start = p.Base;
            NSlabs = (int)(p.Size >> IO_TLB_SHIFT);
        }
        End = Start + ((ulong)NSlabs << IO_TLB_SHIFT);
        ForceBounce = forceBounce && NSlabs > 0;
        _list = new int[NSlabs];
        _origAddr = new ulong[NSlabs];
        _allocSize = new ulong[NSlabs];
        for (int i = 0; i < NSlabs; i++)
        {
            _list[i] = IO_TLB_SEGSIZE - (i & (IO_TLB_SEGSIZE - 1));
            _origAddr[i] = INVALID_PHYS_ADDR;
        }
        _memory = memory is null ? null : new PhysicalMemoryAccess(memory);
    }

    /// <summary>
    /// Where the machine's pool lives: the header's <c>machine_config.swiotlb</c> base/size, or (for
    /// <c>swiotlb=force</c> without one) the top of memory below 4 GiB, as <c>memblock_alloc_low</c> places it.
    /// </summary>
    public static (ulong Base, ulong Size)? PoolFor(MachineOptions options, Mm.PhysicalMemory memory)
    {
        if (options.DmaPath != DmaPath.Swiotlb)
        {
            return null;
        }
        ulong size = Align.Down(Math.Min(options.SwiotlbBytes, memory.Size / 2), IO_TLB_SIZE * IO_TLB_SEGSIZE);
        if (options.SwiotlbBase is { } b && memory.Contains(b, size))
        {
            return (b, size);
        }
        ulong top = Math.Min(memory.Base + memory.Size, 4UL << 30);
        if (!options.Is32Bit)
        {
            // memblock_alloc_low: below 4 GiB means below the PCI hole, in the RAM that stayed there.
            top = Math.Min(top, Boot.E820Table.For(options).BelowFourG);
        }
        return (Align.Down(top - size, 2UL << 20), size);
    }

    /// <summary><c>mem-&gt;start</c>.</summary>
    public ulong Start { get; }

    /// <summary><c>mem-&gt;end</c>.</summary>
    public ulong End { get; }

    /// <summary><c>mem-&gt;nslabs</c>.</summary>
    public int NSlabs { get; }

    /// <summary><c>mem-&gt;force_bounce</c> (<c>swiotlb=force</c>).</summary>
    public bool ForceBounce { get; }

    /// <summary>Slots in use (<c>mem_used</c>).</summary>
    public int Used { get; private set; }

    /// <summary><c>is_swiotlb_active</c>.</summary>
    [Kernel("is_swiotlb_active", "kernel/dma/swiotlb.c")]
    public bool IsActive => NSlabs > 0;

    /// <summary><c>is_swiotlb_buffer(dev, paddr)</c>.</summary>
    [Kernel("is_swiotlb_buffer", "include/linux/swiotlb.h")]
    public bool IsSwiotlbBuffer(ulong paddr) => NSlabs > 0 && paddr >= Start && paddr < End;

    /// <summary><c>swiotlb_max_mapping_size</c>: 256 KiB less the device's minimum alignment.</summary>
    [Kernel("swiotlb_max_mapping_size", "kernel/dma/swiotlb.c")]
    public static ulong MaxMappingSize(Device dev)
    {
        uint minAlignMask = dev.DmaParms?.MinAlignMask ?? 0;
        ulong minAlign = minAlignMask != 0 ? Align.Up(minAlignMask, IO_TLB_SIZE) : 0;
        return IO_TLB_SIZE * IO_TLB_SEGSIZE - minAlign;
    }

    /// <summary>
    /// <c>swiotlb_map(dev, paddr, size, dir, attrs)</c>: bounces [paddr, +size) into free slots and returns their
    /// DMA address; the slot is chosen first and then checked against the device's mask and bus limit
    /// (<c>dma_capable</c>): if it does not fit, the slots are released and <c>DMA_MAPPING_ERROR</c> returned.
    /// </summary>
    [Kernel("swiotlb_map", "kernel/dma/swiotlb.c")]
    public ulong Map(Device dev, ulong paddr, ulong size, DmaDataDirection dir, ulong attrs)
    {
        ulong tlb = TblMapSingle(dev, paddr, size, size, 0, dir, attrs);
        if (tlb == DmaAttrs.DMA_MAPPING_ERROR)
        {
            return DmaAttrs.DMA_MAPPING_ERROR;
        }
        ulong dmaAddr = tlb;
        if (!DmaDirect.DmaCapable(dev, dmaAddr, size))
        {
            TblUnmapSingle(dev, tlb, size, dir, attrs | DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
            return DmaAttrs.DMA_MAPPING_ERROR;
        }
        return dmaAddr;
    }

    /// <summary><c>swiotlb_tbl_map_single</c>: finds slots and copies the data in (<c>DMA_TO_DEVICE</c> bounce, always).</summary>
    [Kernel("swiotlb_tbl_map_single", "kernel/dma/swiotlb.c")]
    public ulong TblMapSingle(Device dev, ulong origAddr, ulong mappingSize, ulong allocSize, uint allocAlignMask, DmaDataDirection dir, ulong attrs)
    {
        _ = dir;
        _ = attrs;
        if (NSlabs == 0 || mappingSize > allocSize)
        {
            return DmaAttrs.DMA_MAPPING_ERROR;
        }
        uint offset = AlignOffset(dev, origAddr);
        int index = FindSlots(dev, origAddr, allocSize + offset, allocAlignMask);
        if (index < 0)
        {
            return DmaAttrs.DMA_MAPPING_ERROR;
        }
        int n = NrSlots(allocSize + offset);
        for (int i = 0; i < n; i++)
        {
            _origAddr[index + i] = origAddr + ((ulong)i << IO_TLB_SHIFT);
        }
        ulong tlbAddr = SlotAddr(Start, index) + offset;
        _memory?.Copy(tlbAddr, origAddr, mappingSize);
        return tlbAddr;
    }

    /// <summary><c>swiotlb_tbl_unmap_single</c>: copies back for FROM_DEVICE/BIDIRECTIONAL (unless SKIP_CPU_SYNC) and frees the slots.</summary>
    [Kernel("swiotlb_tbl_unmap_single", "kernel/dma/swiotlb.c")]
    public void TblUnmapSingle(Device dev, ulong tlbAddr, ulong mappingSize, DmaDataDirection dir, ulong attrs)
    {
        uint offset = AlignOffset(dev, tlbAddr);
        int index = (int)((tlbAddr - offset - Start) >> IO_TLB_SHIFT);
        ulong orig = _origAddr[index];
        if ((attrs & DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC) == 0 && orig != INVALID_PHYS_ADDR &&
            dir is DmaDataDirection.DMA_FROM_DEVICE or DmaDataDirection.DMA_BIDIRECTIONAL)
        {
            _memory?.Copy(orig + (tlbAddr - offset - SlotAddr(Start, index)) + offset, tlbAddr, mappingSize);
        }
        ReleaseSlots(dev, tlbAddr);
    }

    /// <summary><c>swiotlb_sync_single_for_cpu</c>: copies the bounce buffer back for FROM_DEVICE/BIDIRECTIONAL.</summary>
    [Kernel("swiotlb_sync_single_for_cpu", "kernel/dma/swiotlb.c")]
    public void SyncSingleForCpu(ulong tlbAddr, ulong size, DmaDataDirection dir)
    {
        int index = (int)((tlbAddr - Start) >> IO_TLB_SHIFT);
        ulong orig = _origAddr[index];
        if (orig != INVALID_PHYS_ADDR && dir is DmaDataDirection.DMA_FROM_DEVICE or DmaDataDirection.DMA_BIDIRECTIONAL)
        {
            _memory?.Copy(orig + ((tlbAddr - Start) & (IO_TLB_SIZE - 1)), tlbAddr, size);
        }
    }

    /// <summary><c>swiotlb_sync_single_for_device</c>: copies the original into the bounce buffer for TO_DEVICE/BIDIRECTIONAL.</summary>
    [Kernel("swiotlb_sync_single_for_device", "kernel/dma/swiotlb.c")]
    public void SyncSingleForDevice(ulong tlbAddr, ulong size, DmaDataDirection dir)
    {
        int index = (int)((tlbAddr - Start) >> IO_TLB_SHIFT);
        ulong orig = _origAddr[index];
        if (orig != INVALID_PHYS_ADDR && dir is DmaDataDirection.DMA_TO_DEVICE or DmaDataDirection.DMA_BIDIRECTIONAL)
        {
            _memory?.Copy(tlbAddr, orig + ((tlbAddr - Start) & (IO_TLB_SIZE - 1)), size);
        }
    }

    private static uint AlignOffset(Device dev, ulong addr) =>
        (uint)(addr & (dev.DmaParms?.MinAlignMask ?? 0) & (IO_TLB_SIZE - 1));

    private static int NrSlots(ulong val) => (int)Align.DivRoundUp(val, IO_TLB_SIZE);

    private static ulong SlotAddr(ulong start, long idx) => start + ((ulong)idx << IO_TLB_SHIFT);

    private int WrapAreaIndex(int index) => index >= NSlabs ? 0 : index;

    /// <summary><c>iommu_is_span_boundary(index, nr, shift, boundary_size)</c>.</summary>
    [Kernel("iommu_is_span_boundary", "include/linux/iommu-helper.h")]
    private static bool IsSpanBoundary(ulong index, ulong nr, ulong shift, ulong boundarySize)
    {
        shift = (shift + index) & (boundarySize - 1);
        return shift + nr > boundarySize;
    }

    /// <summary><c>swiotlb_do_find_slots</c> (one area): first fit from the area's rolling index, page-aligned for allocations of a page or more.</summary>
    [Kernel("swiotlb_do_find_slots", "kernel/dma/swiotlb.c")]
    private int FindSlots(Device dev, ulong origAddr, ulong allocSize, uint allocAlignMask)
    {
        ulong boundaryMask = DmaMapping.GetSegBoundary(dev);
        ulong tblDmaAddr = Start & boundaryMask;
        ulong maxSlots = boundaryMask == ulong.MaxValue ? 1UL << (64 - IO_TLB_SHIFT) : Align.DivRoundUp(boundaryMask + 1, IO_TLB_SIZE);
        uint iotlbAlignMask = dev.DmaParms?.MinAlignMask ?? 0;
        int nslots = NrSlots(allocSize);
        KernelBugOn(nslots == 0, "swiotlb: nslots 0");
        allocAlignMask |= (uint)(IO_TLB_SIZE - 1);
        iotlbAlignMask &= ~allocAlignMask;
        int stride = (int)(iotlbAlignMask >> IO_TLB_SHIFT) + 1;
        if (allocSize >= Align.PAGE_SIZE)
        {
            stride = Math.Max(stride, stride << (Align.PAGE_SHIFT - IO_TLB_SHIFT));
        }
        stride = Math.Max(stride, (int)(allocAlignMask >> IO_TLB_SHIFT) + 1);
        if (nslots > NSlabs - Used)
        {
            return -1;
        }
        int index, wrap;
        index = wrap = WrapAreaIndex((int)Align.Up((ulong)_areaIndex, (ulong)stride));
        do
        {
            int slotIndex = index;
            if (origAddr != 0 && (SlotAddr(tblDmaAddr, slotIndex) & iotlbAlignMask) != (origAddr & iotlbAlignMask))
            {
                index = WrapAreaIndex(index + 1);
                continue;
            }
            if (!IsSpanBoundary((ulong)slotIndex, (ulong)nslots, NrSlotsU(tblDmaAddr), maxSlots) && _list[slotIndex] >= nslots)
            {
                for (int i = slotIndex; i < slotIndex + nslots; i++)
                {
                    _list[i] = 0;
                    _allocSize[i] = allocSize - (((ulong)(i - slotIndex)) << IO_TLB_SHIFT);
                }
                int count = 0;
                for (int i = slotIndex - 1; i >= 0 && (i & (IO_TLB_SEGSIZE - 1)) != IO_TLB_SEGSIZE - 1 && _list[i] != 0; i--)
                {
                    _list[i] = ++count;
                }
                _areaIndex = index + nslots < NSlabs ? index + nslots : 0;
                Used += nslots;
                return slotIndex;
            }
            index = WrapAreaIndex(index + stride);
        }
        while (index != wrap);
        return -1;
    }

    private static ulong NrSlotsU(ulong val) => Align.DivRoundUp(val, IO_TLB_SIZE);

    /// <summary><c>swiotlb_release_slots</c>: returns the slots and merges the free counts with the neighbours in the segment.</summary>
    [Kernel("swiotlb_release_slots", "kernel/dma/swiotlb.c")]
    private void ReleaseSlots(Device dev, ulong tlbAddr)
    {
        uint offset = AlignOffset(dev, tlbAddr);
        int index = (int)((tlbAddr - offset - Start) >> IO_TLB_SHIFT);
        int nslots = NrSlots(_allocSize[index] + offset);
        int count = index + nslots < (int)Align.Up((ulong)index + 1, IO_TLB_SEGSIZE) ? _list[index + nslots] : 0;
        for (int i = index + nslots - 1; i >= index; i--)
        {
            _list[i] = ++count;
            _origAddr[i] = INVALID_PHYS_ADDR;
            _allocSize[i] = 0;
        }
        for (int i = index - 1; i >= 0 && (i & (IO_TLB_SEGSIZE - 1)) != IO_TLB_SEGSIZE - 1 && _list[i] != 0; i--)
        {
            _list[i] = ++count;
        }
        Used -= nslots;
    }

    private static void KernelBugOn(bool c, string what) => Debug.KernelBugException.On(c, what);

    /// <summary>Copies between physical ranges only where both lie in RAM (a bounce of a frame outside RAM copies nothing).</summary>
    private sealed class PhysicalMemoryAccess(Mm.PhysicalMemory memory)
    {
        public void Copy(ulong dst, ulong src, ulong length)
        {
            if (length > 0 && memory.Contains(dst, length) && memory.Contains(src, length))
            {
                memory.Copy(dst, src, length);
            }
        }
    }
}
