// Default IPageFrames until the buddy allocator (mm/page_alloc.c) is wired in: frame numbers only, no contents.
using Sim.Core.Boot;

namespace Sim.Core.Mm;

/// <summary>
/// A stand-in page source: frames are handed out lowest-free-first from a private range of RAM (above the
/// first 16 MiB, skipping the CMA area), contents are not kept (<see cref="ZeroPages"/> is a no-op), and
/// <see cref="TotalRamPages"/> is the captured machines' figure (RAM pages minus what their kernels kept at
/// boot: 5721 pages on the ARM board, MemTotal 501404 kB of 512 MiB; 130 on the x86_64 1 GiB guest,
/// totalram 262014 pages as the kvmfr section of the traces README states).
/// </summary>
public sealed class SimplePageFrames : IPageFrames
{
    private readonly ulong _firstPfn;
    private readonly ulong _endPfn;
    private readonly ulong _cmaStart;
    private readonly ulong _cmaEnd;
    private readonly SortedSet<ulong> _freed = [];
    private readonly HashSet<ulong> _allocated = [];
    private ulong _next;

    /// <summary>Creates the page source of the machine described by <paramref name="options"/>.</summary>
    public SimplePageFrames(MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ulong ramPages = options.RamBytes >> Lib.Align.PAGE_SHIFT;
        ulong basePfn = options.RamBase >> Lib.Align.PAGE_SHIFT;
        ulong kept = options.Is32Bit ? 5721UL : 130UL;
        TotalRamPages = ramPages > kept ? ramPages - kept : ramPages;
        _firstPfn = basePfn + Math.Min(ramPages / 2, (16UL << 20) >> Lib.Align.PAGE_SHIFT);
        _endPfn = basePfn + ramPages;
        _next = _firstPfn;
        if (Dma.DmaContiguous.TryReserve(options, out ulong cmaBase, out ulong cmaCount) == 0)
        {
            _cmaStart = cmaBase;
            _cmaEnd = cmaBase + cmaCount;
        }
    }

    /// <inheritdoc/>
    public ulong TotalRamPages { get; }

    /// <inheritdoc/>
    public ulong FreePagesOutsideCma
    {
        get
        {
            ulong usable = TotalRamPages - (_cmaEnd - _cmaStart);
            ulong used = (ulong)_allocated.Count;
            return usable > used ? usable - used : 0;
        }
    }

    /// <summary>Frames handed out and not freed.</summary>
    public int Allocated => _allocated.Count;

    /// <inheritdoc/>
    public bool TryAllocPage(out ulong pfn)
    {
        if (_freed.Count > 0)
        {
            pfn = _freed.Min;
            _freed.Remove(pfn);
        }
        else
        {
            if (_next >= _cmaStart && _next < _cmaEnd)
            {
                _next = _cmaEnd;
            }
            if (_next >= _endPfn || (ulong)_allocated.Count >= FreeLimit)
            {
                pfn = 0;
                return false;
            }
            pfn = _next++;
        }
        _allocated.Add(pfn);
        return true;
    }

    private ulong FreeLimit => TotalRamPages - (_cmaEnd - _cmaStart);

    /// <inheritdoc/>
    public void FreePage(ulong pfn)
    {
        if (!_allocated.Remove(pfn))
        {
            throw new Debug.KernelBugException($"Bad page state: freeing pfn 0x{pfn:x} that is not allocated");
        }
        _freed.Add(pfn);
    }

    /// <inheritdoc/>
    public void ZeroPages(ulong pfn, ulong count)
    {
        // No contents are kept: every frame reads as zero.
    }
}
