// Process-level replay of the traced program: the header's open fds, the syscalls (openat, close, mmap,
// munmap, lseek, read, write, fstat, fcntl, kcmp, poll), CPU accesses through mappings (mem_*), fdinfo, raw
// ioctls, and the exit with its leak check.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.Core.Time;
using Sim.Drm.Uapi;

namespace Sim.Drm.Replay;

/// <summary>Replays the traced process's syscalls and memory accesses.</summary>
public sealed class ProcessReplayOps(Ktime clock, DrmCore drm) : IReplayOpProvider
{
    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.OnFileStart(Start);
        table.Add("openat", Openat)
            .Add("close", Close)
            .Add("dup", Dup)
            .Add("mmap", Mmap)
            .Add("munmap", Munmap)
            .Add("mem_read", MemRead)
            .Add("mem_write", MemWrite)
            .Add("mem_read_u32", MemReadU32)
            .Add("mem_write_u32", MemWriteU32)
            .Add("mem_fill", MemFill)
            .Add("mem_scan_u32", MemScanU32)
            .Add("lseek", Lseek)
            .Add("read", Read)
            .Add("write", Write)
            .Add("fstat", Fstat)
            .Add("fcntl", Fcntl)
            .Add("memfd_create", MemfdCreate)
            .Add("ftruncate", Ftruncate)
            .Add("kcmp", Kcmp)
            .Add("poll", Poll)
            .Add("fdinfo", Fdinfo)
            .Add("ioctl", RawIoctl);
    }

    /// <summary>
    /// The file-start hook: the DRM unlogged actions, and the root the DRM nodes check (the traced process itself is
    /// the session's, made with the header's fds).
    /// </summary>
    private void Start(ReplaySession ctx)
    {
        DrmUnloggedActions.Register(ctx);
        if (ctx.Kind == DataFileKind.Trace)
        {
            drm.Fops.Root = ctx.Options.Root;
        }
    }

    private static int Fd(TraceEvent ev) => (int)(ev.Fd ?? ev.ArgI64("fd"));

    private static void Openat(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        string path = ev.ArgString("path") ?? throw new TraceFormatException(ev.File, ev.Line, "missing", "args.path");
        check.Ret(ctx.Syscalls.Openat(ctx.RunsProcess(), path, (uint)ev.ArgU64("flags")));
    }

    // close, then the program's unlogged steps after it (cma-arm: the reopen of the DRM node).
    private static void Close(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        check.Ret(ctx.Syscalls.Close(ctx.RunsProcess(), Fd(ev)));
        ctx.Unlogged.RunAfter(ev, check);
    }

    private static void Dup(ReplaySession ctx, TraceEvent ev, ReplayCheck check) => check.Ret(ctx.Syscalls.Dup(ctx.RunsProcess(), Fd(ev)));

    private static void Mmap(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        long addr = ctx.Syscalls.Mmap(ctx.RunsProcess(), ev.ArgU64("length"), (uint)ev.ArgU64("prot"), (uint)ev.ArgU64("flags"), Fd(ev), ev.ArgU64("offset"));
        if (addr >= 0)
        {
            ctx.Traced.Mappings[ev.I] = (ulong)addr;
            check.Ret(0);
        }
        else
        {
            check.Ret(addr);
        }
    }

    private static ulong MappingAddr(ReplaySession ctx, TraceEvent ev)
    {
        long m = ev.ArgI64("mapping");
        if (!ctx.Traced.Mappings.TryGetValue(m, out ulong addr))
        {
            throw new InvalidOperationException($"mapping {m} was not made by the model");
        }
        return addr;
    }

    private static void Munmap(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        ulong addr = MappingAddr(ctx, ev) + ev.ArgU64("offset", 0);
        check.Ret(ctx.Syscalls.Munmap(ctx.RunsProcess(), addr, ev.ArgU64("length")));
    }

    private static void MemRead(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var buf = new byte[ev.ArgU64("length")];
        int ret = ctx.Syscalls.Load(ctx.RunsProcess(), MappingAddr(ctx, ev) + ev.ArgU64("offset", 0), buf);
        check.Ret(ret);
        if (ret != 0)
        {
            return;
        }
        int nul = Array.IndexOf(buf, (byte)0);
        check.ResultString("string", Encoding.Latin1.GetString(buf, 0, nul < 0 ? buf.Length : nul));
        check.ResultString("hex", Convert.ToHexStringLower(buf));
        if (ev.Result.TryGetProperty("u32", out var words) && words.ValueKind == JsonValueKind.Array)
        {
            int k = 0;
            foreach (var w in words.EnumerateArray())
            {
                uint model = k * 4 + 4 <= buf.Length ? BitConverter.ToUInt32(buf, k * 4) : 0;
                check.Equal($"result.u32[{k}]", w.GetUInt64(), model);
                k++;
            }
        }
    }

    private static void MemWrite(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        string data = ev.ArgString("data") ?? "";
        var bytes = Encoding.Latin1.GetBytes(data);
        int len = (int)ev.ArgU64("length", (ulong)bytes.Length);
        Array.Resize(ref bytes, len);
        check.Ret(ctx.Syscalls.Store(ctx.RunsProcess(), MappingAddr(ctx, ev) + ev.ArgU64("offset", 0), bytes));
    }

    private static void MemReadU32(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var buf = new byte[4];
        int ret = ctx.Syscalls.Load(ctx.RunsProcess(), MappingAddr(ctx, ev) + 4 * ev.ArgU64("word_index"), buf);
        check.Ret(ret);
        if (ret == 0)
        {
            check.ResultU64("value", BitConverter.ToUInt32(buf));
        }
    }

    private static void MemWriteU32(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(ctx.Syscalls.Store(ctx.RunsProcess(), MappingAddr(ctx, ev) + 4 * ev.ArgU64("word_index"), BitConverter.GetBytes((uint)ev.ArgU64("value"))));

    private static void MemFill(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var buf = new byte[ev.ArgU64("length")];
        Array.Fill(buf, (byte)ev.ArgU64("byte"));
        check.Ret(ctx.Syscalls.Store(ctx.RunsProcess(), MappingAddr(ctx, ev) + ev.ArgU64("offset", 0), buf));
    }

    private static void MemScanU32(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var buf = new byte[ev.ArgU64("length")];
        int ret = ctx.Syscalls.Load(ctx.RunsProcess(), MappingAddr(ctx, ev) + ev.ArgU64("offset", 0), buf);
        check.Ret(ret);
        if (ret != 0)
        {
            return;
        }
        uint expect = (uint)ev.ArgU64("expect");
        ulong mismatches = 0;
        for (int k = 0; k + 4 <= buf.Length; k += 4)
        {
            if (BitConverter.ToUInt32(buf, k) != expect)
            {
                mismatches++;
            }
        }
        check.ResultU64("mismatch_count", mismatches);
    }

    private static void Lseek(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(ctx.Syscalls.Lseek(ctx.RunsProcess(), Fd(ev), ev.ArgI64("offset"), (int)ev.ArgI64("whence")));

    private static void Read(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(ctx.Syscalls.Read(ctx.RunsProcess(), Fd(ev), new byte[ev.ArgU64("count")]));

    private static void Write(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(ctx.Syscalls.Write(ctx.RunsProcess(), Fd(ev), new byte[ev.ArgU64("count")]));

    private static void Fstat(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var (ret, st) = ctx.Syscalls.Fstat(ctx.RunsProcess(), Fd(ev));
        check.Ret(ret);
        if (ret != 0)
        {
            return;
        }
        if (ev.HasResult("st_ino") && !ctx.Traced.InoMatches(ev.ResultU64("st_ino"), st.Ino))
        {
            check.Fail("result.st_ino", $"{ev.ResultU64("st_ino")} (pattern)", st.Ino.ToString(CultureInfo.InvariantCulture));
        }
        check.ResultU64("st_mode", st.Mode);
        check.ResultU64("st_size", (ulong)st.Size);
        check.ResultU64("st_blksize", (ulong)st.Blksize);
    }

    private static void Fcntl(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        int cmd = (int)ev.ArgI64("cmd_value");
        long ret = ctx.Syscalls.Fcntl(ctx.RunsProcess(), Fd(ev), cmd, ev.ArgI64("arg", 0));
        if (cmd == Process.F_GETFL && ret >= 0)
        {
            // drmtrace logs the access mode as ret (fcntl(fd, F_GETFL) & O_ACCMODE).
            check.Ret(ret & OpenFlags.O_ACCMODE);
            check.ResultString("accmode", (ret & OpenFlags.O_ACCMODE) switch { 0 => "O_RDONLY", 1 => "O_WRONLY", _ => "O_RDWR" });
            return;
        }
        check.Ret(ret);
        if (cmd == Process.F_GETFD && ret >= 0)
        {
            check.ResultBool("FD_CLOEXEC", (ret & Process.FD_CLOEXEC) != 0);
        }
    }

    private static void MemfdCreate(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(ctx.Syscalls.MemfdCreate(ctx.RunsProcess(), ev.ArgString("name") ?? "", (uint)ev.ArgU64("flags")));

    private static void Ftruncate(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(ctx.Syscalls.Ftruncate(ctx.RunsProcess(), Fd(ev), ev.ArgI64("length")));

    private static void Kcmp(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        int ret = ctx.Syscalls.KcmpFile(ctx.RunsProcess(), (int)ev.ArgI64("idx1"), (int)ev.ArgI64("idx2"));
        long expected = ev.Ret;
        if (expected > 0 && ret > 0)
        {
            // Non-zero results follow kernel pointer order: only "non-zero" is compared.
        }
        else
        {
            check.Ret(ret);
        }
        check.ResultBool("same_file", ret == 0);
    }

    private void Poll(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        long before = clock.NowNs;
        var (ret, revents) = ctx.Syscalls.Poll(ctx.RunsProcess(), Fd(ev), (uint)ev.ArgU64("events"), ev.ArgI64("timeout_ms"));
        double elapsed = (clock.NowNs - before) / 1e9;
        check.Ret(ret);
        check.ResultU64("revents", revents);
        check.ResultBool("POLLIN", (revents & Poll_h.POLLIN) != 0);
        check.ResultBool("POLLOUT", (revents & Poll_h.POLLOUT) != 0);
        CheckElapsed(ev, check, elapsed);
    }

    /// <summary>Compares <c>elapsed_s</c> against the family's thresholds (captured 0: &lt; 1 s; captured &gt;= 10: [10, 11)).</summary>
    public static void CheckElapsed(TraceEvent ev, ReplayCheck check, double elapsed)
    {
        if (!ev.Result.TryGetProperty("elapsed_s", out var e) || e.ValueKind != JsonValueKind.Number)
        {
            return;
        }
        double captured = e.GetDouble();
        bool ok = captured >= 10 ? elapsed >= 10.0 && elapsed < 11.0 : captured < 1 ? elapsed < 1.0 : Math.Abs(elapsed - captured) < 1.0;
        if (!ok)
        {
            check.Fail("result.elapsed_s", captured.ToString(CultureInfo.InvariantCulture), elapsed.ToString(CultureInfo.InvariantCulture));
        }
    }

    private static void Fdinfo(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        string? text = ctx.Syscalls.Fdinfo(ctx.RunsProcess(), Fd(ev));
        if (text is null)
        {
            check.Ret(-2);
            return;
        }
        check.Ret(0);
        string? expected = ev.Result.TryGetProperty("text", out var t) ? t.GetString() : null;
        if (expected is null)
        {
            return;
        }
        var exp = ParseFdinfo(expected);
        var act = ParseFdinfo(text);
        if (exp.Count != act.Count)
        {
            check.Fail("result.text", expected, text);
            return;
        }
        for (int k = 0; k < exp.Count; k++)
        {
            var (ek, ev2) = exp[k];
            var (ak, av) = act[k];
            if (ek != ak)
            {
                check.Fail("result.text", expected, text);
                return;
            }
            if (ek == "mnt_id")
            {
                continue;
            }
            if (ek == "ino")
            {
                if (!ctx.Traced.InoMatches(ulong.Parse(ev2, CultureInfo.InvariantCulture), ulong.Parse(av, CultureInfo.InvariantCulture)))
                {
                    check.Fail("result.fields.ino", ev2 + " (pattern)", av);
                }
                continue;
            }
            check.Equal("result.fields." + ek, ev2, av);
        }
    }

    private static List<(string Key, string Value)> ParseFdinfo(string text)
    {
        var list = new List<(string, string)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }
            int c = line.IndexOf(':', StringComparison.Ordinal);
            string key = c < 0 ? line : line[..c];
            string value = c < 0 ? "" : line[(c + 1)..].TrimStart('\t', ' ');
            list.Add((key, value));
        }
        return list;
    }

    private static void RawIoctl(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        uint request = (uint)(ev.Request ?? throw new TraceFormatException(ev.File, ev.Line, "missing", "request"));
        // args.arg is the raw argument when the program passed a value rather than its own struct (NULL, 8:
        // nothing is mapped there, so a copy_from_user gives -EFAULT); otherwise it passed a zeroed struct
        // of the request's size.
        var arg = ev.HasArg("arg")
            ? new UserArg(ev.ArgU64("arg"))
            : new UserArg(0x7fff0000, new byte[Math.Max(Ioctl._IOC_SIZE(request), 8)]);
        check.Ret(ctx.Syscalls.Ioctl(ctx.RunsProcess(), Fd(ev), request, arg));
    }
}
