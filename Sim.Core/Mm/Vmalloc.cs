// Models mm/vmalloc.c (Linux 6.1): vmalloc_user (__vmalloc_node_range), vmalloc_to_page, vfree, find_vm_area
// and remap_vmalloc_range(_partial), over page frames from the machine's page allocator (IPageFrames).
using System.Globalization;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Sim.Core.Time;
using Sim.Core.Uapi;

namespace Sim.Core.Mm;

/// <summary>
/// <c>struct vm_struct</c>: one vmalloc area. <see cref="Size"/> includes the guard page (as the kernel's
/// <c>area-&gt;size</c> does); <see cref="Pages"/> are the backing frames in address order (not contiguous).
/// </summary>
[Kernel("struct vm_struct", "include/linux/vmalloc.h")]
public sealed class VmStruct
{
    internal VmStruct(ulong addr, ulong size, ulong flags, ulong[] pages, long liveId)
    {
        Addr = addr;
        Size = size;
        Flags = flags;
        Pages = pages;
        LiveId = liveId;
    }

    /// <summary><c>addr</c>: first byte of the area.</summary>
    public ulong Addr { get; }

    /// <summary><c>size</c>: bytes reserved, guard page included.</summary>
    public ulong Size { get; }

    /// <summary><c>flags</c> (<c>VM_ALLOC | VM_USERMAP</c> for <c>vmalloc_user</c>).</summary>
    public ulong Flags { get; }

    /// <summary><c>pages</c>: the frame number of each page, in address order.</summary>
    public IReadOnlyList<ulong> Pages { get; }

    /// <summary><c>nr_pages</c>.</summary>
    public int NrPages => Pages.Count;

    internal long LiveId { get; }

    /// <summary><c>get_vm_area_size(area)</c>: the size without the guard page.</summary>
    [Kernel("get_vm_area_size", "include/linux/vmalloc.h")]
    public ulong GetVmAreaSize() => (Flags & Vmalloc.VM_NO_GUARD) == 0 ? Size - Align.PAGE_SIZE : Size;

    /// <inheritdoc/>
    public override string ToString() => $"vm_struct [0x{Addr:x}, 0x{Addr + Size:x}) {NrPages} pages flags 0x{Flags:x}";
}

/// <summary>
/// The vmalloc space of the machine: virtually contiguous kernel buffers built from single page frames. The
/// virtual range is allocated lowest-fit in [VMALLOC_START, VMALLOC_END) with a guard page after each area;
/// the frames come from <see cref="IPageFrames"/>, and <c>vmalloc_user</c> zeroes them (<c>__GFP_ZERO</c>).
/// </summary>
[Kernel("vmalloc", "mm/vmalloc.c")]
public sealed class Vmalloc
{
    /// <summary><c>VM_ALLOC</c>.</summary>
    public const ulong VM_ALLOC = 0x2;
    /// <summary><c>VM_MAP</c>: an area made by <c>vmap</c> (the pages belong to the caller).</summary>
    public const ulong VM_MAP = 0x4;
    /// <summary><c>VM_USERMAP</c>: suitable for <c>remap_vmalloc_range</c>.</summary>
    public const ulong VM_USERMAP = 0x8;
    /// <summary><c>VM_DMA_COHERENT</c>.</summary>
    public const ulong VM_DMA_COHERENT = 0x10;
    /// <summary><c>VM_NO_GUARD</c>.</summary>
    public const ulong VM_NO_GUARD = 0x40;

    private static readonly Debug.FaultSite s_vmStruct = Debug.FaultSite.Register("__get_vm_area_node:kzalloc", Debug.FaultKind.Vmalloc);
    private static readonly Debug.FaultSite s_pageArray = Debug.FaultSite.Register("__vmalloc_area_node:page_array", Debug.FaultKind.Vmalloc);
    private readonly IPageFrames _frames;
    private readonly Warnings _warnings;
    private readonly LiveObjects _live;
    private readonly Ktime _clock;
    private readonly Kernel.Bug? _bug;
    private readonly WarnAlloc? _warnAlloc;
    private readonly SortedDictionary<ulong, VmStruct> _areas = [];
    private readonly int _bitsPerLong;
    private bool _zeroSizeWarned;
    private bool _ratelimitStarted;
    private long _ratelimitBegin;
    private int _ratelimitPrinted;

    /// <summary>
    /// Creates the machine's vmalloc space. With the machine's <paramref name="bug"/> and
    /// <paramref name="warnAlloc"/> (as the DI container passes them), <c>WARN_ON_ONCE(!size)</c> prints the
    /// kernel's WARN report and allocation failures go through the machine's one <c>warn_alloc</c> (its
    /// <c>nopage_rs</c> rate limit, the <c>comm: </c> prefix, dump_stack and Mem-Info); without them (a
    /// stand-alone vmalloc) the WARN is only recorded in <paramref name="warnings"/> and the failure text goes
    /// to <see cref="Printk"/> under a rate limit of its own.
    /// </summary>
    public Vmalloc(MachineOptions options, IPageFrames frames, Warnings warnings, LiveObjects live, Ktime clock,
        Kernel.Bug? bug = null, WarnAlloc? warnAlloc = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _bug = bug;
        _warnAlloc = warnAlloc;
        _frames = frames;
        _warnings = warnings;
        _live = live;
        _clock = clock;
        _bitsPerLong = options.Is32Bit ? 32 : 64;
        if (options.Is32Bit)
        {
            // VMALLOC_START = ALIGN(high_memory, VMALLOC_OFFSET 8 MiB) with high_memory = end of lowmem;
            // VMALLOC_END = 0xff800000 (VmallocTotal 507904 kB on the 512 MiB board).
            ulong lowmem = Math.Min(options.RamBytes, Dma.DmaContiguous.ArmLowmemBytes);
            ulong highMemory = Dma.ArmDmaMapping.ArmPageOffset + lowmem;
            VmallocStart = (highMemory + (8UL << 20)) & ~((8UL << 20) - 1);
            VmallocEnd = 0xff800000UL;
            Shmlba = 4 * Align.PAGE_SIZE;
        }
        else
        {
            VmallocStart = 0xffffc90000000000UL;
            VmallocEnd = 0xffffe90000000000UL;
            Shmlba = Align.PAGE_SIZE;
        }
    }

    /// <summary><c>VMALLOC_START</c>.</summary>
    public ulong VmallocStart { get; }

    /// <summary><c>VMALLOC_END</c> (exclusive).</summary>
    public ulong VmallocEnd { get; }

    /// <summary>
    /// <c>VMALLOC_TOTAL</c> in kB (meminfo's VmallocTotal): <c>VMALLOC_END - VMALLOC_START</c>, where x86_64's
    /// <c>VMALLOC_END</c> is the last byte (34359738367 kB for its 32 TiB) and ARM's the first byte past the area.
    /// </summary>
    public ulong VmallocTotalKb => (_bitsPerLong == 64 ? VmallocEnd - 1 - VmallocStart : VmallocEnd - VmallocStart) >> 10;

    /// <summary><c>SHMLBA</c>: the alignment <c>vmalloc_user</c> asks for (4 pages on ARM, 1 on x86_64).</summary>
    public ulong Shmlba { get; }

    /// <summary>
    /// The kernel log of a stand-alone vmalloc (no machine <c>warn_alloc</c>): level and text of the warn_alloc
    /// line, without the <c>comm: </c> prefix.
    /// </summary>
    public Action<int, string>? Printk { get; set; }

    /// <summary>The live areas in address order.</summary>
    public IEnumerable<VmStruct> Areas => _areas.Values;

    /// <summary>Pages held by all live areas (meminfo <c>VmallocUsed</c> counts these, in kB).</summary>
    public ulong UsedPages
    {
        get
        {
            ulong n = 0;
            foreach (var a in _areas.Values)
            {
                if ((a.Flags & VM_MAP) == 0)
                {
                    n += (ulong)a.NrPages; // nr_vmalloc_pages counts vmalloc's own pages, not vmap's
                }
            }
            return n;
        }
    }

    /// <summary>
    /// <c>vmalloc_user(size)</c>: zeroed, page-granular, virtually contiguous memory that may be mapped to user
    /// space (<c>VM_USERMAP</c>). Returns the kernel address, or 0 (NULL) on failure.
    /// </summary>
    [Kernel("vmalloc_user", "mm/vmalloc.c")]
    public ulong VmallocUser(ulong size) => VmallocUser(size, null);

    /// <summary>
    /// <c>vmalloc_user(size)</c> called from module <paramref name="callerModule"/> (the <c>[module]</c> of the
    /// area's <c>caller</c>, <c>__builtin_return_address(0)</c>): the area belongs to that module's data, so the
    /// leak check keeps it while the module is loaded.
    /// </summary>
    public ulong VmallocUser(ulong size, string? callerModule) =>
        VmallocNodeRange(size, Shmlba, Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, VM_USERMAP, callerModule);

    /// <summary>
    /// <c>__vmalloc_node_range</c>: <c>WARN_ON_ONCE(!size)</c> → NULL; more pages than <c>totalram_pages()</c> →
    /// <c>warn_alloc("vmalloc error: size %lu, exceeds total pages")</c> and NULL; then the virtual area, then
    /// one frame per page (zeroed with <c>__GFP_ZERO</c>); a frame shortage frees everything again
    /// (<c>"vmalloc error: size %lu, page order %u, failed to allocate pages"</c>) and returns NULL.
    /// </summary>
    [Kernel("__vmalloc_node_range", "mm/vmalloc.c")]
    public ulong VmallocNodeRange(ulong size, ulong align, Gfp gfpMask, ulong vmFlags, string? callerModule = null)
    {
        ulong realSize = size;
        if (size == 0)
        {
            if (_bug is not null)
            {
                // WARN_ON_ONCE(!size) at mm/vmalloc.c:3227 (6.1.192): once per boot, with the full report.
                _bug.WarnOnOnce(true, "mm/vmalloc.c", 3227, "__vmalloc_node_range");
                return 0;
            }
            if (!_zeroSizeWarned)
            {
                _zeroSizeWarned = true;
                _warnings.On(true, "WARN_ON_ONCE(!size) in __vmalloc_node_range");
            }
            return 0;
        }
        if ((size >> Align.PAGE_SHIFT) > _frames.TotalRamPages)
        {
            WarnAlloc(gfpMask, $"vmalloc error: size {realSize.ToString(CultureInfo.InvariantCulture)}, exceeds total pages");
            return 0;
        }

        // __get_vm_area_node: page-aligned size plus the guard page, lowest fitting aligned address.
        ulong areaSize = Align.PageAlign(realSize);
        ulong flags = VM_ALLOC | vmFlags;
        if ((flags & VM_NO_GUARD) == 0)
        {
            areaSize += Align.PAGE_SIZE;
        }
        ulong addr = s_vmStruct.ShouldFail() ? 0 : FindFreeRange(areaSize, Math.Max(align, Align.PAGE_SIZE));
        if (addr == 0)
        {
            WarnAlloc(gfpMask, $"vmalloc error: size {realSize.ToString(CultureInfo.InvariantCulture)}, vm_struct allocation failed");
            return 0;
        }

        // __vmalloc_area_node: one order-0 page per page of the area.
        int nrPages = (int)(Align.PageAlign(realSize) >> Align.PAGE_SHIFT);
        if (s_pageArray.ShouldFail())
        {
            ulong arraySize = (ulong)nrPages * 8;
            // __vmalloc_area_node has added __GFP_NOWARN by then: warn_alloc stays silent.
            WarnAlloc(gfpMask | Gfp.__GFP_NOWARN, $"vmalloc error: size {((ulong)nrPages * Align.PAGE_SIZE).ToString(CultureInfo.InvariantCulture)}, failed to allocated page array size {arraySize.ToString(CultureInfo.InvariantCulture)}");
            return 0;
        }
        var pages = new ulong[nrPages];
        for (int i = 0; i < nrPages; i++)
        {
            if (!_frames.TryAllocPage(out ulong pfn))
            {
                // area->nr_pages * PAGE_SIZE: the pages that were allocated, not the request.
                WarnAlloc(gfpMask, $"vmalloc error: size {((ulong)i * Align.PAGE_SIZE).ToString(CultureInfo.InvariantCulture)}, page order 0, failed to allocate pages");
                for (int j = 0; j < i; j++)
                {
                    _frames.FreePage(pages[j]);
                }
                return 0;
            }
            if ((gfpMask & Gfp.__GFP_ZERO) != 0)
            {
                _frames.ZeroPages(pfn, 1);
            }
            pages[i] = pfn;
        }
        long id = _live.Register("vm_struct", $"vmalloc 0x{addr:x} {nrPages} pages", null, callerModule);
        _areas.Add(addr, new VmStruct(addr, areaSize, flags, pages, id));
        return addr;
    }

    /// <summary><c>find_vm_area(addr)</c>: the area whose reserved range (guard page included) holds <paramref name="addr"/>.</summary>
    [Kernel("find_vm_area", "mm/vmalloc.c")]
    public VmStruct? FindVmArea(ulong addr)
    {
        VmStruct? found = null;
        foreach (var (start, area) in _areas)
        {
            if (start > addr)
            {
                break;
            }
            if (addr < start + area.Size)
            {
                found = area;
            }
        }
        return found;
    }

    /// <summary>
    /// <c>vmalloc_to_page(addr)</c>: the frame mapped at <paramref name="addr"/> (any byte of the page), or null
    /// (NULL) for an address with no vmalloc page behind it (outside every area, or a guard page).
    /// </summary>
    [Kernel("vmalloc_to_page", "mm/vmalloc.c")]
    public ulong? VmallocToPage(ulong addr)
    {
        var area = FindVmArea(addr);
        if (area is null)
        {
            return null;
        }
        ulong index = (addr - area.Addr) >> Align.PAGE_SHIFT;
        return index < (ulong)area.NrPages ? area.Pages[(int)index] : null;
    }

    /// <summary><c>vmalloc_to_pfn(addr)</c>.</summary>
    [Kernel("vmalloc_to_pfn", "mm/vmalloc.c")]
    public ulong VmallocToPfn(ulong addr) => VmallocToPage(addr) ?? 0;

    /// <summary>
    /// <c>vfree(addr)</c>: NULL does nothing; an unaligned address WARNs ("Trying to vfree() bad address"), an
    /// address in no area WARNs ("Trying to vfree() nonexistent vm area"); otherwise the area's frames go back
    /// to the page allocator and its virtual range is free again.
    /// </summary>
    [Kernel("vfree", "mm/vmalloc.c")]
    public void Vfree(ulong addr)
    {
        if (addr == 0)
        {
            return;
        }
        if (_warnings.On((addr & (Align.PAGE_SIZE - 1)) != 0, $"Trying to vfree() bad address (0x{addr:x})"))
        {
            return;
        }
        var area = FindVmArea(addr);
        if (_warnings.On(area is null, $"Trying to vfree() nonexistent vm area (0x{addr:x})"))
        {
            return;
        }
        _areas.Remove(area!.Addr);
        foreach (ulong pfn in area.Pages)
        {
            _frames.FreePage(pfn);
        }
        _live.Unregister(area.LiveId);
    }

    /// <summary>
    /// <c>vmap(pages, count, VM_MAP, PAGE_KERNEL)</c>: a virtually contiguous kernel mapping of the caller's frames
    /// (an area with a guard page; no frame is allocated). More pages than <c>totalram_pages()</c> or no area
    /// (<c>get_vm_area_caller</c> failing) is NULL (0).
    /// </summary>
    [Kernel("vmap", "mm/vmalloc.c")]
    public ulong Vmap(ReadOnlySpan<ulong> pages, string? callerModule = null)
    {
        if ((ulong)pages.Length > _frames.TotalRamPages)
        {
            return 0;
        }
        ulong size = (ulong)pages.Length << Align.PAGE_SHIFT;
        ulong addr = s_vmStruct.ShouldFail() ? 0 : FindFreeRange(size + Align.PAGE_SIZE, Align.PAGE_SIZE);
        if (addr == 0)
        {
            return 0;
        }
        long id = _live.Register("vm_struct", $"vmap 0x{addr:x} {pages.Length} pages", null, callerModule);
        _areas.Add(addr, new VmStruct(addr, size + Align.PAGE_SIZE, VM_MAP, pages.ToArray(), id));
        return addr;
    }

    /// <summary>
    /// <c>vunmap(addr)</c>: NULL does nothing; the area goes (its frames stay with their owner). An address that
    /// is no vmap area WARNs as <c>vfree</c> does ("Trying to vfree() nonexistent vm area").
    /// </summary>
    [Kernel("vunmap", "mm/vmalloc.c")]
    public void Vunmap(ulong addr)
    {
        if (addr == 0)
        {
            return;
        }
        var area = FindVmArea(addr);
        if (_warnings.On(area is null || area.Addr != addr, $"Trying to vfree() nonexistent vm area (0x{addr:x})"))
        {
            return;
        }
        _areas.Remove(area!.Addr);
        _live.Unregister(area.LiveId);
    }

    /// <summary>
    /// <c>remap_vmalloc_range_partial(vma, uaddr, kaddr, pgoff, size)</c>: checks exactly as the kernel does
    /// (-EINVAL for a pgoff whose byte offset overflows, an unaligned <paramref name="uaddr"/> or
    /// <paramref name="kaddr"/>, no area at <paramref name="kaddr"/>, an area without VM_USERMAP/VM_DMA_COHERENT,
    /// offset + PAGE_ALIGN(size) beyond the area's size) and then inserts page after page with
    /// <paramref name="vmInsertPage"/>(uaddr, pfn) (<c>vm_insert_page</c>; its error is returned as is).
    /// </summary>
    [Kernel("remap_vmalloc_range_partial", "mm/vmalloc.c")]
    public int RemapVmallocRangePartial(ulong uaddr, ulong kaddr, ulong pgoff, ulong size, Func<ulong, ulong, int> vmInsertPage)
    {
        ArgumentNullException.ThrowIfNull(vmInsertPage);
        ulong longMask = _bitsPerLong == 64 ? ulong.MaxValue : (1UL << _bitsPerLong) - 1;
        // check_shl_overflow(pgoff, PAGE_SHIFT, &off)
        ulong off = (pgoff << Align.PAGE_SHIFT) & longMask;
        if ((off >> Align.PAGE_SHIFT) != pgoff)
        {
            return -(int)Errno.EINVAL;
        }
        size = Align.PageAlign(size) & longMask;
        if ((uaddr & (Align.PAGE_SIZE - 1)) != 0 || (kaddr & (Align.PAGE_SIZE - 1)) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        var area = FindVmArea(kaddr);
        if (area is null)
        {
            return -(int)Errno.EINVAL;
        }
        if ((area.Flags & (VM_USERMAP | VM_DMA_COHERENT)) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        ulong endIndex = (size + off) & longMask;
        if (endIndex < size || endIndex > area.GetVmAreaSize())
        {
            return -(int)Errno.EINVAL;
        }
        KernelBugException.On(size == 0, "remap_vmalloc_range_partial: empty range (a vma is never empty)");
        kaddr += off;
        do
        {
            ulong pfn = VmallocToPage(kaddr) ?? throw new KernelBugException($"remap_vmalloc_range: no page at 0x{kaddr:x}");
            int ret = vmInsertPage(uaddr, pfn);
            if (ret != 0)
            {
                return ret;
            }
            uaddr += Align.PAGE_SIZE;
            kaddr += Align.PAGE_SIZE;
            size -= Align.PAGE_SIZE;
        }
        while (size > 0);
        // vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP is the caller's vma's business.
        return 0;
    }

    /// <summary>
    /// <c>remap_vmalloc_range(vma, addr, pgoff)</c>: maps the whole vma [<paramref name="vmStart"/>,
    /// <paramref name="vmEnd"/>) from page <paramref name="pgoff"/> of the area at <paramref name="addr"/>.
    /// </summary>
    [Kernel("remap_vmalloc_range", "mm/vmalloc.c")]
    public int RemapVmallocRange(ulong vmStart, ulong vmEnd, ulong addr, ulong pgoff, Func<ulong, ulong, int> vmInsertPage) =>
        RemapVmallocRangePartial(vmStart, addr, pgoff, vmEnd - vmStart, vmInsertPage);

    // alloc_vmap_area: the lowest aligned gap in [VMALLOC_START, VMALLOC_END) that holds size bytes; 0 = none.
    private ulong FindFreeRange(ulong size, ulong align)
    {
        ulong candidate = Align.Up(VmallocStart, align);
        foreach (var (start, area) in _areas)
        {
            if (candidate + size <= start)
            {
                break;
            }
            candidate = Math.Max(candidate, Align.Up(start + area.Size, align));
        }
        return candidate >= VmallocStart && candidate + size <= VmallocEnd && candidate + size > candidate ? candidate : 0;
    }

    // warn_alloc: nothing with __GFP_NOWARN; otherwise rate-limited (10*HZ, burst 1) "%s, mode:%#x(%pGg), nodemask=(null),...".
    [Kernel("warn_alloc", "mm/page_alloc.c")]
    private void WarnAlloc(Gfp gfpMask, string message)
    {
        if (_warnAlloc is not null)
        {
            _warnAlloc.Report(gfpMask, message);
            return;
        }
        if ((gfpMask & Gfp.__GFP_NOWARN) != 0)
        {
            return;
        }
        long now = _clock.Jiffies;
        long interval = 10L * _clock.Hz;
        if (!_ratelimitStarted)
        {
            // ___ratelimit's "if (!rs->begin) rs->begin = jiffies" (real jiffies never read 0 after boot).
            _ratelimitStarted = true;
            _ratelimitBegin = now;
        }
        if (now - (_ratelimitBegin + interval) > 0)
        {
            _ratelimitBegin = now;
            _ratelimitPrinted = 0;
        }
        if (_ratelimitPrinted >= 1)
        {
            return;
        }
        _ratelimitPrinted++;
        Printk?.Invoke(4, $"{message}, mode:0x{(uint)gfpMask:x}({GfpNames.Format(gfpMask)}), nodemask=(null),cpuset=/,mems_allowed=0");
    }
}
