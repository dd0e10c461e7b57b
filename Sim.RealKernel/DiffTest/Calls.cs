using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Sim.DmaBufs.Uapi;
using Sim.Drm.Uapi;

namespace Sim.RealKernel.DiffTest;

/// <summary>The call families a differential campaign draws from.</summary>
[Flags]
public enum CallFamilies
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>openat / close / dup of card0 and renderD128, fcntl.</summary>
    Files = 1,

    /// <summary>MODE_CREATE_DUMB (random and edge geometries), MAP_DUMB, DESTROY_DUMB, mmap of the DRM fd, mem_*, munmap.</summary>
    Dumb = 2,

    /// <summary>GEM_CLOSE, GEM_FLINK, GEM_OPEN.</summary>
    Gem = 4,

    /// <summary>PRIME_HANDLE_TO_FD / FD_TO_HANDLE, dma-buf lseek / mmap / poll / fdinfo / SET_NAME / read.</summary>
    Prime = 8,

    /// <summary>DMA_BUF_IOCTL_SYNC, EXPORT/IMPORT_SYNC_FILE (never together with fences: a SYNC would block 10 s).</summary>
    Sync = 16,

    /// <summary>VGEM_FENCE_ATTACH / SIGNAL and polls (timeout 0).</summary>
    Fence = 32,

    /// <summary>
    /// Bad input: raw ioctls of every modelled request (and of neighbouring numbers: wrong size, direction, nr or
    /// type) with NULL, unmapped or zeroed arguments on every fd kind, closed and out-of-range fds, reserved flag
    /// bits, misaligned and overflowing mmap offsets and lengths, unknown lseek whence and fcntl commands.
    /// </summary>
    BadInput = 64,

    /// <summary>Every family of Linux 6.1 (Debian's 6.1 builds neither heaps nor udmabuf; sequences with fences leave out the blocking SYNC).</summary>
    All = Files | Dumb | Gem | Prime | Sync | Fence | BadInput,

    /// <summary>
    /// DMA-BUF heaps (Linux 6.12): DMA_HEAP_IOCTL_ALLOC on <c>/dev/dma_heap/system</c> (lengths 0, unaligned, huge;
    /// bad fd, fd_flags, heap_flags), raw ioctls of neighbouring numbers, the buffer's mmap, loads and stores, SYNC,
    /// lseek, poll, close.
    /// </summary>
    Heap = 128,

    /// <summary>
    /// udmabuf (Linux 6.12): memfd_create, ftruncate, F_ADD_SEALS / F_GET_SEALS, UDMABUF_CREATE and
    /// UDMABUF_CREATE_LIST (seals, misaligned offset and size, size_limit_mb, list_limit, a non-shmem fd), the buffer's
    /// mmap and the memfd's (aliasing), SYNC, close.
    /// </summary>
    Udmabuf = 256,

    /// <summary>Every family of Linux 6.12 (Debian's 6.12 builds the system heap and udmabuf in).</summary>
    All612 = All | Heap | Udmabuf,
}

/// <summary>
/// One call of a generated sequence, in the guest agent's syntax: the op and its arguments in order. <see cref="MapPick"/>
/// &gt;= 0 marks a call on a mapping (munmap, mem_*): it acts on the (<c>MapPick</c> mod count)-th earlier mmap of the
/// sequence, resolved when the sequence is rendered, so that removing calls while shrinking keeps it meaningful.
/// </summary>
public sealed record Call(string Op, IReadOnlyList<KeyValuePair<string, string>> Args, int MapPick = -1)
{
    /// <summary>The call with <c>mapping=</c> set.</summary>
    public string Render(int? mapping)
    {
        var sb = new StringBuilder(Op);
        foreach (var (k, v) in Args)
        {
            sb.Append(' ').Append(k).Append('=').Append(v);
        }
        if (mapping is { } m)
        {
            sb.Append(" mapping=").Append(m.ToString(CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Render(MapPick >= 0 ? MapPick : null);
}

/// <summary>FsCheck generators of call sequences on a fresh vgem device (card0 = fd 4 after the first open).</summary>
public static class CallGen
{
    private const long Offset0 = 0x100000000;

    private static KeyValuePair<string, string> A(string k, long v) => new(k, v.ToString(CultureInfo.InvariantCulture));

    private static KeyValuePair<string, string> A(string k, ulong v) => new(k, v.ToString(CultureInfo.InvariantCulture));

    private static KeyValuePair<string, string> S(string k, string v) => new(k, v);

    /// <summary>An fd number a call acts on: mostly the ones a short sequence opens (4..9), sometimes -1 or unused.</summary>
    public static Gen<long> Fd => Gen.Frequency((12, Gen.Constant(4L)), (6, Gen.Choose(5, 7).Select(x => (long)x)), (1, Gen.Choose(8, 9).Select(x => (long)x)), (1, Gen.Elements(-1L, 11L, 20L)));

    /// <summary>A GEM handle: the live ones of a short sequence (1..4), 0, or one never created.</summary>
    public static Gen<long> Handle => Gen.Frequency((10, Gen.Choose(1, 2).Select(x => (long)x)), (4, Gen.Choose(3, 4).Select(x => (long)x)), (1, Gen.Elements(0L, 7L, 0xFFFFFFFFL)));

    /// <summary>A width/height: edge values and random sizes.</summary>
    public static Gen<ulong> Dimension => Gen.Frequency(
        (6, Gen.Elements(1UL, 3UL, 7UL, 64UL, 640UL, 641UL, 1080UL, 1919UL, 1920UL)),
        (3, Gen.Choose(1, 4096).Select(x => (ulong)x)),
        (1, Gen.Elements(0UL, 65535UL, 65536UL, 0x08000000UL, 0x20000000UL, 0x7FFFFFFFUL, 0xFFFFFFFFUL)));

    /// <summary>A bpp: common values, odd ones, and the edges near U32_MAX.</summary>
    public static Gen<ulong> Bpp => Gen.Frequency(
        (6, Gen.Elements(8UL, 16UL, 24UL, 32UL)),
        (3, Gen.Elements(0UL, 1UL, 2UL, 7UL, 12UL, 15UL, 30UL, 33UL, 48UL, 64UL, 128UL, 255UL)),
        (1, Gen.Elements(0xFFFFFFF6UL, 0xFFFFFFF7UL, 0xFFFFFFF8UL, 0xFFFFFFFFUL, 0x55555556UL)));

    /// <summary>MODE_CREATE_DUMB, mostly small valid buffers so that later calls find objects.</summary>
    public static Gen<Call> CreateDumb =>
        from small in Gen.Frequency((4, Gen.Constant(true)), (1, Gen.Constant(false)))
        from w in small ? Gen.Elements(1UL, 16UL, 64UL, 100UL) : Dimension
        from h in small ? Gen.Elements(1UL, 16UL, 64UL) : Dimension
        from bpp in small ? Gen.Elements(8UL, 32UL) : Bpp
        from flags in Gen.Frequency((9, Gen.Constant(0UL)), (1, Gen.Elements(1UL, 0x80000000UL)))
        from dev in Fd
        select new Call("DRM_IOCTL_MODE_CREATE_DUMB", [A("on", dev), A("height", h), A("width", w), A("bpp", bpp), A("flags", flags)]);

    private static Gen<Call> HandleIoctl(string op, params (string Key, Gen<long> Value)[] extra) =>
        from dev in Fd
        from h in Handle
        from vals in Gen.CollectToArray(extra.Select(e => e.Value))
        select new Call(op, [A("on", dev), A("handle", h), .. extra.Select((e, k) => A(e.Key, vals[k]))]);

    private static Gen<long> Mostly0(params long[] other) => Gen.Frequency((9, Gen.Constant(0L)), (1, Gen.Elements(other)));

    /// <summary>mmap of an fd (DRM fds need an object's fake offset: the first objects of a fresh device sit at 0x100000000 + pages).</summary>
    public static Gen<Call> Mmap =>
        from fd in Gen.Frequency((3, Gen.Constant(4L)), (3, Gen.Constant(5L)), (1, Fd))
        from drmOffset in Gen.Frequency((5, Gen.Constant(Offset0)), (3, Gen.Elements(Offset0 + 4096, Offset0 + 16384, Offset0 + 32768)), (1, Gen.Elements(0L, Offset0 + 1, 4096L)))
        from len in Gen.Frequency((6, Gen.Constant(4096L)), (2, Gen.Elements(8192L, 16384L, 12288L)), (1, Gen.Constant(0L)))
        from prot in Gen.Frequency((4, Gen.Constant(3L)), (1, Gen.Constant(1L)))
        from flags in Gen.Frequency((9, Gen.Constant(1L)), (1, Gen.Constant(2L)))
        select new Call("mmap", [A("fd", fd), A("length", len), A("prot", prot), A("flags", flags), A("offset", fd == 4 ? drmOffset : 0)]);

    /// <summary>A store or load through a mapping, or its munmap.</summary>
    public static Gen<Call> OnMapping =>
        from pick in Gen.Choose(0, 7)
        from kind in Gen.Choose(0, 3)
        from off in Gen.Elements(0L, 4L, 100L, 4092L)
        from data in Gen.Elements("48656c6c6f2c20776f726c642100", "deadbeef", "00", "ff")
        from len in Gen.Elements(4L, 16L)
        select kind switch
        {
            0 => new Call("munmap", [], pick),
            1 => new Call("mem_write", [A("offset", off), S("data", data)], pick),
            _ => new Call("mem_read", [A("offset", off), A("length", len)], pick),
        };

    /// <summary>An fd of the heap and udmabuf families: the ones their prologue opens (4..9) and a few odd ones.</summary>
    public static Gen<long> FdWide => Gen.Frequency((16, Gen.Choose(4, 9).Select(x => (long)x)), (1, Gen.Elements(-1L, 11L, 20L)));

    private const long ORdwrCloexec = 0x80002;

    /// <summary>A DMA_HEAP_IOCTL_ALLOC length: small aligned, unaligned, 0, huge ones that wrap PAGE_ALIGN to 0.</summary>
    public static Gen<ulong> HeapLen => Gen.Frequency(
        (8, Gen.Elements(4096UL, 8192UL, 16384UL, 65536UL, 12288UL)),
        (3, Gen.Elements(1UL, 4095UL, 4097UL, 100UL, 2097152UL + 1, 0x100000UL)),
        (2, Gen.Elements(0UL, ulong.MaxValue, 0xFFFFFFFFFFFFF001UL, 0xFFFFFFFFFFFFFFFFUL - 4094)),
        (1, Gen.Elements(8UL << 20, 4UL << 20)));

    /// <summary>DMA_HEAP_IOCTL_ALLOC with mostly valid arguments on an fd of the sequence.</summary>
    public static Gen<Call> HeapAlloc =>
        from dev in FdWide
        from len in HeapLen
        from fd in Gen.Frequency((12, Gen.Constant(0L)), (1, Gen.Elements(1L, 5L, 0xFFFFFFFFL)))
        from fdFlags in Gen.Frequency((6, Gen.Constant(ORdwrCloexec)), (3, Gen.Elements(0L, 1L, 2L, 0x80000L, 0x80001L)), (1, Gen.Elements(3L, 0x800L, 0x4000L, 0x80003L, 0x40L, 0xFFFFFFFFL)))
        from heapFlags in Gen.Frequency((12, Gen.Constant(0UL)), (1, Gen.Elements(1UL, 0x8000000000000000UL, 2UL)))
        select new Call("DMA_HEAP_IOCTL_ALLOC", [A("on", dev), A("len", len), A("fd", fd), A("fd_flags", fdFlags), A("heap_flags", heapFlags)]);

    /// <summary>mmap of an fd of the heap and udmabuf sequences (offset 0 or a page in, sometimes past the end).</summary>
    public static Gen<Call> MmapWide =>
        from fd in FdWide
        from len in Gen.Frequency((6, Gen.Constant(4096L)), (2, Gen.Elements(8192L, 16384L, 65536L)), (1, Gen.Elements(0L, 1L << 24)))
        from off in Gen.Frequency((6, Gen.Constant(0L)), (2, Gen.Elements(4096L, 8192L)), (1, Gen.Elements(1L, 1L << 20)))
        from prot in Gen.Frequency((4, Gen.Constant(3L)), (1, Gen.Elements(1L, 2L)))
        from flags in Gen.Frequency((9, Gen.Constant(1L)), (1, Gen.Constant(2L)))
        select new Call("mmap", [A("fd", fd), A("length", len), A("prot", prot), A("flags", flags), A("offset", off)]);

    /// <summary>An offset or size of a udmabuf item: aligned small, misaligned, past the memfd, over size_limit_mb.</summary>
    public static Gen<ulong> UdmabufExtent => Gen.Frequency(
        (8, Gen.Elements(0UL, 4096UL, 8192UL, 16384UL)),
        (2, Gen.Elements(1UL, 4095UL, 4097UL, 65536UL)),
        (1, Gen.Elements((64UL << 20) + 4096, 1UL << 40, 0xFFFFFFFFFFFFF000UL, 1UL << 20)));

    private static Gen<string> UdmabufItem =>
        from memfd in Gen.Frequency((8, Gen.Choose(4, 8).Select(x => (long)x)), (1, Gen.Elements(-1L, 100L)))
        from off in UdmabufExtent
        from size in UdmabufExtent
        select string.Create(CultureInfo.InvariantCulture, $"{(uint)memfd}:{off}:{size}");

    /// <summary>The udmabuf family's calls.</summary>
    private static IEnumerable<(int, Gen<Call>)> UdmabufCalls() =>
    [
        (2, from name in Gen.Elements("udmabuf", "m")
            from flags in Gen.Frequency((6, Gen.Elements(2L, 3L)), (2, Gen.Elements(0L, 1L)), (1, Gen.Elements(8L, 0x10L, 0x20L, 0xFFL)))
            select new Call("memfd_create", [S("name", name), A("flags", flags)])),
        (3, from fd in FdWide
            from len in Gen.Frequency((6, Gen.Elements(16384L, 65536L, 8192L)), (2, Gen.Elements(0L, 4096L, 4095L, 1L << 20)), (1, Gen.Elements(-1L, 100L << 20)))
            select new Call("ftruncate", [A("fd", fd), A("length", len)])),
        (3, from fd in FdWide
            from seals in Gen.Frequency((6, Gen.Constant(2L)), (3, Gen.Elements(4L, 6L, 8L, 1L, 0x10L)), (1, Gen.Elements(0L, 0x20L, 0x40L, 0xFFL)))
            select new Call("fcntl", [A("fd", fd), A("cmd_value", 1033), A("arg", seals)])),
        (1, from fd in FdWide select new Call("fcntl", [A("fd", fd), A("cmd_value", 1034)])),
        (6, from dev in FdWide
            from memfd in Gen.Frequency((8, Gen.Choose(4, 8).Select(x => (long)x)), (1, Gen.Elements(-1L, 100L, 0x7FFFFFFFL)))
            from flags in Gen.Frequency((8, Gen.Elements(0L, 1L)), (1, Gen.Elements(2L, 0x80000L, 0xFFFFFFFFL)))
            from off in UdmabufExtent
            from size in UdmabufExtent
            select new Call("UDMABUF_CREATE", [A("on", dev), A("memfd", memfd), A("flags", flags), A("offset", off), A("size", size)])),
        (3, from dev in FdWide
            from items in UdmabufItem.ArrayOf().Select(a => a.Take(4).ToArray())
            from flags in Gen.Frequency((8, Gen.Elements(0L, 1L)), (1, Gen.Elements(2L, 0xFFFFFFFFL)))
            from countKind in Gen.Frequency((8, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)))
            select new Call("UDMABUF_CREATE_LIST", countKind switch
            {
                1 => [A("on", dev), A("flags", flags), S("items", string.Join(',', items)), A("count", (long)items.Length + 1)],
                2 => [A("on", dev), A("flags", flags), S("items", string.Join(',', items)), A("count", 1025L)],
                _ => [A("on", dev), A("flags", flags), S("items", items.Length == 0 ? "" : string.Join(',', items))],
            })),
    ];

    /// <summary>Raw ioctls of the heap and udmabuf numbers and their neighbours (other size, direction, nr) on the sequence's fds.</summary>
    private static Gen<Call> HeapUdmabufRawIoctl(bool udmabuf) =>
        from fd in FdWide
        from known in udmabuf ? Gen.Elements(UdmabufUapiNumbers) : Gen.Constant(0xC0184800u)
        from kind in Gen.Choose(0, 3)
        from size in Gen.Elements(0u, 8u, 16u, 23u, 32u, 128u, 4096u)
        from dir in Gen.Choose(0, 3)
        from nr in Gen.Elements(0u, 1u, 2u, 0x41u, 0x44u)
        from arg in Gen.Elements("zero", "null", "unmapped")
        let rq = kind switch
        {
            1 => Ioctl._IOC(Ioctl._IOC_DIR(known), Ioctl._IOC_TYPE(known), Ioctl._IOC_NR(known), size),
            2 => Ioctl._IOC((uint)dir, Ioctl._IOC_TYPE(known), Ioctl._IOC_NR(known), Ioctl._IOC_SIZE(known)),
            3 => Ioctl._IOC(Ioctl._IOC_DIR(known), Ioctl._IOC_TYPE(known), nr, Ioctl._IOC_SIZE(known)),
            _ => known,
        }
        select new Call("ioctl", [A("on", fd), A("request", (long)rq), S("arg", arg)]);

    private static readonly uint[] UdmabufUapiNumbers = [0x40187542u, 0x40087543u];

    /// <summary>One call of the given families.</summary>
    public static Gen<Call> Single(CallFamilies f)
    {
        var gens = new List<(int, Gen<Call>)>();
        bool heapish = f.HasFlag(CallFamilies.Heap) || f.HasFlag(CallFamilies.Udmabuf);
        if (f.HasFlag(CallFamilies.Heap))
        {
            gens.Add((8, HeapAlloc));
            gens.Add((2, HeapUdmabufRawIoctl(udmabuf: false)));
        }
        if (f.HasFlag(CallFamilies.Udmabuf))
        {
            gens.AddRange(UdmabufCalls());
            gens.Add((1, HeapUdmabufRawIoctl(udmabuf: true)));
        }
        if (heapish)
        {
            gens.Add((3, MmapWide));
            gens.Add((4, OnMapping));
            gens.Add((2, FdWide.Where(fd => fd != 4).Select(fd => new Call("close", [A("fd", fd)]))));
            gens.Add((1, FdWide.Select(fd => new Call("dup", [A("fd", fd)]))));
            gens.Add((1, from fd in FdWide from w in Gen.Elements(0L, 1L, 2L) from off in Gen.Elements(0L, 1L, 4096L) select new Call("lseek", [A("fd", fd), A("offset", off), A("whence", w)])));
            gens.Add((1, from fd in FdWide from ev in Gen.Elements(1L, 4L, 5L) select new Call("poll", [A("fd", fd), A("events", ev), A("timeout_ms", 0)])));
            gens.Add((1, FdWide.Select(fd => new Call("fdinfo", [A("fd", fd)]))));
            if (!f.HasFlag(CallFamilies.Fence))
            {
                gens.Add((2, from fd in FdWide from fl in Gen.Elements(1L, 2L, 3L, 5L, 6L, 7L, 0L, 4L, 8L) select new Call("DMA_BUF_IOCTL_SYNC", [A("on", fd), A("flags", fl)])));
            }
        }
        if (f.HasFlag(CallFamilies.Files))
        {
            gens.Add((1, from node in Gen.Frequency((9, Gen.Constant("/dev/dri/card0")), (1, Gen.Constant("/dev/dri/renderD128")))
                         from flags in Gen.Elements(524290L, 2L)
                         select new Call("openat", [S("path", node), A("flags", flags)])));
            gens.Add((2, Fd.Where(fd => fd != 4).Select(fd => new Call("close", [A("fd", fd)]))));
            gens.Add((1, Fd.Select(fd => new Call("dup", [A("fd", fd)]))));
            gens.Add((1, from fd in Fd from cmd in Gen.Elements(1L, 3L) select new Call("fcntl", [A("fd", fd), A("cmd_value", cmd)])));
            gens.Add((1, Fd.Select(fd => new Call("DRM_IOCTL_VERSION", [A("on", fd), A("name_len", 63), A("date_len", 63), A("desc_len", 255)]))));
        }
        if (f.HasFlag(CallFamilies.Dumb))
        {
            gens.Add((6, CreateDumb));
            gens.Add((3, HandleIoctl("DRM_IOCTL_MODE_MAP_DUMB", ("pad", Mostly0(1)))));
            gens.Add((2, HandleIoctl("DRM_IOCTL_MODE_DESTROY_DUMB")));
            gens.Add((3, Mmap));
            gens.Add((4, OnMapping));
        }
        if (f.HasFlag(CallFamilies.Gem))
        {
            gens.Add((2, HandleIoctl("DRM_IOCTL_GEM_CLOSE", ("pad", Mostly0(1)))));
            gens.Add((2, HandleIoctl("DRM_IOCTL_GEM_FLINK")));
            gens.Add((2, from dev in Fd from name in Gen.Frequency((4, Gen.Choose(1, 2)), (1, Gen.Elements(0, 3))) select new Call("DRM_IOCTL_GEM_OPEN", [A("on", dev), A("name", (long)name)])));
        }
        if (f.HasFlag(CallFamilies.Prime))
        {
            gens.Add((4, HandleIoctl("DRM_IOCTL_PRIME_HANDLE_TO_FD", ("flags", Gen.Elements(0L, 524288L, 524290L, 2L, 1L, 524290L)), ("fd", Gen.Constant(-1L)))));
            gens.Add((3, from dev in Fd from fd in Gen.Frequency((3, Gen.Constant(5L)), (1, Fd)) select new Call("DRM_IOCTL_PRIME_FD_TO_HANDLE", [A("on", dev), A("fd", fd), A("flags", 0)])));
            gens.Add((1, from fd in Fd from w in Gen.Elements(0L, 1L, 2L, 2L) from off in Gen.Elements(0L, 0L, 1L) select new Call("lseek", [A("fd", fd), A("offset", off), A("whence", w)])));
            gens.Add((1, Fd.Select(fd => new Call("fdinfo", [A("fd", fd)]))));
            gens.Add((1, from fd in Fd from n in Gen.Elements("", "6275662d31", "4142434445464748494a4b4c4d4e4f505152535455565758595a3031323334") select new Call("DMA_BUF_SET_NAME", [A("on", fd), S("name", n)])));
            // no read(): on a DRM fd it blocks until a DRM event arrives, and none ever does here
        }
        bool fences = f.HasFlag(CallFamilies.Fence);
        if (f.HasFlag(CallFamilies.Sync) && !fences)
        {
            gens.Add((2, from fd in Fd from fl in Gen.Elements(1L, 2L, 3L, 5L, 6L, 7L, 0L, 4L, 8L) select new Call("DMA_BUF_IOCTL_SYNC", [A("on", fd), A("flags", fl)])));
            gens.Add((1, from fd in Fd from fl in Gen.Elements(1L, 2L, 3L, 0L) select new Call("DMA_BUF_IOCTL_EXPORT_SYNC_FILE", [A("on", fd), A("flags", fl), A("fd", -1)])));
            gens.Add((1, from fd in Fd from sf in Fd from fl in Gen.Elements(1L, 2L, 0L) select new Call("DMA_BUF_IOCTL_IMPORT_SYNC_FILE", [A("on", fd), A("flags", fl), A("fd", sf)])));
        }
        if (fences)
        {
            gens.Add((3, HandleIoctl("DRM_IOCTL_VGEM_FENCE_ATTACH", ("flags", Gen.Elements(0L, 1L, 1L, 2L)), ("out_fence", Gen.Constant(0L)), ("pad", Mostly0(1)))));
            gens.Add((2, from dev in Fd from fence in Gen.Frequency((4, Gen.Choose(1, 3)), (1, Gen.Elements(0, 4))) from fl in Mostly0(1) select new Call("DRM_IOCTL_VGEM_FENCE_SIGNAL", [A("on", dev), A("fence", (long)fence), A("flags", fl)])));
        }
        if (f.HasFlag(CallFamilies.Prime) || fences)
        {
            gens.Add((2, from fd in Fd from ev in Gen.Elements(1L, 4L, 5L) select new Call("poll", [A("fd", fd), A("events", ev), A("timeout_ms", 0)])));
        }
        if (f.HasFlag(CallFamilies.BadInput))
        {
            gens.AddRange(BadInputCalls(fences));
        }
        if (gens.Count == 0)
        {
            throw new ArgumentException("no call family selected", nameof(f));
        }
        return Gen.Frequency(gens.ToArray());
    }

    /// <summary>
    /// The ioctl requests a program may send to the modelled files (x86_64 numbers): DRM core and vgem, the dma-buf
    /// file's, sync_file's and sw_sync's.
    /// </summary>
    public static readonly uint[] KnownRequests =
    [
        DrmH.DRM_IOCTL_VERSION(false),
        Ioctl._IOWR(DrmH.DRM_IOCTL_BASE, 0x01, 16), // GET_UNIQUE
        Ioctl._IOR(DrmH.DRM_IOCTL_BASE, 0x02, 4), // GET_MAGIC
        Ioctl._IOWR(DrmH.DRM_IOCTL_BASE, 0x0c, 16), // GET_CAP
        Ioctl._IOW(DrmH.DRM_IOCTL_BASE, 0x0d, 16), // SET_CLIENT_CAP
        DrmH.DRM_IOCTL_GEM_CLOSE,
        DrmH.DRM_IOCTL_GEM_FLINK,
        DrmH.DRM_IOCTL_GEM_OPEN,
        DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD,
        DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE,
        DrmH.DRM_IOCTL_MODE_CREATE_DUMB,
        DrmH.DRM_IOCTL_MODE_MAP_DUMB,
        DrmH.DRM_IOCTL_MODE_DESTROY_DUMB,
        Ioctl._IOWR(DrmH.DRM_IOCTL_BASE, 0x41, 16), // VGEM_FENCE_ATTACH
        Ioctl._IOW(DrmH.DRM_IOCTL_BASE, 0x42, 8), // VGEM_FENCE_SIGNAL
        DmaBufUapi.DMA_BUF_IOCTL_SYNC,
        DmaBufUapi.DMA_BUF_SET_NAME_A,
        DmaBufUapi.DMA_BUF_SET_NAME_B,
        DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE,
        DmaBufUapi.DMA_BUF_IOCTL_IMPORT_SYNC_FILE,
        SyncFileUapi.SYNC_IOC_MERGE,
        SyncFileUapi.SYNC_IOC_FILE_INFO,
    ];

    /// <summary>A request: a known one, or a neighbour of one (another size, direction, nr or type byte).</summary>
    public static Gen<long> Request =>
        from known in Gen.Elements(KnownRequests)
        from kind in Gen.Frequency((6, Gen.Constant(0)), (1, Gen.Constant(1)), (1, Gen.Constant(2)), (1, Gen.Constant(3)), (1, Gen.Constant(4)))
        from size in Gen.Elements(0u, 1u, 4u, 7u, 24u, 256u, 0x3fffu)
        from dir in Gen.Choose(0, 3)
        from nr in Gen.Elements(0x03u, 0x20u, 0x3fu, 0x40u, 0x43u, 0x9fu, 0xa0u, 0xc4u, 0xffu)
        from type in Gen.Elements(0u, (uint)'b', (uint)'>', (uint)'W', 0x64u, 0xffu)
        select (long)(kind switch
        {
            1 => Ioctl._IOC(Ioctl._IOC_DIR(known), Ioctl._IOC_TYPE(known), Ioctl._IOC_NR(known), size),
            2 => Ioctl._IOC((uint)dir, Ioctl._IOC_TYPE(known), Ioctl._IOC_NR(known), Ioctl._IOC_SIZE(known)),
            3 => Ioctl._IOC(Ioctl._IOC_DIR(known), Ioctl._IOC_TYPE(known), nr, Ioctl._IOC_SIZE(known)),
            4 => Ioctl._IOC(Ioctl._IOC_DIR(known), type, Ioctl._IOC_NR(known), Ioctl._IOC_SIZE(known)),
            _ => known,
        });

    /// <summary>
    /// An fd a bad call is made on: the sequence's own (card0 4, then the prologue's dma-buf, sync_file, render node
    /// and memfd: every fd kind the 6.1 guest has), closed ones, out of range (never the agent's stdio or channel).
    /// </summary>
    public static Gen<long> BadFd => Gen.Frequency(
        (8, Gen.Choose(4, 8).Select(x => (long)x)),
        (2, Gen.Elements(-1L, 9L, 11L, 1023L, 1024L, 1048576L, 2147483647L, -2147483648L)));

    /// <summary>
    /// The bad-input prologue after card0's (and the export's): every other fd kind a bad call may hit, each often:
    /// a sync_file of the exported buffer (EXPORT_SYNC_FILE of fd 5), the render node, a memfd (a shmem regular
    /// file). They take the lowest free fds, so fds 4..8 are mostly open and of different kinds.
    /// </summary>
    public static Gen<Call[]> BadInputPrologue(bool exported) =>
        from sync in exported ? Gen.Elements(true, true, false) : Gen.Constant(false)
        from render in Gen.Elements(true, true, false)
        from memfd in Gen.Elements(true, true, false)
        select (Call[])[
            .. (sync ? [new Call("DMA_BUF_IOCTL_EXPORT_SYNC_FILE", [A("on", 5L), A("flags", 1L), A("fd", -1L)])] : Array.Empty<Call>()),
            .. (render ? [new Call("openat", [S("path", "/dev/dri/renderD128"), A("flags", 524290L)])] : Array.Empty<Call>()),
            .. (memfd ? [new Call("memfd_create", [S("name", "m"), A("flags", 3L)])] : Array.Empty<Call>())];

    // With fences in the sequence, no DMA_BUF_IOCTL_SYNC with valid flags: it would wait 10 s for a vgem fence.
    private static IEnumerable<(int, Gen<Call>)> BadInputCalls(bool fences) =>
    [
        (8, from fd in BadFd
            from rq in Request
            from arg in Gen.Frequency((3, Gen.Constant("zero")), (2, Gen.Constant("null")), (2, Gen.Constant("unmapped")), (1, Gen.Elements("8", "4096", "18446744073709547520")))
            select new Call("ioctl", [A("on", fd), A("request", rq), S("arg", arg)])),
        (2, from fd in BadFd from op in Gen.Elements("close", "dup") select new Call(op, [A("fd", fd)])),
        (1, from fd in BadFd from cmd in Gen.Elements(1L, 3L, 1234L, -1L, 1033L) select new Call("fcntl", [A("fd", fd), A("cmd_value", cmd)])),
        (2, from fd in BadFd
            from w in Gen.Elements(0L, 1L, 2L, 3L, 4L, 5L, -1L)
            from off in Gen.Elements(0L, 1L, -1L, 4096L, long.MaxValue, long.MinValue)
            select new Call("lseek", [A("fd", fd), A("offset", off), A("whence", w)])),
        (4, from fd in BadFd
            from off in Gen.Elements(0L, 1L, 4095L, 4096L, Offset0, Offset0 + 1, long.MinValue, unchecked((long)0xfffffffffffff000UL), 0x7ffffffffffff000L)
            from len in Gen.Elements(0L, 1L, 4096L, 4097L, long.MinValue, -4096L, -1L, 0x7ffffffffffff000L)
            from prot in Gen.Elements(0L, 1L, 3L, 4L, 7L, 8L, 0x1000000L)
            // MAP_SHARED_VALIDATE with each flag LEGACY_MAP_MASK has or lacks (MAP_32BIT 0x40, MAP_HUGE_2MB, MAP_SYNC,
            // MAP_FIXED_NOREPLACE), MAP_HUGETLB on a file
            from flags in Gen.Elements(0L, 1L, 2L, 3L, 0x20003L, 0x80003L, 0x80001L, 0x40001L, 0x8001L, 0x43L, 0x54000003L, 0x100003L, 0x4003L)
            select new Call("mmap", [A("fd", fd), A("length", len), A("prot", prot), A("flags", flags), A("offset", off)])),
        // MAP_FIXED / MAP_FIXED_NOREPLACE at address 0 (the agent passes no address): root may map page 0
        // (security_mmap_addr: CAP_SYS_RAWIO below mmap_min_addr); a second NOREPLACE there is -EEXIST. Lengths stay
        // small: a fixed mapping from 0 as long as TASK_SIZE would replace the agent itself.
        (2, from fd in BadFd
            from off in Gen.Elements(0L, 4096L, Offset0, Offset0 + 4096)
            from len in Gen.Elements(0L, 1L, 4096L, 8192L, -4096L, -1L)
            from prot in Gen.Elements(1L, 3L)
            from flags in Gen.Elements(0x11L, 0x12L, 0x13L, 0x100001L, 0x100002L, 0x100003L)
            select new Call("mmap", [A("fd", fd), A("length", len), A("prot", prot), A("flags", flags), A("offset", off)])),
        // NULL and unmapped pointers inside a struct: drm_version's name/date/desc (drm_copy_field skips a NULL buffer,
        // an unmapped one is -EFAULT)
        (2, from fd in BadFd
            from len in Gen.Elements(0L, 1L, 4L, 63L, 255L)
            from ptrs in Gen.Elements("null", "unmapped")
            select new Call("DRM_IOCTL_VERSION", [A("on", fd), A("name_len", len), A("date_len", len), A("desc_len", len), S("pointers", ptrs)])),
        (3, from fd in BadFd
            from h in Handle
            from fl in Gen.Elements(0L, 1L, 3L, 0x80000L, 0x80002L, 0x80003L, 0x4000L, 0x800L, -1L, 0x7fffffffL)
            select new Call("DRM_IOCTL_PRIME_HANDLE_TO_FD", [A("on", fd), A("handle", h), A("flags", fl), A("fd", -1L)])),
        (2, from fd in BadFd
            from fl in fences ? Gen.Elements(0L, 8L, 0x10L, long.MinValue, -1L) : Gen.Elements(0L, 1L, 3L, 4L, 5L, 7L, 8L, 0x10L, long.MinValue, -1L)
            select new Call("DMA_BUF_IOCTL_SYNC", [A("on", fd), A("flags", fl)])),
        (2, from fd in BadFd
            from fl in Gen.Elements(0L, 1L, 2L, 3L, 4L, 0x80000L, -1L)
            select new Call("DMA_BUF_IOCTL_EXPORT_SYNC_FILE", [A("on", fd), A("flags", fl), A("fd", -1)])),
        (2, from fd in BadFd
            from h in Handle
            from pad in Gen.Elements(0L, 1L, 0x80000000L)
            select new Call("DRM_IOCTL_GEM_CLOSE", [A("on", fd), A("handle", h), A("pad", pad)])),
        (2, from fd in BadFd
            from h in Handle
            from pad in Gen.Elements(0L, 1L, 0x80000000L)
            select new Call("DRM_IOCTL_MODE_MAP_DUMB", [A("on", fd), A("handle", h), A("pad", pad)])),
        (2, from fd in BadFd
            from w in Dimension
            from h in Dimension
            from bpp in Bpp
            from flags in Gen.Elements(0UL, 1UL, 2UL, 0x80000000UL, 0xFFFFFFFFUL)
            select new Call("DRM_IOCTL_MODE_CREATE_DUMB", [A("on", fd), A("height", h), A("width", w), A("bpp", bpp), A("flags", flags)])),
        // read only where it cannot block (a DRM fd's read waits for an event that never comes, and fd 5 is a dup
        // of card0 when the prologue exported nothing): fds that cannot be open
        (1, from fd in Gen.Elements(-1L, 1023L, 1048576L, 2147483647L)
            from count in Gen.Elements(0L, 1L, 16L)
            select new Call("read", [A("fd", fd), A("count", count)])),
        (1, from fd in BadFd
            from count in Gen.Elements(0L, 1L, 16L)
            select new Call("write", [A("fd", fd), A("count", count)])),
    ];

    /// <summary>A small buffer on card0 (fd 4), so that later calls find objects (handles 1, 2, ...).</summary>
    public static Gen<Call> CreateSmallOnCard0 =>
        from w in Gen.Elements(1UL, 16UL, 64UL, 100UL, 1024UL)
        from h in Gen.Elements(1UL, 16UL, 64UL)
        from bpp in Gen.Elements(8UL, 16UL, 32UL)
        select new Call("DRM_IOCTL_MODE_CREATE_DUMB", [A("on", 4L), A("height", h), A("width", w), A("bpp", bpp), A("flags", 0L)]);

    /// <summary>
    /// A sequence: card0 opened first (fd 4), a prologue that makes objects (0..3 small dumb buffers; with PRIME, often
    /// an export of handle 1, the dma-buf then being fd 5; with Dumb, often MAP_DUMB of handle 1), then random calls,
    /// maxCalls in all.
    /// </summary>
    public static Gen<Call[]> Sequence(CallFamilies f, int maxCalls) =>
        (f & (CallFamilies.Heap | CallFamilies.Udmabuf)) == 0 ? Sequence61(f, maxCalls) : SequenceWithHeaps(f, maxCalls);

    // The 6.1 families' draw (recorded answer sets are keyed by the scripts it draws); bad input adds its prologue.
    private static Gen<Call[]> Sequence61(CallFamilies f, int maxCalls) =>
        from creates in Gen.Frequency((1, Gen.Constant(0)), (4, Gen.Choose(1, 3)))
        from prologue in CreateSmallOnCard0.ArrayOf(creates)
        from export in f.HasFlag(CallFamilies.Prime) || f.HasFlag(CallFamilies.BadInput) ? Gen.Elements(true, true, false) : Gen.Constant(false)
        from map in f.HasFlag(CallFamilies.Dumb) ? Gen.Elements(true, false) : Gen.Constant(false)
        from bad in f.HasFlag(CallFamilies.BadInput) ? BadInputPrologue(export && creates > 0) : Gen.Constant(Array.Empty<Call>())
        from n in Gen.Choose(1, Math.Max(1, maxCalls - 3 - creates - bad.Length))
        from calls in Single(f).ArrayOf(n)
        select (Call[])[
            new Call("openat", [S("path", "/dev/dri/card0"), A("flags", 524290)]),
            .. prologue,
            .. (export ? [new Call("DRM_IOCTL_PRIME_HANDLE_TO_FD", [A("on", 4L), A("handle", 1L), A("flags", 524290L), A("fd", -1L)])] : Array.Empty<Call>()),
            .. (map ? [new Call("DRM_IOCTL_MODE_MAP_DUMB", [A("on", 4L), A("handle", 1L), A("pad", 0L)])] : Array.Empty<Call>()),
            .. bad,
            .. calls];

    private static Gen<Call[]> SequenceWithHeaps(CallFamilies f, int maxCalls) =>
        from creates in Gen.Frequency((1, Gen.Constant(0)), (4, Gen.Choose(1, 3)))
        from prologue in CreateSmallOnCard0.ArrayOf(creates)
        from export in f.HasFlag(CallFamilies.Prime) || f.HasFlag(CallFamilies.BadInput) ? Gen.Elements(true, true, false) : Gen.Constant(false)
        from map in f.HasFlag(CallFamilies.Dumb) ? Gen.Elements(true, false) : Gen.Constant(false)
        from extra in HeapUdmabufPrologue(f, creates > 0 && export ? 6 : 5)
        from n in Gen.Choose(1, Math.Max(1, maxCalls - 3 - creates - extra.Length))
        from calls in Single(f).ArrayOf(n)
        select (Call[])[
            new Call("openat", [S("path", "/dev/dri/card0"), A("flags", 524290)]),
            .. prologue,
            .. (export ? [new Call("DRM_IOCTL_PRIME_HANDLE_TO_FD", [A("on", 4L), A("handle", 1L), A("flags", 524290L), A("fd", -1L)])] : Array.Empty<Call>()),
            .. (map ? [new Call("DRM_IOCTL_MODE_MAP_DUMB", [A("on", 4L), A("handle", 1L), A("pad", 0L)])] : Array.Empty<Call>()),
            .. extra,
            .. calls];

    /// <summary>
    /// The heap and udmabuf families' prologue from fd <paramref name="next"/> on: the heap opened and often one buffer
    /// allocated; /dev/udmabuf opened, a sealable memfd made, usually sized and sealed with F_SEAL_SHRINK, often a
    /// udmabuf of it. Empty for the other families.
    /// </summary>
    public static Gen<Call[]> HeapUdmabufPrologue(CallFamilies f, int next)
    {
        var none = Gen.Constant(Array.Empty<Call>());
        var heap = !f.HasFlag(CallFamilies.Heap) ? none :
            from alloc in Gen.Elements(true, true, false)
            from len in Gen.Elements(4096UL, 16384UL, 65536UL)
            select (Call[])[
                new Call("openat", [S("path", "/dev/dma_heap/system"), A("flags", ORdwrCloexec)]),
                .. (alloc ? [new Call("DMA_HEAP_IOCTL_ALLOC", [A("on", (long)next), A("len", len), A("fd", 0L), A("fd_flags", ORdwrCloexec), A("heap_flags", 0UL)])] : Array.Empty<Call>())];
        return from h in heap
               let u0 = next + (h.Length == 0 ? 0 : h.Length == 1 ? 1 : 2)
               from u in !f.HasFlag(CallFamilies.Udmabuf) ? none :
                   from size in Gen.Elements(16384L, 65536L, 8192L, 0L)
                   from seal in Gen.Frequency((4, Gen.Constant(2L)), (1, Gen.Elements(0L, 6L, 10L)))
                   from create in Gen.Elements(true, true, false)
                   from csize in Gen.Elements(4096UL, 8192UL, 16384UL)
                   select (Call[])[
                       new Call("openat", [S("path", "/dev/udmabuf"), A("flags", ORdwrCloexec)]),
                       new Call("memfd_create", [S("name", "udmabuf"), A("flags", 3L)]),
                       .. (size > 0 ? [new Call("ftruncate", [A("fd", (long)u0 + 1), A("length", size)])] : Array.Empty<Call>()),
                       .. (seal != 0 ? [new Call("fcntl", [A("fd", (long)u0 + 1), A("cmd_value", 1033), A("arg", seal)])] : Array.Empty<Call>()),
                       .. (create ? [new Call("UDMABUF_CREATE", [A("on", (long)u0), A("memfd", (long)u0 + 1), A("flags", 1L), A("offset", 0UL), A("size", csize)])] : Array.Empty<Call>())]
               select (Call[])[.. h, .. u];
    }

    /// <summary>The calls as agent lines; calls on a mapping get the event index of their mmap (none yet: left out).</summary>
    public static List<string> Render(IReadOnlyList<Call> seq)
    {
        var lines = new List<string>(seq.Count);
        var mmaps = new List<int>();
        foreach (var c in seq)
        {
            if (c.MapPick >= 0)
            {
                if (mmaps.Count == 0)
                {
                    continue;
                }
                lines.Add(c.Render(mmaps[c.MapPick % mmaps.Count]));
                continue;
            }
            if (c.Op == "mmap")
            {
                mmaps.Add(lines.Count);
            }
            lines.Add(c.Render(null));
        }
        return lines;
    }

    /// <summary>N sequences drawn from the seed (deterministic).</summary>
    public static Call[][] Draw(CallFamilies f, int maxCalls, int seed, int count) =>
        Sequence(f, maxCalls).Sample(count, new Rnd((ulong)seed), maxCalls);
}
