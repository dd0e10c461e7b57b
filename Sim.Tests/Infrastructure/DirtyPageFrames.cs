using Sim.Core.Mm;
using Xunit;

namespace Sim.Tests.Infrastructure;

/// <summary>
/// A test page source whose frames come back dirty (every byte 0xAA), with contents kept per frame, so a test
/// sees whether the model zeroes what it promises to zero. Frames are handed out from <see cref="FirstPfn"/>
/// upwards, deliberately not contiguous (every other frame). Frames it never handed out (CMA pages) can be
/// scribbled on and zeroed too.
/// </summary>
internal sealed class DirtyPageFrames(ulong totalRamPages, ulong limit = ulong.MaxValue) : IPageFrames
{
    public const ulong FirstPfn = 0x10000;

    private readonly Dictionary<ulong, byte[]> _allocated = [];
    private readonly Dictionary<ulong, byte[]> _foreign = [];
    private ulong _next = FirstPfn;

    public ulong TotalRamPages { get; } = totalRamPages;

    public ulong FreePagesOutsideCma => TotalRamPages - (ulong)_allocated.Count;

    public int Allocated => _allocated.Count;

    public bool TryAllocPage(out ulong pfn)
    {
        pfn = 0;
        if ((ulong)_allocated.Count >= limit)
        {
            return false;
        }
        pfn = _next;
        _next += 2;
        var page = new byte[4096];
        Array.Fill(page, (byte)0xAA);
        _allocated.Add(pfn, page);
        return true;
    }

    public void FreePage(ulong pfn) => Assert.True(_allocated.Remove(pfn), $"freeing pfn 0x{pfn:x} that is not allocated");

    public void ZeroPages(ulong pfn, ulong count)
    {
        for (ulong p = pfn; p < pfn + count; p++)
        {
            Array.Clear(Page(p));
        }
    }

    /// <summary>Fills a frame with 0x5A (as a device or an earlier user would).</summary>
    public void Scribble(ulong pfn) => Array.Fill(Page(pfn), (byte)0x5A);

    public bool IsZero(ulong pfn) => Array.TrueForAll(Page(pfn), b => b == 0);

    private byte[] Page(ulong pfn)
    {
        if (_allocated.TryGetValue(pfn, out var page))
        {
            return page;
        }
        if (!_foreign.TryGetValue(pfn, out page))
        {
            page = new byte[4096];
            Array.Fill(page, (byte)0xAA);
            _foreign.Add(pfn, page);
        }
        return page;
    }
}
