// A seam for vmalloc_user/vfree (mm/vmalloc.c) until the vmalloc model lands: the size checks of
// __vmalloc_node_range with their reports, and zeroed page frames for the area.
using Sim.Core.Boot;
using Sim.Core.Kernel;

namespace Sim.Core.Mm;

/// <summary>A vmalloc area (<c>struct vm_struct</c>): its kernel address, page-aligned size and page frames.</summary>
[Kernel("struct vm_struct", "include/linux/vmalloc.h")]
public sealed class VmArea(ulong addr, ulong size, ulong[] pfns)
{
    /// <summary>VM_USERMAP (the area may be mapped to user space by remap_vmalloc_range).</summary>
    public const ulong VM_USERMAP = 0x8;

    /// <summary><c>addr</c>.</summary>
    public ulong Addr { get; } = addr;

    /// <summary><c>get_vm_area_size</c>: the mapped size without the guard page.</summary>
    public ulong Size { get; } = size;

    /// <summary>The frames, one per page (<c>vmalloc_to_page</c> of page k is frame <c>Pfns[k]</c>).</summary>
    public ulong[] Pfns { get; } = pfns;

    /// <summary><c>flags</c>.</summary>
    public ulong Flags { get; init; }
}

/// <summary>What kvmfr and others need of vmalloc: <c>vmalloc_user</c> and <c>vfree</c>.</summary>
public interface IVmalloc
{
    /// <summary><c>vmalloc_user(size)</c>: a zeroed, user-mappable area, or null.</summary>
    VmArea? VmallocUser(ulong size);

    /// <summary><c>vfree(addr)</c>.</summary>
    void Vfree(VmArea area);
}

/// <summary>
/// The interim vmalloc: <c>__vmalloc_node_range</c>'s checks in its order (<c>WARN_ON_ONCE(!size)</c> at
/// mm/vmalloc.c:3227, then "vmalloc error: size %lu, exceeds total pages" through <c>warn_alloc</c> when
/// <c>size &gt;&gt; PAGE_SHIFT &gt; totalram_pages()</c>), then zeroed order-0 pages from the buddy allocator
/// (returned by vfree). totalram_pages is the machine's RAM less the
/// reserved pages: on the traced x86_64 QEMU <c>pc</c> machine with 1 GiB, 262014 pages RAM and 16078
/// reserved (its Mem-Info dump), i.e. 245936; other sizes are scaled from that.
/// </summary>
[Kernel("__vmalloc_node_range", "mm/vmalloc.c")]
public sealed class SeamVmalloc(MachineOptions options, Bug bug, WarnAlloc warnAlloc, PageAlloc pageAlloc) : IVmalloc
{
    private const ulong PAGE_SIZE = 4096;
    private ulong _nextAddr = 0xffffc90000000000UL;

    /// <summary><c>totalram_pages()</c>.</summary>
    public ulong TotalRamPages => (options.RamBytes >> 12) * 245936UL / 262144UL;

    /// <inheritdoc/>
    [Kernel("vmalloc_user", "mm/vmalloc.c")]
    public VmArea? VmallocUser(ulong size)
    {
        const uint gfp = GfpFormat.GFP_KERNEL | GfpFormat.__GFP_ZERO;
        if (bug.WarnOnOnce(size == 0, "mm/vmalloc.c", 3227, "__vmalloc_node_range"))
        {
            return null;
        }
        if ((size >> 12) > TotalRamPages)
        {
            warnAlloc.Report(gfp, $"vmalloc error: size {size}, exceeds total pages");
            return null;
        }
        ulong aligned = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        var pfns = new ulong[aligned >> 12];
        for (int k = 0; k < pfns.Length; k++)
        {
            // __vmalloc_area_node: order-0 pages, zeroed (__GFP_ZERO); on failure the pages so far go back.
            if (pageAlloc.AllocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, out pfns[k]) < 0)
            {
                for (int j = 0; j < k; j++)
                {
                    pageAlloc.FreePage(pfns[j]);
                }
                warnAlloc.Report(gfp, $"vmalloc error: size {size}, vm_struct allocation failed");
                return null;
            }
        }
        var area = new VmArea(_nextAddr, aligned, pfns) { Flags = VmArea.VM_USERMAP };
        _nextAddr += aligned + PAGE_SIZE;
        return area;
    }

    /// <inheritdoc/>
    [Kernel("vfree", "mm/vmalloc.c")]
    public void Vfree(VmArea area)
    {
        foreach (ulong pfn in area.Pfns)
        {
            pageAlloc.FreePage(pfn);
        }
    }
}
