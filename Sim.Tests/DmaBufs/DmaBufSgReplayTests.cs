using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.DmaBufs;
using Sim.DmaBufs.Replay;
using Sim.Drm;
using Sim.RdmaUmem;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// The dma-buf events of linux-6.1-sg <c>dmabuf_vgem_seed21_*</c> (dma_buf_get, attach, map/unmap_attachment_unlocked,
/// detach, and the fresh-attachment pair) replayed against the dma-buf core, with the buffer-creating unlogged entries
/// (CREATE_DUMB, PRIME_HANDLE_TO_FD, mmap, pattern fill, munmap, close, GEM_CLOSE) performed by a vgem-like test exporter.
/// Every dma_buf_* event must pass (none skipped).
/// </summary>
public class DmaBufSgReplayTests
{
    private sealed class VgemUnlogged(DmaBufList list, DmaMapping dma) : IReplayOpProvider
    {
        private ulong[] _pfns = [];
        private long _addr;
        private ulong _size;

        public void Register(ReplayOpTable table) => table.OnFileStart(ctx =>
        {
            var u = ctx.Unlogged;
            var vgemDev = dma.CreateDevice("vgem");
            u.Register("DRM_IOCTL_MODE_CREATE_DUMB", (c, e) =>
            {
                var args = u.Current!.Args;
                _size = args.GetProperty("vgem_buffer").GetProperty("size").GetUInt64();
                var pfns = new List<ulong>();
                foreach (var p in args.GetProperty("buffer_pfns").EnumerateArray())
                {
                    pfns.Add(p.GetUInt64());
                }
                _pfns = [.. pfns];
            });
            u.Register("DRM_IOCTL_PRIME_HANDLE_TO_FD", (c, e) =>
            {
                var exp = new VgemLikeExporter(_pfns, dma, vgemDev);
                var (buf, err) = DmaBuf.Export(list, new DmaBufExportInfo { ExpName = "drm", Ops = exp.Ops, Size = _size, Flags = OpenFlags.O_RDWR, Priv = exp });
                Assert.Equal(0, err);
                int fd = buf!.Fd(c.TracedProcessOrNull!, OpenFlags.O_CLOEXEC);
                Assert.Equal(e.GetProperty("ret_fd").GetInt32(), fd);
            });
            u.Register("mmap", (c, e) =>
            {
                _addr = c.TracedProcessOrNull!.Mmap(_size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, e.GetProperty("fd").GetInt32(), 0);
                Assert.True(_addr > 0);
            });
            u.Register("pattern_fill", (c, e) =>
            {
                long tag = u.Current!.ArgI64("tag");
                var page = new byte[4096];
                for (ulong o = 0; o < _size; o += 4096)
                {
                    for (int w = 0; w < 4096; w += 4)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(w), DmaBufReplayOps.SgcapPattern(tag, o + (ulong)w));
                    }
                    Assert.Equal(0, c.TracedProcessOrNull!.Store((ulong)_addr + o, page));
                }
            });
            u.Register("munmap", (c, e) => Assert.Equal(0, c.TracedProcessOrNull!.Munmap((ulong)_addr, _size)));
            u.Register("close", (c, e) => Assert.Equal(0, c.TracedProcessOrNull!.Close(e.GetProperty("fd").GetInt32())));
            u.Register("DRM_IOCTL_GEM_CLOSE", (c, e) => { });
        });
    }

    [Theory]
    [InlineData("direct")]
    [InlineData("iommu")]
    [InlineData("swiotlb")]
    public void Seed21DmaBufEventsPass(string mode)
    {
        string file = Path.Combine(Path.GetDirectoryName(DmaBufFileTests.DataDir())!, "linux-6.1-sg", $"dmabuf_vgem_seed21_{mode}.jsonl");
        var engine = new ReplayEngine(options =>
        {
            var s = new ServiceCollection();
            s.AddSimCore(options).AddDmaBuf().AddDrm().AddRdmaUmem();
            s.AddSingleton<IReplayOpProvider, VgemUnlogged>();
            return s.BuildServiceProvider();
        });
        var r = engine.ReplayFile(file);
        Assert.Null(r.FormatError);
        foreach (var op in new[] { "dma_buf_get", "dma_buf_attach", "dma_buf_map_attachment_unlocked", "dma_buf_unmap_attachment_unlocked", "dma_buf_detach" })
        {
            var c = r.Ops[op];
            Assert.True(c.Failed == 0 && c.Skipped == 0,
                $"{op}: {c.Passed} passed, {c.Failed} failed, {c.Skipped} skipped; " +
                string.Join("; ", r.Differences.Where(d => d.Op == op).Take(3)) + " " + r.SkipReasons.GetValueOrDefault(op));
        }
        Assert.Equal(24, r.Ops["dma_buf_get"].Passed);
        Assert.Equal(40, r.Ops["dma_buf_map_attachment_unlocked"].Passed);
    }
}
