using System.Buffers.Binary;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.DmaBuf;
using Sim.DmaBuf.Replay;
using Xunit;
using Buf = Sim.DmaBuf.DmaBuf;

namespace Sim.Tests.Infrastructure;

/// <summary>
/// Stands in for the DRM side of the sg traces' buffer-creating unlogged entries (CREATE_DUMB with exact
/// <c>buffer_pfns</c>, PRIME_HANDLE_TO_FD to fd 6 through a <see cref="VgemLikeExporter"/>, mmap, pattern_fill, munmap,
/// close, GEM_CLOSE) until the vgem model registers its own. Registered after the models, its file-start hook wins.
/// </summary>
public sealed class VgemUnloggedStandIn(DmaBufList list, DmaMapping dma) : IReplayOpProvider
{
    private ulong[] _pfns = [];
    private long _addr;
    private ulong _size;

    public void Register(ReplayOpTable table) => table.OnFileStart(ctx =>
    {
        var u = ctx.State<UnloggedActions>();
        // vgem's platform device, made at the first export (after the edu device, as at boot: it takes no IOMMU group first).
        Device? vgemDev = null;
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
            vgemDev ??= dma.CreateDevice("vgem");
            var exp = new VgemLikeExporter(_pfns, dma, vgemDev);
            var (buf, err) = Buf.Export(list, new DmaBufExportInfo { ExpName = "drm", Ops = exp.Ops, Size = _size, Flags = OpenFlags.O_RDWR, Priv = exp });
            Assert.Equal(0, err);
            int fd = buf!.Fd(c.State<TracedProcess>().Process!, OpenFlags.O_CLOEXEC);
            Assert.Equal(e.GetProperty("ret_fd").GetInt32(), fd);
        });
        u.Register("mmap", (c, e) =>
        {
            _addr = c.State<TracedProcess>().Process!.Mmap(_size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, e.GetProperty("fd").GetInt32(), 0);
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
                Assert.Equal(0, c.State<TracedProcess>().Process!.Store((ulong)_addr + o, page));
            }
        });
        u.Register("munmap", (c, e) => Assert.Equal(0, c.State<TracedProcess>().Process!.Munmap((ulong)_addr, _size)));
        u.Register("close", (c, e) => Assert.Equal(0, c.State<TracedProcess>().Process!.Close(e.GetProperty("fd").GetInt32())));
        u.Register("DRM_IOCTL_GEM_CLOSE", (c, e) => { });
    });
}
