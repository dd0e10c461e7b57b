// Replay helper: compares a trimmed DMA view of the model with a captured one (data/traces/README.md,
// "linux-6.1-sg: Comparing nondeterministic fields"), for the three DMA paths of kernel/dma/direct.c,
// drivers/iommu/dma-iommu.c and kernel/dma/swiotlb.c.
using System.Text.Json;
using Sim.Core.Boot;
using Sim.Core.Lib;
using Sim.Core.Replay;

namespace Sim.RdmaUmem.Replay;

/// <summary>One entry of a DMA view: <c>sg_dma_address</c>, <c>sg_dma_len</c>.</summary>
/// <param name="DmaAddress"><c>sg_dma_address</c>.</param>
/// <param name="DmaLength"><c>sg_dma_len</c>.</param>
public readonly record struct DmaEntry(ulong DmaAddress, uint DmaLength);

/// <summary>
/// Compares the whole trimmed DMA view of a table (<c>trimmed</c> of an <c>ib_umem_dmabuf_map_pages</c> trace event)
/// with the model's, by the rules of the machine's DMA path: lengths always exactly; addresses exactly under
/// dma-direct; under iommu-dma as offsets from the table's IOVA base (each side its own base: the untrimmed first
/// entry's address minus the in-page offset of the table's first CPU entry); under swiotlb structurally (page
/// alignment of bounce buffers of 4 KiB or more, and the model's buffers pairwise distinct and non-overlapping).
/// </summary>
public static class TrimmedViewComparer
{
    private const ulong DMA_MAPPING_ERROR = ulong.MaxValue;

    /// <summary>Reads a <c>[{dma_address, dma_length}, ...]</c> array of a trace or vector line.</summary>
    public static DmaEntry[] Read(JsonElement array, TraceEvent ev, string field)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new TraceFormatException(ev.File, ev.Line, "not an array", field);
        }
        var list = new DmaEntry[array.GetArrayLength()];
        int k = 0;
        foreach (var e in array.EnumerateArray())
        {
            if (!e.TryGetProperty("dma_address", out var a) || !TraceNumber.TryGetU64(a, out ulong addr) ||
                !e.TryGetProperty("dma_length", out var l) || !TraceNumber.TryGetU64(l, out ulong len))
            {
                throw new TraceFormatException(ev.File, ev.Line, "entry without integer dma_address/dma_length", $"{field}[{k}]");
            }
            list[k++] = new DmaEntry(addr, (uint)len);
        }
        return list;
    }

    /// <summary>The DMA view of <paramref name="sgt"/> now (its first <c>nents</c> entries).</summary>
    public static DmaEntry[] DmaView(SgTable sgt)
    {
        var list = new DmaEntry[Math.Max(sgt.Nents, 0)];
        int n = 0;
        foreach (var c in sgt.DmaSgs())
        {
            ref Scatterlist e = ref sgt.At(c);
            if (n == list.Length)
            {
                Array.Resize(ref list, Math.Max(4, n * 2));
            }
            list[n++] = new DmaEntry(e.DmaAddress, e.DmaLength);
        }
        return n == list.Length ? list : list[..n];
    }

    /// <summary>
    /// Compares <paramref name="expected"/> (the trace's trimmed view) with <paramref name="actual"/> (the model's).
    /// <paramref name="expectedUntrimmed0"/> / <paramref name="actualUntrimmed"/> give each side's view before the
    /// trim (the trace side only needs its first address: the trace's <c>trimmed[0]</c> minus its
    /// <c>first_sg_offset</c> when <c>first_sg</c> is 0); <paramref name="firstCpuOffset"/> is the <c>offset</c> of
    /// the table's first CPU entry (the same on both sides: compared exactly by the mapping event).
    /// </summary>
    public static void Compare(ReplayCheck check, DmaPath path, string field, ReadOnlySpan<DmaEntry> expected,
        ReadOnlySpan<DmaEntry> actual, ulong expectedUntrimmed0, ReadOnlySpan<DmaEntry> actualUntrimmed, uint firstCpuOffset)
    {
        if (!check.Equal(field + ".length", (ulong)expected.Length, (ulong)actual.Length))
        {
            return;
        }
        if (expected.Length == 0)
        {
            return;
        }
        ulong inPage = firstCpuOffset % 4096;
        ulong expectedBase = unchecked(expectedUntrimmed0 - inPage);
        ulong actualBase = actualUntrimmed.Length > 0 ? unchecked(actualUntrimmed[0].DmaAddress - inPage) : 0;
        for (int k = 0; k < expected.Length; k++)
        {
            var x = expected[k];
            var y = actual[k];
            check.EqualAt(field, k, "dma_length", x.DmaLength, y.DmaLength);
            if (x.DmaAddress == DMA_MAPPING_ERROR || y.DmaAddress == DMA_MAPPING_ERROR)
            {
                check.EqualAt(field, k, "dma_address", x.DmaAddress, y.DmaAddress);
                continue;
            }
            switch (path)
            {
                case DmaPath.Direct:
                    check.EqualAt(field, k, "dma_address", x.DmaAddress, y.DmaAddress);
                    break;
                case DmaPath.Iommu:
                    if (unchecked(x.DmaAddress - expectedBase) != unchecked(y.DmaAddress - actualBase))
                    {
                        check.Fail(ReplayCheck.FieldAt(field, k, "dma_address") + " - iova_base", ReplayCheck.Show(unchecked(x.DmaAddress - expectedBase)),
                            ReplayCheck.Show(unchecked(y.DmaAddress - actualBase)));
                    }
                    break;
                case DmaPath.Swiotlb:
                    // Both sides moved by the same first_sg_offset (compared exactly); the in-page position of a
                    // bounce buffer of 4 KiB or more is 0 on both, so the in-page parts agree.
                    if (k < actualUntrimmed.Length && actualUntrimmed[k].DmaLength >= 4096 &&
                        (x.DmaAddress & 4095) != (y.DmaAddress & 4095))
                    {
                        check.Fail(ReplayCheck.FieldAt(field, k, "dma_address") + " & 4095", ReplayCheck.Show(x.DmaAddress & 4095), ReplayCheck.Show(y.DmaAddress & 4095));
                    }
                    break;
            }
        }
        if (path == DmaPath.Swiotlb)
        {
            CheckDisjoint(check, field, actualUntrimmed);
        }
    }

    // swiotlb: the model's bounce buffers of one table are pairwise distinct and do not overlap.
    private static void CheckDisjoint(ReplayCheck check, string field, ReadOnlySpan<DmaEntry> view)
    {
        var ranges = new (ulong Start, ulong End, int K)[view.Length];
        for (int k = 0; k < view.Length; k++)
        {
            ranges[k] = (view[k].DmaAddress, unchecked(view[k].DmaAddress + view[k].DmaLength), k);
        }
        Array.Sort(ranges, (a, b) => a.Start.CompareTo(b.Start));
        for (int k = 1; k < ranges.Length; k++)
        {
            if (ranges[k].Start == ranges[k - 1].Start || ranges[k].Start < ranges[k - 1].End)
            {
                check.Fail(field + ".dma_address", "pairwise distinct, non-overlapping bounce buffers",
                    $"entries {ranges[k - 1].K} and {ranges[k].K} overlap");
                return;
            }
        }
    }
}
