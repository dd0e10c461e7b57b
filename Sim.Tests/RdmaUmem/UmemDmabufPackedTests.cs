using System.Text.Json;
using FsCheck.Xunit;
using Sim.Core.Lib;
using Sim.Core.Replay;
using Sim.Machine;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// <see cref="UmemDmabufTrim.Packed"/> against <see cref="UmemDmabufTrim.Walk"/>, the faithful kernel loop: on the
/// random tables and windows of <see cref="UmemDmabufTrimProperties"/> and on every line of the bundled vectors, the
/// same <see cref="TrimResult"/> (cursors included), packed arrays after the trim equal to the table's DMA view after
/// the walk, and the packed restore giving back the packed table it started from.
/// </summary>
public sealed class UmemDmabufPackedTests
{
    private static readonly string[] s_files = ["sg_trim.jsonl", "sg_trim_edge.jsonl", "sg_trim_large.jsonl"];

    private static readonly Lazy<List<JsonElement>> s_lines = new(Load);

    private static List<JsonElement> Load()
    {
        string dir = Path.Combine(DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found"), "vectors");
        var list = new List<JsonElement>();
        foreach (var f in s_files)
        {
            using var reader = new TraceReader(Path.Combine(dir, f));
            foreach (var ev in reader.Events())
            {
                list.Add(ev.Root.Clone());
            }
        }
        return list;
    }

    private static (ulong[] Addr, uint[] Len) DmaView(SgTable t)
    {
        var addr = new List<ulong>();
        var len = new List<uint>();
        foreach (var c in t.DmaSgs())
        {
            addr.Add(t.At(c).DmaAddress);
            len.Add(t.At(c).DmaLength);
            if (t.At(c).IsLast)
            {
                break;
            }
        }
        return ([.. addr], [.. len]);
    }

    private static void Check(SgTable sgt, ulong address, ulong length, string what)
    {
        var packed = SgPackedTable.From(sgt);
        var (addr0, len0) = DmaView(sgt);
        Assert.Equal(addr0, packed.DmaAddress.ToArray());
        Assert.Equal(len0, packed.DmaLength.ToArray());

        var walk = UmemDmabufTrim.Walk(sgt, address, length);
        var (addr1, len1) = DmaView(sgt);
        UmemDmabufTrim.Unmap(sgt, walk);

        var p = UmemDmabufTrim.Packed(packed, address, length);
        Assert.True(p == walk, $"{what}: packed {p} != walk {walk}");
        Assert.True(addr1.AsSpan().SequenceEqual(packed.DmaAddress) && len1.AsSpan().SequenceEqual(packed.DmaLength),
            $"{what}: packed arrays after the trim differ from the table after the walk");
        UmemDmabufTrim.UnmapPacked(packed, p);
        Assert.True(addr0.AsSpan().SequenceEqual(packed.DmaAddress) && len0.AsSpan().SequenceEqual(packed.DmaLength),
            $"{what}: packed map + unmap is not the identity");
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(UmemDmabufTrimProperties.Arbitraries)])]
    public void PackedEqualsWalkOnRandomTables(UmemDmabufTrimProperties.Case c)
    {
        var b = UmemDmabufTrimProperties.Build(c);
        Check(b.Table, b.Address, b.Length, c.ToString());
        b.Table.Free();
    }

    [Fact]
    public void PackedEqualsWalkOnEveryVector()
    {
        var lines = s_lines.Value;
        Assert.Equal(613 + 73 + 3, lines.Count);
        for (int line = 0; line < lines.Count; line++)
        {
            var v = lines[line];
            Assert.True(TraceNumber.TryGetU64(v.GetProperty("address"), out ulong address));
            Assert.True(TraceNumber.TryGetU64(v.GetProperty("length"), out ulong length));
            var sg = v.GetProperty("sg").EnumerateArray().ToArray();
            var sgt = new SgTable();
            Assert.Equal(0, SgTable.Alloc(sgt, sg.Length, new Random(line + 1)));
            int k = 0;
            foreach (var c in sgt.DmaSgs())
            {
                ref var e = ref sgt.At(c);
                Assert.True(TraceNumber.TryGetU64(sg[k].GetProperty("dma_address"), out e.DmaAddress));
                Assert.True(TraceNumber.TryGetU64(sg[k].GetProperty("dma_length"), out ulong len));
                e.DmaLength = (uint)len;
                k++;
            }
            sgt.MarkChanged();
            Check(sgt, address, length, v.GetProperty("id").GetString()!);
            sgt.Free();
        }
    }

    [Fact]
    public void PackedStopsWhereTheListEnds()
    {
        // nents larger than the list (SG_END on entry 2 of 3 after the trim of a table): the walk and the packing
        // both stop at the end-marked entry.
        var sgt = new SgTable();
        Assert.Equal(0, SgTable.Alloc(sgt, 3));
        ulong dma = 0x10000;
        foreach (var c in sgt.DmaSgs())
        {
            ref var e = ref sgt.At(c);
            e.DmaAddress = dma;
            e.DmaLength = 0x2000;
            dma += 0x2000;
        }
        sgt.At(sgt.Nth(1)).PageLink |= Scatterlist.SG_END;
        sgt.MarkChanged();
        var packed = SgPackedTable.From(sgt);
        Assert.Equal(2, packed.Count);
        Check(sgt, 0x1000, 0x100000, "end-marked entry 1");
        sgt.Free();
    }
}
