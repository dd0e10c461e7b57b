// Models kernel/dma/contiguous.c (Linux 6.1): the default CMA area of the DMA layer ("reserved"), reserved at
// boot from cma= / CONFIG_CMA_SIZE_MBYTES, and dma_alloc_from_contiguous / dma_release_from_contiguous.
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Sim.Core.Mm;

namespace Sim.Core.Dma;

/// <summary>
/// The DMA layer's contiguous allocator: <c>dma_contiguous_default_area</c> and the calls devices make into it.
/// Devices have no area of their own here (<c>dev_get_cma_area</c> always answers the default area).
/// </summary>
[Kernel("dma_contiguous_default_area", "kernel/dma/contiguous.c")]
public sealed class DmaContiguous
{
    /// <summary>The area's name (<c>dma_contiguous_reserve_area</c> passes "reserved").</summary>
    public const string DefaultAreaName = "reserved";

    /// <summary>ARM's lowmem ceiling with VMSPLIT_3G and the default 240 MiB vmalloc area: 0xf0000000 - PAGE_OFFSET.</summary>
    public const ulong ArmLowmemBytes = 768UL << 20;

    /// <summary>
    /// Reserves the default area for the machine (<c>dma_contiguous_reserve</c>) and takes the pages its boot
    /// users took (<see cref="MachineOptions.CmaPagesUsedAtStart"/>: the ARM DMA atomic pool).
    /// </summary>
    public DmaContiguous(MachineOptions options, KernelTrace trace)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        MaxAlignOrder = (uint)options.CmaMaxAlignOrder;
        if (TryReserve(options, out ulong basePfn, out ulong count) == 0)
        {
            DefaultArea = new Cma(DefaultAreaName, basePfn, count, 0, trace, options.Is32Bit ? 32 : 64);
            if (options.CmaPagesUsedAtStart > 0)
            {
                // atomic_pool_init -> __alloc_from_contiguous(NULL, atomic_pool_size, ...): order = get_order(size).
                ulong bytes = (ulong)options.CmaPagesUsedAtStart << Align.PAGE_SHIFT;
                uint order = Math.Min((uint)Align.GetOrder(bytes), MaxAlignOrder);
                DefaultArea.AllocAtBoot((ulong)options.CmaPagesUsedAtStart, order);
            }
        }
    }

    /// <summary>The machine's options.</summary>
    public MachineOptions Options { get; }

    /// <summary><c>CONFIG_CMA_ALIGNMENT</c>: the largest alignment order a DMA allocation asks of CMA (8).</summary>
    public uint MaxAlignOrder { get; }

    /// <summary><c>dma_contiguous_default_area</c>, or null when the machine has no CMA area.</summary>
    public Cma? DefaultArea { get; }

    /// <summary><c>dev_get_cma_area(dev)</c>: the default area (no device has its own).</summary>
    [Kernel("dev_get_cma_area", "include/linux/dma-map-ops.h")]
    public Cma? DevGetCmaArea() => DefaultArea;

    /// <summary>
    /// <c>dma_alloc_from_contiguous(dev, count, align, no_warn)</c>: <paramref name="align"/> capped at
    /// <c>CONFIG_CMA_ALIGNMENT</c>, then <c>cma_alloc</c> on the device's area. Returns the first pfn or null.
    /// </summary>
    [Kernel("dma_alloc_from_contiguous", "kernel/dma/contiguous.c")]
    public ulong? AllocFromContiguous(ulong count, uint align, bool noWarn)
    {
        if (align > MaxAlignOrder)
        {
            align = MaxAlignOrder;
        }
        var cma = DevGetCmaArea();
        return cma?.Alloc(count, align, noWarn);
    }

    /// <summary><c>dma_release_from_contiguous(dev, pages, count)</c>: false when the pages are not the area's.</summary>
    [Kernel("dma_release_from_contiguous", "kernel/dma/contiguous.c")]
    public bool ReleaseFromContiguous(ulong pfn, int count)
    {
        var cma = DevGetCmaArea();
        return cma is not null && cma.Release(pfn, unchecked((ulong)(long)count));
    }

    /// <summary>
    /// Where the machine's memblock lets <c>cma_declare_contiguous_nid</c> place an area. ARM: RAM from
    /// <see cref="MachineOptions.RamBase"/>, lowmem up to 768 MiB, pageblock_order = MAX_ORDER - 1 = 10 (4 MiB:
    /// why <c>cma=6M</c> becomes an 8 MiB area), 32-bit phys_addr_t. x86_64: RAM from 0, all of it mapped,
    /// pageblock_order = HUGETLB_PAGE_ORDER = 9 (2 MiB), 64-bit phys_addr_t.
    /// </summary>
    public static CmaMemblock Memblock(MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ulong start = options.RamBase;
        ulong end = options.RamBase + options.RamBytes;
        if (options.Is32Bit)
        {
            ulong highmem = start + Math.Min(options.RamBytes, ArmLowmemBytes);
            return new CmaMemblock(start, end, highmem, 4UL << 20, false);
        }
        end = Boot.E820Table.For(options).EndOfRam; // RAM above the PCI hole is relocated to 4 GiB
        return new CmaMemblock(start, end, end, 2UL << 20, true);
    }

    /// <summary>
    /// <c>dma_contiguous_reserve(limit)</c> → <c>dma_contiguous_reserve_area</c> → <c>cma_declare_contiguous</c> for
    /// the machine: the size from <see cref="MachineOptions.CmaBytes"/> (rounded up to a pageblock), at the
    /// header's base when it gives one (a fixed reservation), else placed as the kernel places it (ARM passes
    /// <c>arm_dma_limit</c> = 0xffffffff; x86_64 the end of the direct map). Returns 0, or -errno / -ENODEV when
    /// the machine has no CMA.
    /// </summary>
    [Kernel("dma_contiguous_reserve", "kernel/dma/contiguous.c")]
    public static int TryReserve(MachineOptions options, out ulong basePfn, out ulong count)
    {
        ArgumentNullException.ThrowIfNull(options);
        basePfn = 0;
        count = 0;
        if (options.CmaBytes is not { } size || size == 0)
        {
            return -(int)Uapi.Errno.ENODEV;
        }
        var mem = Memblock(options);
        ulong limit = options.Is32Bit ? 0xffffffffUL : 0;
        if (options.CmaBasePfn is { } fixedPfn)
        {
            return Cma.DeclareContiguous(mem, fixedPfn << Align.PAGE_SHIFT, size, limit, 0, 0, true, out basePfn, out count);
        }
        return Cma.DeclareContiguous(mem, 0, size, limit, 0, 0, false, out basePfn, out count);
    }
}
