using System.Runtime.InteropServices;
using System.Text.Json;
using Sim.Machine;
using Sim.Core.Lib;
using Sim.Core.Replay;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// Every line of data/vectors/sg_trim*.jsonl (expectations computed by the vector oracle from the kernel's loop):
/// build the chained table from <c>sg</c>, map, compare every <c>expect</c> field, unmap, compare with <c>sg</c>;
/// once with <see cref="UmemDmabufTrim.Walk"/> (also <c>walked</c>) and once with <see cref="UmemDmabufTrim.Indexed"/>.
/// </summary>
public sealed class UmemDmabufVectorTests
{
    private static readonly string[] s_files = ["sg_trim.jsonl", "sg_trim_edge.jsonl", "sg_trim_large.jsonl"];

    private static readonly Lazy<Dictionary<string, List<JsonElement>>> s_lines = new(Load);

    private static Dictionary<string, List<JsonElement>> Load()
    {
        string dir = Path.Combine(DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found"), "vectors");
        var all = new Dictionary<string, List<JsonElement>>(StringComparer.Ordinal);
        foreach (var f in s_files)
        {
            using var reader = new TraceReader(Path.Combine(dir, f));
            Assert.Equal(DataFileKind.SgTrimVectors, reader.Kind);
            var list = new List<JsonElement>();
            foreach (var ev in reader.Events())
            {
                Assert.Equal("sg_trim", ev.Op);
                list.Add(ev.Root.Clone());
            }
            all.Add(f, list);
        }
        return all;
    }

    public static TheoryData<string, int, string> Vectors()
    {
        var data = new TheoryData<string, int, string>();
        foreach (var (file, lines) in s_lines.Value)
        {
            for (int k = 0; k < lines.Count; k++)
            {
                data.Add(file, k, lines[k].GetProperty("id").GetString()!);
            }
        }
        return data;
    }

    [Fact]
    public void AllVectorLinesAreThere()
    {
        // Line counts from data/vectors/README.md.
        Assert.Equal(613, s_lines.Value["sg_trim.jsonl"].Count);
        Assert.Equal(73, s_lines.Value["sg_trim_edge.jsonl"].Count);
        Assert.Equal(3, s_lines.Value["sg_trim_large.jsonl"].Count);
    }

    [Theory]
    [MemberData(nameof(Vectors), DisableDiscoveryEnumeration = true)]
    public void WalkMatchesVector(string file, int line, string id) => Check(file, line, id, indexed: false);

    [Theory]
    [MemberData(nameof(Vectors), DisableDiscoveryEnumeration = true)]
    public void IndexedMatchesVector(string file, int line, string id) => Check(file, line, id, indexed: true);

    private static void Check(string file, int line, string id, bool indexed)
    {
        var v = s_lines.Value[file][line];
        Assert.Equal(id, v.GetProperty("id").GetString());
        Assert.Equal(4096UL, U64(v.GetProperty("page_size")));
        var sg = v.GetProperty("sg").EnumerateArray().Select(e => (Addr: U64(e.GetProperty("dma_address")), Len: (uint)U64(e.GetProperty("dma_length")))).ToArray();
        var sgt = new SgTable();
        Assert.Equal(0, SgTable.Alloc(sgt, sg.Length, new Random(line + 1)));
        var cursors = sgt.DmaSgs().ToArray();
        Assert.Equal(sg.Length, cursors.Length);
        for (int k = 0; k < sg.Length; k++)
        {
            ref var e = ref sgt.At(cursors[k]);
            e.DmaAddress = sg[k].Addr;
            e.DmaLength = sg[k].Len;
        }
        sgt.MarkChanged();
        var before = sgt.Chunks.Select(c => (Scatterlist[])c.Clone()).ToArray();

        ulong address = U64(v.GetProperty("address"));
        ulong length = U64(v.GetProperty("length"));
        var r = indexed ? UmemDmabufTrim.Indexed(sgt, new SgTrimIndex(), address, length) : UmemDmabufTrim.Walk(sgt, address, length);

        var x = v.GetProperty("expect");
        string what = $"{file} line {line + 1} {id} ({(indexed ? "Indexed" : "Walk")})";
        Assert.True(Index(x, "first_sg") == r.FirstSgIndex, $"{what}: first_sg expected {Index(x, "first_sg")}, got {r.FirstSgIndex}");
        Assert.True(U64(x.GetProperty("first_sg_offset")) == r.FirstSgOffset, $"{what}: first_sg_offset expected {U64(x.GetProperty("first_sg_offset"))}, got {r.FirstSgOffset}");
        Assert.True(Index(x, "last_sg") == r.LastSgIndex, $"{what}: last_sg expected {Index(x, "last_sg")}, got {r.LastSgIndex}");
        Assert.True(U64(x.GetProperty("last_sg_trim")) == r.LastSgTrim, $"{what}: last_sg_trim expected {U64(x.GetProperty("last_sg_trim"))}, got {r.LastSgTrim}");
        Assert.True(U64(x.GetProperty("nmap")) == r.Nmap, $"{what}: nmap expected {U64(x.GetProperty("nmap"))}, got {r.Nmap}");
        if (!indexed)
        {
            Assert.True(U64(x.GetProperty("walked")) == (ulong)r.Walked, $"{what}: walked expected {U64(x.GetProperty("walked"))}, got {r.Walked}");
        }
        // The umem's table: sgl = first_sg, nents = nmap.
        Assert.Equal(r.FirstSgIndex < 0 ? SgCursor.Null : cursors[r.FirstSgIndex], r.UmemSgl);
        Assert.Equal(r.Nmap, r.UmemNents);
        Assert.Equal(r.LastSgIndex < 0 ? SgCursor.Null : cursors[r.LastSgIndex], r.LastSg);

        // trimmed = entries first_sg .. first_sg + nmap - 1 after the trim; every other entry unchanged.
        var trimmed = x.GetProperty("trimmed").EnumerateArray().ToArray();
        int first = r.FirstSgIndex;
        int count = first < 0 ? 0 : (int)r.Nmap;
        Assert.True(trimmed.Length == count, $"{what}: trimmed has {trimmed.Length} entries, the umem describes {count}");
        for (int k = 0; k < sg.Length; k++)
        {
            ref var e = ref sgt.At(cursors[k]);
            ulong wantAddr = sg[k].Addr;
            uint wantLen = sg[k].Len;
            if (first >= 0 && k >= first && k < first + count)
            {
                wantAddr = U64(trimmed[k - first].GetProperty("dma_address"));
                wantLen = (uint)U64(trimmed[k - first].GetProperty("dma_length"));
            }
            else if (k == r.LastSgIndex)
            {
                // last_sg outside the counted region (only when first_sg is NULL): its length shrank by the trim.
                wantLen = unchecked(wantLen - (uint)U64(x.GetProperty("last_sg_trim")));
            }
            Assert.True(wantAddr == e.DmaAddress && wantLen == e.DmaLength,
                $"{what}: entry {k} expected 0x{wantAddr:x}/{wantLen}, got 0x{e.DmaAddress:x}/{e.DmaLength}");
        }

        UmemDmabufTrim.Unmap(sgt, r);
        for (int c = 0; c < before.Length; c++)
        {
            Assert.True(MemoryMarshal.AsBytes(before[c].AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(sgt.Chunks[c].AsSpan())),
                $"{what}: chunk {c} not restored byte for byte by unmap");
        }
    }

    private static long Index(JsonElement expect, string name)
    {
        var e = expect.GetProperty(name);
        return e.ValueKind == JsonValueKind.Null ? -1 : (long)U64(e);
    }

    private static ulong U64(JsonElement e)
    {
        Assert.True(TraceNumber.TryGetU64(e, out ulong v), $"not an integer: {e.GetRawText()}");
        return v;
    }
}
