using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Core.Lib;
using Sim.RdmaUmem;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// Random chained tables (1 to 100000 entries; lengths 0, page multiples, 0xfffff000 and odd sizes; addresses over the
/// whole 64-bit range, wrapping) and random windows (inside, on entry boundaries, empty, past the end, wrapping past
/// 2^64): Indexed and Walk agree exactly, map then unmap is the identity, and the relations of the vector README hold.
/// A case is drawn from a seed so that FsCheck shrinks seeds and sizes, not 100000-element arrays.
/// </summary>
public sealed class UmemDmabufTrimProperties
{
    public sealed record Case(int Seed, int Size, int LengthKind, int WindowKind, int Pick)
    {
        public override string ToString() => $"seed={Seed} n={Size} lengths={LengthKind} window={WindowKind} pick={Pick}";
    }

    public static class Arbitraries
    {
        public static Arbitrary<Case> Cases()
        {
            Gen<Case> gen =
             from seed in ArbMap.Default.GeneratorFor<int>()
             from big in Gen.Frequency((17, Gen.Constant(false)), (1, Gen.Constant(true)))
             from size in big ? Gen.Choose(1000, 100000) : Gen.Choose(1, 400)
             from lk in Gen.Choose(0, 5)
             from wk in Gen.Choose(0, 9)
             from pick in ArbMap.Default.GeneratorFor<int>()
             select new Case(seed, size, lk, wk, pick);
            return Arb.From(gen, ShrinkCase);
        }

        private static IEnumerable<Case> ShrinkCase(Case c)
        {
            if (c.Size > 1)
            {
                yield return c with { Size = 1 };
                yield return c with { Size = c.Size / 2 };
                yield return c with { Size = c.Size - 1 };
            }
        }
    }

    internal sealed record Built(SgTable Table, ulong[] Lengths, ulong Total, ulong Address, ulong Length);

    internal static Built Build(Case c)
    {
        var rng = new Random(c.Seed);
        var sgt = new SgTable();
        Assert(SgTable.Alloc(sgt, c.Size, rng) == 0, "sg_alloc_table");
        var lengths = new ulong[c.Size];
        ulong addr = c.LengthKind == 5 ? unchecked(0UL - (ulong)c.Size * 65536) : (ulong)rng.NextInt64() << 1;
        ulong total = 0;
        var cur = sgt.Sgl;
        for (int k = 0; k < c.Size; k++)
        {
            uint len = c.LengthKind switch
            {
                0 => 65536,
                1 => (uint)rng.Next(0, 64) * 4096,                                   // zero-length entries likely
                2 => rng.Next(8) == 0 ? 0xfffff000u : (uint)rng.Next(1, 1 << 20) * 4096, // maximal lengths, offsets past 2^32
                3 => (uint)rng.Next(0, 300000),                                        // odd sizes (bounce tables)
                4 => rng.Next(4) switch { 0 => 0, 1 => 0xfffff000u, 2 => 4096, _ => (uint)rng.Next(1, 100) * 4096 },
                _ => 65536,                                                            // contiguous, ending at 2^64
            };
            ref var e = ref sgt.At(cur);
            e.DmaAddress = c.LengthKind is 0 or 5 ? addr : (ulong)rng.NextInt64() ^ ((ulong)(uint)rng.Next(2) << 63);
            e.DmaLength = len;
            e.Length = len;
            addr = unchecked(addr + len);
            lengths[k] = len;
            total += len;
            cur = sgt.Next(cur);
        }
        sgt.MarkChanged();

        ulong boundary = Boundary(lengths, (int)((uint)c.Pick % (uint)(c.Size + 1)));
        ulong r1 = total == 0 ? 0 : (ulong)rng.NextInt64((long)Math.Min(total, long.MaxValue));
        ulong r2 = (ulong)rng.NextInt64(0, 1L << 40);
        (ulong address, ulong length) = c.WindowKind switch
        {
            0 => (r1, Math.Max(1UL, Math.Min(r2, total - r1))),        // inside the table
            1 => (0UL, total),                                         // whole
            2 => (boundary, 4096UL),                                   // from an entry boundary
            3 => (0UL, boundary),                                      // up to an entry boundary (0 = empty window)
            4 => (boundary, 0UL),                                      // zero-length, aligned
            5 => (r1 | 0x123, 0UL),                                    // zero-length, unaligned
            6 => (r1, total + r2),                                    // past the end
            7 => (r1, unchecked(0UL - r1 + (r2 & 0xffff))),           // address + length wraps past 2^64
            8 => (((ulong)rng.NextInt64() << 1) | (uint)rng.Next(2), (ulong)rng.NextInt64() << 1), // anything
            _ => (total + r2, 4096UL),                                 // starts past the end
        };
        return new Built(sgt, lengths, total, address, length);
    }

    private static ulong Boundary(ulong[] lengths, int k)
    {
        ulong s = 0;
        for (int i = 0; i < k; i++)
        {
            s += lengths[i];
        }
        return s;
    }

    private static Scatterlist[][] Snapshot(SgTable t) => [.. t.Chunks.Select(c => (Scatterlist[])c.Clone())];

    private static bool Same(Scatterlist[][] a, SgTable t) =>
        a.Length == t.Chunks.Length &&
        a.Select((c, k) => MemoryMarshal.AsBytes(c.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(t.Chunks[k].AsSpan()))).All(x => x);

    private static void Assert(bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidOperationException(what);
        }
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(Arbitraries)])]
    public void IndexedEqualsWalkAndUnmapRestores(Case c)
    {
        var b = Build(c);
        var original = Snapshot(b.Table);
        var walk = UmemDmabufTrim.Walk(b.Table, b.Address, b.Length);
        var afterWalk = Snapshot(b.Table);
        UmemDmabufTrim.Unmap(b.Table, walk);
        Assert(Same(original, b.Table), "walk: map + unmap is not the identity");

        var index = new SgTrimIndex();
        var indexed = UmemDmabufTrim.Indexed(b.Table, index, b.Address, b.Length);
        Assert(indexed == walk, $"indexed {indexed} != walk {walk}");
        Assert(Same(afterWalk, b.Table), "indexed left a different table than walk");
        UmemDmabufTrim.Unmap(b.Table, indexed);
        Assert(Same(original, b.Table), "indexed: map + unmap is not the identity");

        // The same index again (warm), on the restored table: same answer.
        var again = UmemDmabufTrim.Indexed(b.Table, index, b.Address, b.Length);
        Assert(again == walk, "warm index differs");
        UmemDmabufTrim.Unmap(b.Table, again);
        Assert(Same(original, b.Table), "warm indexed: map + unmap is not the identity");
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(Arbitraries)])]
    public void TrimRelationsHold(Case c)
    {
        var b = Build(c);
        int n = b.Lengths.Length;
        var r = UmemDmabufTrim.Walk(b.Table, b.Address, b.Length);
        ulong start = b.Address & ~4095UL;
        ulong end = unchecked(b.Address + b.Length + 4095) & ~4095UL;
        Assert(r.WindowStart == start && r.WindowEnd == end, "window");
        Assert(r.Walked >= 1 && r.Walked <= n, "walked in 1..n");
        Assert(r.Nmap <= (uint)r.Walked, "nmap <= walked");
        Assert(r.HasLast ? r.Walked == r.LastSgIndex + 1 : r.Walked == n, "the walk stops at last_sg");
        if (r.HasFirst && r.HasLast)
        {
            Assert(r.LastSgIndex == r.FirstSgIndex + (int)r.Nmap - 1, "last_sg == first_sg + nmap - 1");
        }
        if (r.HasFirst)
        {
            ulong before = Boundary(b.Lengths, r.FirstSgIndex);
            Assert(r.FirstSgOffset == start - before && r.FirstSgOffset < b.Lengths[r.FirstSgIndex], "first_sg holds start");
        }
        else
        {
            Assert(r.FirstSgOffset == 0, "no first_sg: offset 0");
            Assert(start >= b.Total || (r.HasLast && end <= start) || r.Nmap == 0, "no first_sg only when start is outside or the walk stopped first");
        }
        if (!r.HasLast)
        {
            Assert(r.LastSgTrim == 0, "no last_sg: trim 0");
        }
        if (start < end && end <= b.Total)
        {
            // A proper window inside the table: the umem's entries cover exactly [start, end).
            Assert(r.HasFirst && r.HasLast, "window inside the table has both ends");
            ulong covered = 0;
            var cur = r.FirstSg;
            for (uint k = 0; k < r.Nmap; k++)
            {
                covered += b.Table.At(cur).DmaLength;
                cur = b.Table.Next(cur);
            }
            Assert(covered == end - start, $"covered {covered} != end - start {end - start}");
        }
        if (start >= b.Total)
        {
            Assert(!r.HasFirst && r.Nmap == 0, "window starting past the table maps nothing");
        }
        UmemDmabufTrim.Unmap(b.Table, r);
    }
}
