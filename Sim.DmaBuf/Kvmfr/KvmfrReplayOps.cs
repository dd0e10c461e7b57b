// Replay of the linux-6.1-kvmfr ops this project models: the kvmfr ioctls, /proc/modules and /proc/devices
// reads, stat/mknodat, finit_module/delete_module, busybox exec and dmesg (with the README's line classes).
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Replay;
using Sim.Core.Userspace;

namespace Sim.DmaBufs.Kvmfr;

/// <summary>The kvmfr family's replay handlers and its file-start hook (boot state, modules, nodes).</summary>
public sealed partial class KvmfrReplayOps : IReplayOpProvider
{
    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.OnFileStart(ctx => ctx.BootState.Apply());
        table.Add("KVMFR_DMABUF_GETSIZE", GetSize);
        table.Add("KVMFR_DMABUF_CREATE", Create);
        table.Add("procfs:modules", ProcModules);
        table.Add("procfs:devices", ProcDevices);
        table.Add("stat", Stat);
        table.Add("mknodat", Mknodat);
        table.Add("finit_module", FinitModule);
        table.Add("delete_module", DeleteModule);
        table.Add("exec", Exec);
        table.Add("dmesg", Dmesg);
    }

    private static void GetSize(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        check.Ret(ctx.Syscalls.Ioctl(ctx.Process, (int)(ev.Fd ?? -1), (uint)(ev.Request ?? KvmfrUapi.KVMFR_DMABUF_GETSIZE), new UserArg(ev.ArgU64("arg", 0))));
    }

    private static void Create(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var create = new kvmfr_dmabuf_create { flags = (byte)ev.ArgU64("flags"), offset = ev.ArgU64("offset"), size = ev.ArgU64("size") };
        byte pad = (byte)ev.ArgU64("pad_bytes", 0);
        Span<byte> padBytes = [pad, pad, pad, pad, pad, pad, pad];
        check.Ret(ctx.Syscalls.Ioctl(ctx.Process, (int)(ev.Fd ?? -1), (uint)(ev.Request ?? KvmfrUapi.KVMFR_DMABUF_CREATE), new UserArg(0x7ffc0000, create.ToBytes(padBytes))));
    }

    private static void ProcModules(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        string name = ev.ArgString("module") ?? "kvmfr";
        var (_, text) = ctx.Syscalls.ReadSeqFile(ctx.Process, "/proc/modules");
        string? line = (text ?? "").Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        check.ResultBool("loaded", line is not null);
        if (line is null)
        {
            return;
        }
        var cols = line.Split(' ');
        check.ResultU64("size", ulong.Parse(cols[1], CultureInfo.InvariantCulture));
        check.ResultI64("refcount", long.Parse(cols[2], CultureInfo.InvariantCulture));
        check.ResultString("used_by", cols[3]);
        check.ResultString("state", cols[4]);
    }

    private static void ProcDevices(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        string name = ev.ArgString("name") ?? "kvmfr";
        string? line = null;
        var (_, text) = ctx.Syscalls.ReadSeqFile(ctx.Process, "/proc/devices");
        foreach (var l in (text ?? "").Split('\n'))
        {
            if (l.EndsWith(" " + name, StringComparison.Ordinal))
            {
                line = l.TrimStart();
                break;
            }
        }
        check.ResultString("line", line);
        if (line is not null)
        {
            check.ResultU64("major", ulong.Parse(line.Split(' ')[0], CultureInfo.InvariantCulture));
        }
    }

    private static void Stat(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var (ret, st) = ctx.Syscalls.Stat(ctx.Process, ev.ArgString("path")!);
        check.Ret(ret);
        if (ret == 0)
        {
            check.ResultU64("st_mode", st.Mode);
            check.ResultU64("st_rdev_major", st.RdevMajor);
            check.ResultU64("st_rdev_minor", st.RdevMinor);
        }
    }

    private static void Mknodat(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        uint mode = (uint)ev.ArgU64("mode");
        if ((mode & Inode.S_IFMT) != Inode.S_IFCHR)
        {
            check.Skip("mknodat of a non-character node is not modelled");
            return;
        }
        check.Ret(ctx.Syscalls.Mknodat(ctx.Process, ev.ArgString("path")!, mode, (uint)ev.ArgU64("major"), (uint)ev.ArgU64("minor")));
    }

    private static void FinitModule(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        check.Ret(ctx.Syscalls.FinitModule(ctx.Process, ev.ArgString("path") ?? "kvmfr.ko", ev.ArgString("param_values") ?? "", (int)ev.ArgI64("flags", 0)));
    }

    private static void DeleteModule(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        check.Ret(ctx.Syscalls.DeleteModule(ctx.Process, ev.ArgString("name")!, (uint)ev.ArgU64("flags", 0)));
    }

    private static void Exec(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var (status, output) = ctx.Busybox.Exec(ev.ArgString("command")!);
        check.Ret(status);
        check.ResultString("output", output);
    }

    private static void Dmesg(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var actual = ctx.Printk.ReadClear();
        var expected = new List<LogRecord>();
        if (ev.Result.TryGetProperty("lines", out var lines) && lines.ValueKind == JsonValueKind.Array)
        {
            foreach (var l in lines.EnumerateArray())
            {
                expected.Add(new LogRecord(l.GetProperty("level").GetInt32(), l.GetProperty("text").GetString()!));
            }
        }
        CompareDmesg(expected, actual, check);
    }

    /// <summary>
    /// The README's dmesg comparison: drop the not-compared lines (hardware name, call-trace frames, registers,
    /// memory statistics) from both lists, then compare one to one by class (exact, or the WARNING / CPU /
    /// end-trace / mmap patterns).
    /// </summary>
    public static void CompareDmesg(IReadOnlyList<LogRecord> expected, IReadOnlyList<LogRecord> actual, ReplayCheck check)
    {
        var e = Kept(expected);
        var a = Kept(actual);
        int n = Math.Max(e.Count, a.Count);
        for (int k = 0; k < n; k++)
        {
            string field = $"result.lines[{k}]";
            if (k >= e.Count || k >= a.Count)
            {
                check.Fail(field, k < e.Count ? Show(e[k]) : "(none)", k < a.Count ? Show(a[k]) : "(none)");
                return;
            }
            if (e[k].Level != a[k].Level || !SameLine(e[k].Text, a[k].Text))
            {
                check.Fail(field, Show(e[k]), Show(a[k]));
                return;
            }
        }
    }

    private static string Show(LogRecord r) => $"<{r.Level}>{r.Text}";

    private static List<LogRecord> Kept(IReadOnlyList<LogRecord> lines)
    {
        var kept = new List<LogRecord>();
        bool inTask = false;
        foreach (var r in lines)
        {
            string t = r.Text;
            if (t == " <TASK>")
            {
                inTask = true;
                continue;
            }
            if (t == " </TASK>")
            {
                inTask = false;
                continue;
            }
            if (inTask || DroppedLine().IsMatch(t))
            {
                continue;
            }
            kept.Add(r);
        }
        return kept;
    }

    private static bool SameLine(string e, string a)
    {
        var we = WarningLine().Match(e);
        if (we.Success)
        {
            var wa = WarningLine().Match(a);
            return wa.Success && wa.Groups[1].Value == we.Groups[1].Value && wa.Groups[2].Value == we.Groups[2].Value && wa.Groups[3].Value == we.Groups[3].Value;
        }
        var ce = CpuLine().Match(e);
        if (ce.Success)
        {
            var ca = CpuLine().Match(a);
            return ca.Success && ca.Groups[1].Value == ce.Groups[1].Value && ca.Groups[2].Value == ce.Groups[2].Value && ca.Groups[3].Value == ce.Groups[3].Value;
        }
        if (EndTrace().IsMatch(e))
        {
            return EndTrace().IsMatch(a);
        }
        var me = MmapLine().Match(e);
        if (me.Success)
        {
            var ma = MmapLine().Match(a);
            return ma.Success && ma.Groups[1].Value == me.Groups[1].Value && ma.Groups[4].Value == me.Groups[4].Value
                && ma.Groups[5].Value == me.Groups[5].Value && Span(ma) == Span(me);
        }
        return e == a;
    }

    private static ulong Span(Match m) =>
        ulong.Parse(m.Groups[3].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) - ulong.Parse(m.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"^(Hardware name: .*|RIP: .*|Code: .*|RSP: .*|RAX: .*|RDX: .*|RBP: .*|R10: .*|R13: .*|FS: .*|CS: .*|CR2: .*| \? .*|active_anon:.*| (active_file|unevictable|slab_reclaimable|mapped|sec_pagetables|kernel_misc_reclaimable|free):.*|Node \d+ .*|lowmem_reserve\[\]:.*|\d+ total pagecache pages|\d+ pages in swap cache|Free swap .*|Total swap .*|\d+ pages RAM|\d+ pages HighMem/MovableOnly|\d+ pages reserved|\d+ pages hwpoisoned)$")]
    private static partial Regex DroppedLine();

    [GeneratedRegex(@"^WARNING: CPU: (\d+) PID: \d+ at (\S+) ([\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+$")]
    private static partial Regex WarningLine();

    [GeneratedRegex(@"^CPU: (\d+) PID: \d+ Comm: (\S+) (.*)$")]
    private static partial Regex CpuLine();

    [GeneratedRegex(@"^---\[ end trace [0-9a-f]{16} \]---$")]
    private static partial Regex EndTrace();

    [GeneratedRegex(@"^mmap kvmfr(\d+): ([0-9a-f]+)-([0-9a-f]+) with size (\d+) offset (\d+)$")]
    private static partial Regex MmapLine();
}
