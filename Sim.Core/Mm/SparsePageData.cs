// A sparse byte store for page frames: untouched pages read as zero and cost nothing.
namespace Sim.Core.Mm;

/// <summary>
/// The default <see cref="IPageDataAccess"/>: one 4 KiB array per page frame that was ever written; every other
/// frame reads as zero. (Physical memory proper, with struct page state, lives in <c>PhysicalMemory</c>.)
/// </summary>
public sealed class SparsePageData : IPageDataAccess
{
    private readonly Dictionary<ulong, byte[]> _pages = [];

    /// <summary>Frames that hold data.</summary>
    public int MaterialisedPages => _pages.Count;

    /// <inheritdoc/>
    public void Read(ulong pfn, int offset, Span<byte> destination)
    {
        if (_pages.TryGetValue(pfn, out var p))
        {
            p.AsSpan(offset, destination.Length).CopyTo(destination);
        }
        else
        {
            destination.Clear();
        }
    }

    /// <inheritdoc/>
    public void Write(ulong pfn, int offset, ReadOnlySpan<byte> source)
    {
        if (!_pages.TryGetValue(pfn, out var p))
        {
            p = new byte[4096];
            _pages.Add(pfn, p);
        }
        source.CopyTo(p.AsSpan(offset));
    }

    /// <summary>Zeroes a frame (drops its data).</summary>
    public void Clear(ulong pfn) => _pages.Remove(pfn);
}
