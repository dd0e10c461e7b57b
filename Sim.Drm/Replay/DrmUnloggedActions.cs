// The DRM side of the replay's unlogged actions (data/traces/README.md, "Unlogged actions"): the calls the sg
// dmabuf_vgem_* programs made on the vgem DRM fd without a line of their own (create the buffer on exactly the
// logged frames, export it, map it, fill it with SGCAP_PATTERN, unmap, close, GEM_CLOSE, openat).
using System.Buffers.Binary;
using System.Text.Json;
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.Drm.Uapi;

namespace Sim.Drm.Replay;

/// <summary>Registers the DRM actions in the file's <see cref="UnloggedActions"/>.</summary>
public static class DrmUnloggedActions
{
    /// <summary>Per-file state: the current buffer's handle and the last mapping of a <c>mmap</c> entry.</summary>
    public sealed class State
    {
        /// <summary>The GEM handle of the buffer the last CREATE_DUMB entry made.</summary>
        public uint Handle { get; set; }
        /// <summary>The address and length of the last <c>mmap</c> entry's mapping.</summary>
        public (ulong Addr, ulong Length) Mapping { get; set; }
    }

    /// <summary>Registers every DRM action (existing registrations of the same calls are kept).</summary>
    public static void Register(ReplaySession ctx)
    {
        var a = ctx.Unlogged;
        a.TryRegister("DRM_IOCTL_MODE_CREATE_DUMB", CreateDumb);
        a.TryRegister("DRM_IOCTL_PRIME_HANDLE_TO_FD", HandleToFd);
        a.TryRegister("DRM_IOCTL_GEM_CLOSE", GemClose);
        a.TryRegister("mmap", Mmap);
        a.TryRegister("pattern_fill", PatternFill);
        a.TryRegister("munmap", (c, _) => Check(c.Syscalls.Munmap(c.RunsProcess(), c.State<State>().Mapping.Addr, c.State<State>().Mapping.Length), "munmap"));
        a.TryRegister("close", (c, e) => Check(c.Syscalls.Close(c.RunsProcess(), e.GetProperty("fd").GetInt32()), "close"));
        a.TryRegister("openat", Openat);
    }

    private static void Check(long ret, string what)
    {
        if (ret < 0)
        {
            throw new InvalidOperationException($"unlogged {what} failed: {ret}");
        }
    }

    private static ulong U64(JsonElement e) =>
        TraceNumber.TryGetU64(e, out ulong v) ? v : throw new InvalidOperationException($"not an integer: {e}");

    private static TraceEvent Current(ReplaySession ctx) => ctx.Unlogged.Current ?? throw new InvalidOperationException("no current event");

    private static JsonElement Resolve(ReplaySession ctx, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.String || v.GetString() is not { } path || !path.StartsWith("args.", StringComparison.Ordinal))
        {
            return v;
        }
        var cur = Current(ctx).Args;
        foreach (var part in path[5..].Split('.'))
        {
            cur = cur.GetProperty(part);
        }
        return cur;
    }

    private static long Ioctl(ReplaySession ctx, int fd, uint cmd, byte[] buf) => ctx.Syscalls.Ioctl(ctx.RunsProcess(), fd, cmd, new UserArg(0x7ffc0000, buf));

    // DRM_IOCTL_MODE_CREATE_DUMB with the vgem_buffer geometry; the new object's shmem pages are exactly buffer_pfns.
    private static void CreateDumb(ReplaySession ctx, JsonElement e)
    {
        int fd = e.GetProperty("fd").GetInt32();
        var g = Resolve(ctx, e.GetProperty("geometry"));
        var b = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(b, g.GetProperty("height").GetUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), g.GetProperty("width").GetUInt32());
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), g.GetProperty("bpp").GetUInt32());
        Check(Ioctl(ctx, fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, b), "DRM_IOCTL_MODE_CREATE_DUMB");
        uint handle = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16));
        ctx.State<State>().Handle = handle;
        if (!e.TryGetProperty("pages", out var pagesRef))
        {
            return;
        }
        var list = Resolve(ctx, pagesRef);
        var pfns = new ulong[list.GetArrayLength()];
        int k = 0;
        foreach (var p in list.EnumerateArray())
        {
            pfns[k++] = U64(p);
        }
        var file = (DrmFile)ctx.RunsProcess().Fget(fd)!.PrivateData!;
        var obj = DrmGem.ObjectLookup(file, handle) ?? throw new InvalidOperationException("created handle not found");
        int err = obj.Filp!.AdoptPages(pfns);
        obj.Put();
        Check(err, "adopt buffer_pfns");
    }

    private static void HandleToFd(ReplaySession ctx, JsonElement e)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(b, ctx.State<State>().Handle);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), e.GetProperty("flags").GetUInt32());
        Check(Ioctl(ctx, e.GetProperty("fd").GetInt32(), DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, b), "DRM_IOCTL_PRIME_HANDLE_TO_FD");
        int got = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8));
        if (e.TryGetProperty("ret_fd", out var want) && want.GetInt32() != got)
        {
            throw new InvalidOperationException($"unlogged PRIME export got fd {got}, the trace says {want.GetInt32()}");
        }
    }

    private static void GemClose(ReplaySession ctx, JsonElement e)
    {
        var b = new byte[8];
        uint handle = e.TryGetProperty("handle", out var h) && h.ValueKind == JsonValueKind.Number ? h.GetUInt32() : ctx.State<State>().Handle;
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        Check(Ioctl(ctx, e.GetProperty("fd").GetInt32(), DrmH.DRM_IOCTL_GEM_CLOSE, b), "DRM_IOCTL_GEM_CLOSE");
    }

    private static void Mmap(ReplaySession ctx, JsonElement e)
    {
        ulong length = U64(Resolve(ctx, e.GetProperty("length")));
        long addr = ctx.Syscalls.Mmap(ctx.RunsProcess(), length, e.GetProperty("prot").GetUInt32(), e.GetProperty("flags").GetUInt32(),
            e.GetProperty("fd").GetInt32(), U64(e.GetProperty("offset")));
        Check(addr, "mmap");
        ctx.State<State>().Mapping = ((ulong)addr, length);
    }

    // SGCAP_PATTERN(t, o) = ((t * 0x01000193) mod 2^32) XOR o for every u32 word at byte offset o of the mapping.
    private static void PatternFill(ReplaySession ctx, JsonElement e)
    {
        uint tag = (uint)U64(Current(ctx).Args.GetProperty("tag"));
        var (addr, length) = ctx.State<State>().Mapping;
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent((int)length);
        var buf = rented.AsSpan(0, (int)length);
        PatternWords.FillTag(buf, tag);
        int ret = ctx.Syscalls.Store(ctx.RunsProcess(), addr, buf);
        System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        Check(ret, "pattern_fill");
    }

    private static void Openat(ReplaySession ctx, JsonElement e)
    {
        string flags = e.TryGetProperty("flags_name", out var f) ? f.GetString() ?? "O_RDWR" : "O_RDWR";
        long fd = ctx.Syscalls.Openat(ctx.RunsProcess(), e.GetProperty("path").GetString()!, OpenFlags.Parse(flags));
        Check(fd, "openat");
        if (e.TryGetProperty("ret_fd", out var want) && want.GetInt64() != fd)
        {
            throw new InvalidOperationException($"unlogged openat got fd {fd}, the trace says {want.GetInt64()}");
        }
    }
}
