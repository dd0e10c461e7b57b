// The seam through which CPU loads and stores of user mappings reach the bytes of page frames.
namespace Sim.Core.Mm;

/// <summary>Reads and writes the bytes of page frames (what a CPU access through a mapping ends in).</summary>
public interface IPageDataAccess
{
    /// <summary>Copies bytes of frame <paramref name="pfn"/> starting at <paramref name="offset"/> into <paramref name="destination"/> (untouched memory reads as zero).</summary>
    void Read(ulong pfn, int offset, Span<byte> destination);

    /// <summary>Copies <paramref name="source"/> into frame <paramref name="pfn"/> at <paramref name="offset"/>.</summary>
    void Write(ulong pfn, int offset, ReadOnlySpan<byte> source);
}
