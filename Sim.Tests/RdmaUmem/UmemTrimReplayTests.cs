using Microsoft.Extensions.DependencyInjection;
using Sim.Core;
using Sim.Core.Boot;
using Sim.Core.Lib;
using Sim.Core.Replay;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// The <c>sgcap-reimpl</c> map_pages handler on a hand-made trace. A stand-in <c>dma_map_sgtable</c> handler puts a
/// table into <see cref="SgReplayState"/> (as the DMA mapping model will), placed at a different IOVA base than the
/// trace's so that the per-mode address rules are exercised. Expected values are worked out by hand from the
/// kernel loop (comments), the layout of the README's example (dmabuf_vgem_seed21_iommu i=199).
/// </summary>
public sealed class UmemTrimReplayTests : IDisposable
{
    private const ulong TraceBase = 4286054400;    // the captured IOVA base of the README example
    private const ulong ModelShift = 0x10_0000;    // the stand-in maps the same table 1 MiB higher

    private readonly string _dir = Directory.CreateTempSubdirectory("umem-trim-test").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Stand-in for the dma_map_sgtable model: the trace's DMA view, moved by <see cref="ModelShift"/>.</summary>
    private sealed class FakeDmaMap : IReplayOpProvider
    {
        public void Register(ReplayOpTable table) => table.Replace("dma_map_sgtable", (ctx, ev, check) =>
        {
            var entries = ev.Result.GetProperty("entries").EnumerateArray().ToArray();
            var sgt = new SgTable();
            Xunit.Assert.Equal(0, SgTable.Alloc(sgt, entries.Length));
            var c = sgt.Sgl;
            foreach (var e in entries)
            {
                ref var s = ref sgt.At(c);
                Xunit.Assert.True(TraceNumber.TryGetU64(e.GetProperty("dma_address"), out ulong a));
                s.DmaAddress = a + ModelShift;
                s.DmaLength = e.GetProperty("dma_length").GetUInt32();
                s.Length = s.DmaLength;
                c = sgt.Next(c);
            }
            sgt.Nents = (int)ev.ResultI64("nents");
            ctx.State<SgReplayState>().MappedByCase[ev.ArgI64("case")] = sgt;
        });
    }

    private FileResult Replay(string dmaPath, params string[] events)
    {
        string path = Path.Combine(_dir, $"t-{dmaPath}.jsonl");
        var lines = new List<string> { $"{{\"format\":\"dmabuf-trace\",\"version\":1,\"machine_config\":{{\"dma_path\":\"{dmaPath}\"}}}}" };
        lines.Add($"{{\"i\":0,\"op\":\"dma_map_sgtable\",\"args\":{{\"case\":0}},\"result\":{{\"ret\":0,\"orig_nents\":3,\"nents\":3,\"entries\":[" +
                  $"{{\"offset\":0,\"length\":16384,\"dma_address\":{TraceBase},\"dma_length\":16384}}," +
                  $"{{\"offset\":0,\"length\":61440,\"dma_address\":{TraceBase + 16384},\"dma_length\":61440}}," +
                  $"{{\"offset\":0,\"length\":8192,\"dma_address\":{TraceBase + 77824},\"dma_length\":8192}}]}}}}");
        for (int k = 0; k < events.Length; k++)
        {
            lines.Add(events[k].Replace("\"i\":N", $"\"i\":{k + 1}", StringComparison.Ordinal));
        }
        File.WriteAllLines(path, lines);
        var engine = new ReplayEngine(options =>
        {
            var services = new ServiceCollection();
            services.AddSimCore(options).AddRdmaUmem();
            services.AddSingleton<IReplayOpProvider, FakeDmaMap>();
            return services.BuildServiceProvider();
        });
        var result = engine.ReplayFile(path);
        Assert.Null(result.FormatError);
        return result;
    }

    private static string Entry(ulong a, ulong l) => $"{{\"dma_address\":{a},\"dma_length\":{l}}}";

    // Window [4096, 8192): entry 0 holds start (offset 4096) and end (trim 16384 - 4096 - 4096 = 8192); nmap 1.
    private static string SecondPage(ulong firstLen = 4096) =>
        "{\"i\":N,\"op\":\"ib_umem_dmabuf_map_pages\",\"args\":{\"impl\":\"sgcap-reimpl\",\"table\":\"dma_map_sgtable\",\"case\":0," +
        "\"address\":4096,\"length\":4096,\"window_start\":4096,\"window_end\":8192},\"result\":{\"ret\":0,\"first_sg\":0," +
        "\"first_sg_offset\":4096,\"last_sg\":0,\"last_sg_trim\":8192,\"nmap\":1,\"trimmed\":[" +
        Entry(TraceBase + 4096, firstLen) + "," + Entry(TraceBase + 16384, 61440) + "," + Entry(TraceBase + 77824, 8192) +
        "],\"unmap_restored_exact\":true}}";

    // address 20000, length 60000: start 16384, end ALIGN(80000) = 81920. Entry 0 [0, 16384) is below start; entry 1
    // [16384, 77824) holds start at offset 0 (first_sg 1); entry 2 [77824, 86016) holds end: trim 86016 - 81920 = 4096.
    private const string Inner =
        "{\"i\":N,\"op\":\"ib_umem_dmabuf_map_pages\",\"args\":{\"impl\":\"sgcap-reimpl\",\"table\":\"dma_map_sgtable\",\"case\":0," +
        "\"address\":20000,\"length\":60000,\"window_start\":16384,\"window_end\":81920},\"result\":{\"ret\":0,\"first_sg\":1," +
        "\"first_sg_offset\":0,\"last_sg\":2,\"last_sg_trim\":4096,\"nmap\":2,\"trimmed\":[" +
        "{\"dma_address\":4286054400,\"dma_length\":16384},{\"dma_address\":4286070784,\"dma_length\":61440}," +
        "{\"dma_address\":4286132224,\"dma_length\":4096}],\"unmap_restored_exact\":true}}";

    [Fact]
    public void IommuComparesAddressesRelativeToEachTablesBase()
    {
        var r = Replay("iommu", SecondPage(), Inner);
        Assert.Empty(r.Differences);
        Assert.Equal(2, r.Ops["ib_umem_dmabuf_map_pages"].Passed);
    }

    [Fact]
    public void DirectComparesAddressesExactly()
    {
        // The stand-in's table sits 1 MiB off the captured addresses: under dma-direct that is a difference.
        var r = Replay("direct", Inner);
        Assert.Equal(1, r.Ops["ib_umem_dmabuf_map_pages"].Failed);
        Assert.Contains(r.Differences, d => d.Field == "result.trimmed[0].dma_address");
    }

    [Fact]
    public void SwiotlbComparesBounceAddressesStructurally()
    {
        var r = Replay("swiotlb", SecondPage(), Inner);
        Assert.Empty(r.Differences);
        Assert.Equal(2, r.Ops["ib_umem_dmabuf_map_pages"].Passed);
    }

    [Fact]
    public void AWrongTrimmedLengthFails()
    {
        var r = Replay("iommu", SecondPage(firstLen: 8192));
        Assert.Equal(1, r.Ops["ib_umem_dmabuf_map_pages"].Failed);
        Assert.Contains(r.Differences, d => d.Field == "result.trimmed[0].dma_length" && d.Expected == "8192" && d.Actual == "4096");
    }

    [Fact]
    public void WrongWindowAndResultFieldsFail()
    {
        string ev = Inner.Replace("\"window_end\":81920", "\"window_end\":77824", StringComparison.Ordinal)
            .Replace("\"nmap\":2", "\"nmap\":3", StringComparison.Ordinal);
        var r = Replay("iommu", ev);
        Assert.Contains(r.Differences, d => d.Field == "args.window_end");
        Assert.Contains(r.Differences, d => d.Field == "result.nmap" && d.Expected == "3" && d.Actual == "2");
    }

    [Fact]
    public void NoTableIsSkippedAndUverbsFlavourIsSkipped()
    {
        string noTable = Inner.Replace("\"case\":0", "\"case\":5", StringComparison.Ordinal);
        string uverbs = "{\"i\":N,\"op\":\"ib_umem_dmabuf_map_pages\",\"args\":{\"impl\":\"ib_uverbs\",\"address\":0,\"length\":4096},\"result\":{\"ret\":0}}";
        var r = Replay("iommu", noTable, uverbs);
        Assert.Equal(2, r.Ops["ib_umem_dmabuf_map_pages"].Skipped);
        Assert.Equal("no mapped table for case 5", r.SkipReasons["ib_umem_dmabuf_map_pages"]);
    }

    [Fact]
    public void ComposedMachineRegistersTheTrimOps()
    {
        using var machine = Sim.Machine.Composition.BuildMachine(new MachineOptions());
        var table = new ReplayOpTable();
        foreach (var p in machine.GetServices<IReplayOpProvider>())
        {
            p.Register(table);
        }
        Assert.NotNull(table.Find("sg_trim"));
        Assert.NotNull(table.Find("ib_umem_dmabuf_map_pages"));
    }
}
