using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Core.Lib;
using Sim.RdmaUmem;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// Through the whole umem path (ib_umem_dmabuf_get, map_pages under the reservation lock, unmap_pages): on random
/// tables (1 to 300 entries, so chained ones too; page-multiple lengths, some empty; random DMA addresses) and random
/// windows that ib_umem_dmabuf_get accepts, map_pages then unmap_pages leaves the dma-buf's table byte for byte as it
/// was, with both trim implementations, which also trim identically; and the umem's view is the window's pages.
/// </summary>
public sealed class UmemDmabufMapUnmapProperties
{
    public sealed record Case(int Seed, int Entries, int Pick1, int Pick2)
    {
        public override string ToString() => $"seed={Seed} n={Entries} picks={Pick1},{Pick2}";
    }

    public static class Arbitraries
    {
        public static Arbitrary<Case> Cases() => Arb.From(
            from seed in ArbMap.Default.GeneratorFor<int>()
            from n in Gen.Frequency((4, Gen.Choose(1, 8)), (2, Gen.Choose(9, 140)), (1, Gen.Choose(250, 300)))
            from p1 in ArbMap.Default.GeneratorFor<int>()
            from p2 in ArbMap.Default.GeneratorFor<int>()
            select new Case(seed, n, p1, p2));
    }

    [Property(MaxTest = 60, Arbitrary = [typeof(Arbitraries)])]
    public bool MapThenUnmapIsTheIdentity(Case c)
    {
        var rng = new Random(c.Seed);
        var entries = new (ulong, uint)[c.Entries];
        ulong total = 0;
        for (int k = 0; k < entries.Length; k++)
        {
            uint len = rng.Next(10) == 0 ? 0u : (uint)rng.Next(1, 9) * 4096;
            entries[k] = ((ulong)rng.NextInt64(1, 1L << 40) << 12, len);
            total += len;
        }
        if (total == 0)
        {
            entries[0] = (entries[0].Item1, 4096);
            total = 4096;
        }
        ulong offset = (ulong)((uint)c.Pick1 % total);
        ulong size = 1 + (ulong)((uint)c.Pick2 % (total - offset));

        using var f = new UmemFixture(entries);
        var (walk, e1) = f.Get(offset, size);
        var (indexed, e2) = f.Get(offset, size);
        if (e1 != 0 || e2 != 0)
        {
            return false;
        }
        walk!.TrimImpl = UmemTrimImpl.Walk;
        indexed!.TrimImpl = UmemTrimImpl.Indexed;
        bool ok = true;
        (ulong, uint)[]? walkView = null;
        TrimResult walkTrim = default;
        foreach (var umem in new[] { walk, indexed })
        {
            var table = umem.Attach.Sgt!;
            var snapshot = Snapshot(table);
            f.Locked(() => ok &= umem.MapPages() == 0);
            var view = UmemFixture.View(umem.Umem.SgtAppend.Sgt);
            // The view covers exactly the window's pages [ALIGN_DOWN(offset), ALIGN(offset + size)).
            ulong covered = 0;
            foreach (var (_, len) in view)
            {
                covered += len;
            }
            ok &= covered == UmemDmabufTrim.WindowEnd(offset, size) - UmemDmabufTrim.WindowStart(offset);
            if (walkView is null)
            {
                walkView = UmemFixture.View(table);
                walkTrim = umem.Trim;
            }
            else
            {
                ok &= walkView.AsSpan().SequenceEqual(UmemFixture.View(table));
                ok &= walkTrim with { FirstSg = default, LastSg = default } == umem.Trim with { FirstSg = default, LastSg = default };
            }
            f.Locked(umem.UnmapPages);
            ok &= umem.Sgt is null && Same(snapshot, table);
            IbUmem.Release(umem.Umem);
        }
        return ok && f.M.Warnings.Count == 0 && f.M.Live.Count("ib_umem_dmabuf") == 0;
    }

    private static Scatterlist[][] Snapshot(SgTable t) => [.. t.Chunks.Select(c => (Scatterlist[])c.Clone())];

    private static bool Same(Scatterlist[][] a, SgTable t) =>
        a.Length == t.Chunks.Length &&
        a.Select((c, k) => MemoryMarshal.AsBytes(c.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(t.Chunks[k].AsSpan()))).All(x => x);
}
