// Replay of the DRM and vgem ioctls by name: the struct (its one declaration in Uapi/, layout read from it) is
// built from args (every field, output fields included), the ioctl goes through the syscall layer (fd table ->
// drm_ioctl), and every field the kernel copied back is compared with result.
using System.Collections.Frozen;
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Replay;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm.Replay;

/// <summary>Replays DRM_IOCTL_* and DRM_IOCTL_VGEM_* events.</summary>
public sealed class DrmReplayOps : IReplayOpProvider
{
    // Each op's command and the one declaration of its struct in Uapi/ (the layout is read from it).
    private static readonly FrozenDictionary<string, (uint Cmd, UapiField[] Fields, int Size)> s_structs = new Dictionary<string, (uint Cmd, UapiField[] Fields, int Size)>(StringComparer.Ordinal)
    {
        ["DRM_IOCTL_MODE_CREATE_DUMB"] = Struct<drm_mode_create_dumb>(DrmH.DRM_IOCTL_MODE_CREATE_DUMB),
        ["DRM_IOCTL_MODE_MAP_DUMB"] = Struct<drm_mode_map_dumb>(DrmH.DRM_IOCTL_MODE_MAP_DUMB),
        ["DRM_IOCTL_MODE_DESTROY_DUMB"] = Struct<drm_mode_destroy_dumb>(DrmH.DRM_IOCTL_MODE_DESTROY_DUMB),
        ["DRM_IOCTL_GEM_CLOSE"] = Struct<drm_gem_close>(DrmH.DRM_IOCTL_GEM_CLOSE),
        ["DRM_IOCTL_GEM_FLINK"] = Struct<drm_gem_flink>(DrmH.DRM_IOCTL_GEM_FLINK),
        ["DRM_IOCTL_GEM_OPEN"] = Struct<drm_gem_open>(DrmH.DRM_IOCTL_GEM_OPEN),
        ["DRM_IOCTL_PRIME_HANDLE_TO_FD"] = Struct<drm_prime_handle>(DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD),
        ["DRM_IOCTL_PRIME_FD_TO_HANDLE"] = Struct<drm_prime_handle>(DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE),
        ["DRM_IOCTL_VGEM_FENCE_ATTACH"] = Struct<drm_vgem_fence_attach>(VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH),
        ["DRM_IOCTL_VGEM_FENCE_SIGNAL"] = Struct<drm_vgem_fence_signal>(VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static (uint, UapiField[], int) Struct<T>(uint cmd) where T : struct =>
        (cmd, UapiLayout.Fields(typeof(T)), UapiLayout.SizeOf(typeof(T)));

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

    // The event's args become the struct's bytes (output fields included: the program may have preset them), the
    // ioctl goes through the syscall layer, and every field the kernel copied back is compared with result.
    private static void StructIoctl(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var (defaultCmd, fields, size) = s_structs[ev.Op];
        uint cmd = (uint)(ev.Request ?? defaultCmd);
        var buf = new byte[Math.Max(size, (int)Ioctl._IOC_SIZE(cmd))];
        foreach (var f in fields)
        {
            if (!ev.HasArg(f.Name))
            {
                if (ev.Op == "DRM_IOCTL_MODE_CREATE_DUMB" && ctx.Options.Is32Bit && f.Name is "handle" or "pitch" or "size")
                {
                    // The ARM capture program (cma-arm, user/dumbtest.c) presets the output fields to 0xdeadbeef.
                    f.Write(buf, CmaArmOutputPreset);
                }
                continue;
            }
            f.Write(buf, f.Signed ? (ulong)ev.ArgI64(f.Name) : ev.ArgU64(f.Name));
        }
        long ret = ctx.Syscalls.Ioctl(ctx.RunsProcess(), Fd(ev), cmd, new UserArg(0x7ffe0000, buf));
        check.Ret(ret);
        foreach (var f in fields)
        {
            if (f.Signed)
            {
                check.ResultI64(f.Name, f.ReadSigned(buf));
            }
            else
            {
                check.ResultU64(f.Name, f.ReadUnsigned(buf));
            }
        }
    }

    private static void Version(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
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
        var layout = is32 ? typeof(drm_version32) : typeof(drm_version);
        UapiField F(string name) => UapiLayout.Field(layout, name);
        var buf = new byte[Math.Max(UapiLayout.SizeOf(layout), (int)Ioctl._IOC_SIZE(cmd))];
        // args.pointers: the program passed NULL ("null") or pointers to memory it cannot touch ("unmapped", not in
        // the pointees) for the three strings instead of its buffers.
        string? bad = ev.ArgString("pointers");
        ulong Ptr(ulong own, ulong len) => bad switch
        {
            "null" => 0,
            "unmapped" => 0x7ffc0000,
            _ => len == 0 ? 0 : own,
        };
        F("name_len").Write(buf, nameLen);
        F("name").Write(buf, Ptr(NamePtr, nameLen));
        F("date_len").Write(buf, dateLen);
        F("date").Write(buf, Ptr(DatePtr, dateLen));
        F("desc_len").Write(buf, descLen);
        F("desc").Write(buf, Ptr(DescPtr, descLen));
        long ret = ctx.Syscalls.Ioctl(ctx.RunsProcess(), Fd(ev), cmd, new UserArg(0x7ffe0000, buf) { Pointees = pointees });
        check.Ret(ret);
        check.ResultI64("version_major", F("version_major").ReadSigned(buf));
        check.ResultI64("version_minor", F("version_minor").ReadSigned(buf));
        check.ResultI64("version_patchlevel", F("version_patchlevel").ReadSigned(buf));
        ulong nl = F("name_len").ReadUnsigned(buf), dl = F("date_len").ReadUnsigned(buf), sl = F("desc_len").ReadUnsigned(buf);
        check.ResultU64("name_len", nl);
        check.ResultU64("date_len", dl);
        check.ResultU64("desc_len", sl);
        static string Str(byte[] p, ulong len)
        {
            int n = (int)Math.Min((ulong)p.Length, len);
            int nul = Array.IndexOf(p, (byte)0, 0, n);
            return Encoding.ASCII.GetString(p, 0, nul < 0 ? n : nul);
        }
        if (bad is not null)
        {
            return; // no strings were read back
        }
        check.ResultString("name", Str(pointees[NamePtr], nl));
        check.ResultString("date", Str(pointees[DatePtr], dl));
        check.ResultString("desc", Str(pointees[DescPtr], sl));
    }
}
