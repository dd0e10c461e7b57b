// Replay of the DRM and vgem ioctls by name: the struct is built from args (every field, output fields
// included), the ioctl runs through the process (fd table -> drm_ioctl), and every field the kernel copied
// back is compared with result.
using System.Buffers.Binary;
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Replay;
using Sim.Drm.Uapi;

namespace Sim.Drm.Replay;

/// <summary>Replays DRM_IOCTL_* and DRM_IOCTL_VGEM_* events.</summary>
public sealed class DrmReplayOps : IReplayOpProvider
{
    private readonly record struct Field(string Name, int Offset, int Size, bool Signed = false);

    private static readonly Dictionary<string, (Func<bool, uint> Cmd, Field[] Fields)> s_structs = new(StringComparer.Ordinal)
    {
        ["DRM_IOCTL_MODE_CREATE_DUMB"] = (_ => DrmH.DRM_IOCTL_MODE_CREATE_DUMB,
            [new("height", 0, 4), new("width", 4, 4), new("bpp", 8, 4), new("flags", 12, 4), new("handle", 16, 4), new("pitch", 20, 4), new("size", 24, 8)]),
        ["DRM_IOCTL_MODE_MAP_DUMB"] = (_ => DrmH.DRM_IOCTL_MODE_MAP_DUMB, [new("handle", 0, 4), new("pad", 4, 4), new("offset", 8, 8)]),
        ["DRM_IOCTL_MODE_DESTROY_DUMB"] = (_ => DrmH.DRM_IOCTL_MODE_DESTROY_DUMB, [new("handle", 0, 4)]),
        ["DRM_IOCTL_GEM_CLOSE"] = (_ => DrmH.DRM_IOCTL_GEM_CLOSE, [new("handle", 0, 4), new("pad", 4, 4)]),
        ["DRM_IOCTL_GEM_FLINK"] = (_ => DrmH.DRM_IOCTL_GEM_FLINK, [new("handle", 0, 4), new("name", 4, 4)]),
        ["DRM_IOCTL_GEM_OPEN"] = (_ => DrmH.DRM_IOCTL_GEM_OPEN, [new("name", 0, 4), new("handle", 4, 4), new("size", 8, 8)]),
        ["DRM_IOCTL_PRIME_HANDLE_TO_FD"] = (_ => DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, [new("handle", 0, 4), new("flags", 4, 4), new("fd", 8, 4, true)]),
        ["DRM_IOCTL_PRIME_FD_TO_HANDLE"] = (_ => DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, [new("handle", 0, 4), new("flags", 4, 4), new("fd", 8, 4, true)]),
        ["DRM_IOCTL_VGEM_FENCE_ATTACH"] = (_ => VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, [new("handle", 0, 4), new("flags", 4, 4), new("out_fence", 8, 4), new("pad", 12, 4)]),
        ["DRM_IOCTL_VGEM_FENCE_SIGNAL"] = (_ => VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, [new("fence", 0, 4), new("flags", 4, 4)]),
    };

    /// <summary>What the cma-arm program stores in CREATE_DUMB's handle, pitch and size before the call (README, linux-6.1-cma-arm).</summary>
    public const ulong CmaArmOutputPreset = 0xdeadbeef;

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        foreach (var name in s_structs.Keys)
        {
            table.Add(name, StructIoctl);
        }
        table.Add("DRM_IOCTL_VERSION", Version);
    }

    private static int Fd(TraceEvent ev) => (int)(ev.Fd ?? ev.ArgI64("fd"));

    private static void StructIoctl(ReplayContext ctx, TraceEvent ev, ReplayCheck check)
    {
        var (cmdOf, fields) = s_structs[ev.Op];
        uint cmd = (uint)(ev.Request ?? cmdOf(ctx.Options.Is32Bit));
        int size = 0;
        foreach (var f in fields)
        {
            size = Math.Max(size, f.Offset + f.Size);
        }
        var buf = new byte[Math.Max(size, (int)Ioctl._IOC_SIZE(cmd))];
        foreach (var f in fields)
        {
            if (!ev.HasArg(f.Name))
            {
                if (ev.Op == "DRM_IOCTL_MODE_CREATE_DUMB" && ctx.Options.Is32Bit && f.Name is "handle" or "pitch" or "size")
                {
                    // The ARM capture program (cma-arm, user/dumbtest.c) presets the output fields to 0xdeadbeef.
                    Put(buf, f, CmaArmOutputPreset);
                }
                continue;
            }
            ulong v = f.Signed ? (ulong)ev.ArgI64(f.Name) : ev.ArgU64(f.Name);
            Put(buf, f, v);
        }
        long ret = ProcessReplayOps.Proc(ctx).Ioctl(Fd(ev), cmd, new UserArg(0x7ffe0000, buf));
        check.Ret(ret);
        foreach (var f in fields)
        {
            if (f.Signed)
            {
                check.ResultI64(f.Name, (int)BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(f.Offset)));
            }
            else
            {
                check.ResultU64(f.Name, Get(buf, f));
            }
        }
    }

    private static void Put(byte[] buf, Field f, ulong v)
    {
        if (f.Size == 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(f.Offset), v);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(f.Offset), (uint)v);
        }
    }

    private static ulong Get(byte[] buf, Field f) => f.Size == 8
        ? BinaryPrimitives.ReadUInt64LittleEndian(buf.AsSpan(f.Offset))
        : BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(f.Offset));

    private static void Version(ReplayContext ctx, TraceEvent ev, ReplayCheck check)
    {
        bool is32 = ctx.Options.Is32Bit;
        uint cmd = (uint)(ev.Request ?? DrmH.DRM_IOCTL_VERSION(is32));
        ulong nameLen = ev.ArgU64("name_len", 0), dateLen = ev.ArgU64("date_len", 0), descLen = ev.ArgU64("desc_len", 0);
        const ulong NamePtr = 0x7ffd0000, DatePtr = 0x7ffd1000, DescPtr = 0x7ffd2000;
        var pointees = new Dictionary<ulong, byte[]>
        {
            [NamePtr] = new byte[nameLen],
            [DatePtr] = new byte[dateLen],
            [DescPtr] = new byte[descLen],
        };
        var buf = new byte[Math.Max(64, (int)Ioctl._IOC_SIZE(cmd))];
        int w = is32 ? 4 : 8;
        int b = is32 ? 12 : 16;
        void PutW(int off, ulong v)
        {
            if (is32)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(off), (uint)v);
            }
            else
            {
                BinaryPrimitives.WriteUInt64LittleEndian(buf.AsSpan(off), v);
            }
        }
        ulong GetW(int off) => is32 ? BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(off)) : BinaryPrimitives.ReadUInt64LittleEndian(buf.AsSpan(off));
        PutW(b, nameLen);
        PutW(b + w, nameLen == 0 ? 0 : NamePtr);
        PutW(b + 2 * w, dateLen);
        PutW(b + 3 * w, dateLen == 0 ? 0 : DatePtr);
        PutW(b + 4 * w, descLen);
        PutW(b + 5 * w, descLen == 0 ? 0 : DescPtr);
        long ret = ProcessReplayOps.Proc(ctx).Ioctl(Fd(ev), cmd, new UserArg(0x7ffe0000, buf) { Pointees = pointees });
        check.Ret(ret);
        check.ResultI64("version_major", BinaryPrimitives.ReadInt32LittleEndian(buf));
        check.ResultI64("version_minor", BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(4)));
        check.ResultI64("version_patchlevel", BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(8)));
        ulong nl = GetW(b), dl = GetW(b + 2 * w), sl = GetW(b + 4 * w);
        check.ResultU64("name_len", nl);
        check.ResultU64("date_len", dl);
        check.ResultU64("desc_len", sl);
        static string Str(byte[] p, ulong len)
        {
            int n = (int)Math.Min((ulong)p.Length, len);
            int nul = Array.IndexOf(p, (byte)0, 0, n);
            return Encoding.ASCII.GetString(p, 0, nul < 0 ? n : nul);
        }
        check.ResultString("name", Str(pointees[NamePtr], nl));
        check.ResultString("date", Str(pointees[DatePtr], dl));
        check.ResultString("desc", Str(pointees[DescPtr], sl));
    }
}
