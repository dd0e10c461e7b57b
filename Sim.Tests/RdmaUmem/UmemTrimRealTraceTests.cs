using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core;
using Sim.Core.Lib;
using Sim.Core.Replay;
using Sim.RdmaUmem;
using Xunit;

namespace Sim.Tests.RdmaUmem;

/// <summary>
/// The <c>sgcap-reimpl</c> map_pages events of the real linux-6.1-sg captures, replayed on tables that a stand-in for
/// the DMA mapping model copies from the trace's own mapping events (moved to another IOVA/bounce base under iommu and
/// swiotlb, so the per-mode address rules are exercised): every captured trim result, trimmed view and restore must
/// match, in all three DMA paths.
/// </summary>
public sealed class UmemTrimRealTraceTests
{
    private const ulong Shift = 0x20_0000; // 2 MiB: keeps page alignment, changes every address

    /// <summary>Copies each mapped table of the trace into <see cref="SgReplayState"/> (what the DMA model will do).</summary>
    private sealed class TableFromTrace : IReplayOpProvider
    {
        public void Register(ReplayOpTable table)
        {
            table.Replace("dma_map_sgtable", (ctx, ev, check) =>
            {
                if (ev.Ret == 0)
                {
                    ctx.State<SgReplayState>().MappedByCase[ev.ArgI64("case")] = Build(ctx, ev);
                }
            });
            table.Add("dma_buf_map_attachment_unlocked", (ctx, ev, check) =>
            {
                var s = ctx.State<SgReplayState>();
                if (ev.Ret == 0 && ev.HasArg("tag") && ev.ArgString("attachment") is null && !s.FirstMapByTag.ContainsKey(ev.ArgI64("tag")))
                {
                    s.FirstMapByTag[ev.ArgI64("tag")] = Build(ctx, ev);
                }
            });
        }

        private static SgTable Build(ReplaySession ctx, TraceEvent ev)
        {
            var entries = ev.Result.GetProperty("entries").EnumerateArray().ToArray();
            int nents = (int)ev.ResultI64("nents");
            var sgt = new SgTable();
            Assert.Equal(0, SgTable.Alloc(sgt, entries.Length, new Random((int)ev.I)));
            ulong shift = ctx.Options.DmaPath == Sim.Core.Boot.DmaPath.Direct ? 0 : Shift;
            var c = sgt.Sgl;
            for (int k = 0; k < entries.Length; k++)
            {
                var e = entries[k];
                ref var s = ref sgt.At(c);
                s.SetPage(U64(e, "pfn"), (uint)U64(e, "length"), (uint)U64(e, "offset"));
                ulong a = U64(e, "dma_address");
                s.DmaAddress = k < nents && a != ulong.MaxValue ? a + shift : a;
                s.DmaLength = (uint)U64(e, "dma_length");
                c = sgt.Next(c);
            }
            sgt.Nents = nents;
            return sgt;
        }

        private static ulong U64(JsonElement e, string name)
        {
            Assert.True(TraceNumber.TryGetU64(e.GetProperty(name), out ulong v));
            return v;
        }
    }

    public static TheoryData<string> Files() =>
    [
        "dma_map_seed11_direct.jsonl", "dma_map_seed11_iommu.jsonl", "dma_map_seed11_swiotlb.jsonl",
        "dma_map_seed12_direct.jsonl", "dma_map_seed12_iommu.jsonl", "dma_map_seed12_swiotlb.jsonl",
        "dmabuf_vgem_seed21_direct.jsonl", "dmabuf_vgem_seed21_iommu.jsonl", "dmabuf_vgem_seed21_swiotlb.jsonl",
        "dmabuf_vgem_seed22_direct.jsonl", "dmabuf_vgem_seed22_iommu.jsonl", "dmabuf_vgem_seed22_swiotlb.jsonl",
    ];

    [Theory]
    [MemberData(nameof(Files))]
    public void ReimplEventsMatchTheCapture(string file)
    {
        string path = Path.Combine(DataLocator.FindDataDir()!, "traces", "linux-6.1-sg", file);
        int reimpl = File.ReadLines(path).Count(l => l.Contains("\"impl\":\"sgcap-reimpl\"", StringComparison.Ordinal));
        Assert.True(reimpl > 0);
        var engine = new ReplayEngine(options =>
        {
            var services = new ServiceCollection();
            services.AddSimCore(options).AddRdmaUmem();
            services.AddSingleton<IReplayOpProvider, TableFromTrace>();
            return services.BuildServiceProvider();
        });
        var r = engine.ReplayFile(path);
        Assert.Null(r.FormatError);
        var diffs = r.Differences.Where(d => d.Op == "ib_umem_dmabuf_map_pages").Take(5).Select(d => d.ToString());
        Assert.True(r.Ops["ib_umem_dmabuf_map_pages"].Failed == 0, string.Join("\n", diffs));
        Assert.Equal(reimpl, r.Ops["ib_umem_dmabuf_map_pages"].Passed);
    }
}
