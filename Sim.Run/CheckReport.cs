// `dmabufsim run --check`: collects what the simulated kernel recorded (leaks released by do_exit, WARNs, misuses)
// and the calls that failed on the program's own arguments, attributes each to the program's backtrace of its call,
// and prints a valgrind-like report at every process exit and a summary at the end. No model logic here: the kernel
// layer decides what is a leak or a misuse (Sim.Core.Debug.LeakCheck); this only gathers and prints.
using System.Globalization;
using System.Text;
using Sim.Core.Debug;
using Errno = Sim.Core.Uapi.Errno;

namespace Sim.Run;

/// <summary>The <c>--check</c> report of one run.</summary>
internal sealed class CheckReport
{
    private const int MaxFrames = 24;

    private readonly LeakCheck _check;
    private readonly Warnings _warnings;
    private readonly Sim.Core.Kernel.Bug _bug;
    private int _bugSeen;
    private readonly TextWriter _out;
    private readonly Symbolizer _symbolizer = new();
    private readonly Dictionary<string, long> _siteIds = new(StringComparer.Ordinal);
    private readonly List<Frame[]> _sites = [[]];
    private readonly Dictionary<int, List<Item>> _pending = [];
    private readonly Dictionary<int, int> _realPid = [];
    private int _warnSeen;
    private int _leakSeen;
    private int _misuseSeen;
    private int _leaks;
    private int _warns;
    private int _misuses;
    private int _notes;
    private int _processes;

    public CheckReport(LeakCheck check, Warnings warnings, Sim.Core.Kernel.Bug bug, TextWriter output)
    {
        _bug = bug;
        _check = check;
        _warnings = warnings;
        _out = output;
        check.Enabled = true;
    }

    private enum ItemKind
    {
        Leak,
        Warning,
        Misuse,
        Note,
    }

    private sealed record Item(ItemKind Kind, string Text, long Site, List<(string Text, long Site)> Also);

    /// <summary>The call-site id of a backtrace of process <paramref name="pid"/> (the same backtrace, the same id).</summary>
    public long Intern(int pid, ReadOnlySpan<ulong> addresses)
    {
        var frames = new Frame[Math.Min(addresses.Length, MaxFrames)];
        var key = new StringBuilder();
        for (int k = 0; k < frames.Length; k++)
        {
            frames[k] = _symbolizer.Resolve(pid, addresses[k]);
            key.Append(frames[k].Object ?? "?").Append('+').Append(frames[k].Object is null ? frames[k].Address : frames[k].FileOffset).Append(';');
        }
        string s = key.ToString();
        if (!_siteIds.TryGetValue(s, out long id))
        {
            id = _sites.Count;
            _sites.Add(frames);
            _siteIds[s] = id;
        }
        return id;
    }

    /// <summary>A new program image in process <paramref name="pid"/>: its mappings are new.</summary>
    public void Exec(int pid) => _symbolizer.Forget(pid);

    /// <summary>After a call of <paramref name="hp"/>: its WARNs and misuses, and a note when it failed on its arguments.</summary>
    public void AfterCall(HostProcess hp, RunRequest req, byte[] payload, long ret, long site)
    {
        _realPid[hp.Process.Pid] = hp.RealPid;
        Drain(hp, site);
        if (ret is -(long)Errno.EINVAL or -(long)Errno.EBADF or -(long)Errno.ENOENT)
        {
            Add(hp.Process.Pid, new Item(ItemKind.Note, $"{Describe(req, payload)} failed with {(Errno)(-ret)}", site, []));
        }
    }

    /// <summary>After the exit of <paramref name="hp"/>: what its exit released, then its report.</summary>
    public void AfterExit(HostProcess hp)
    {
        _realPid[hp.Process.Pid] = hp.RealPid;
        Drain(hp, 0);
        var byRecord = new Dictionary<LeakRecord, Item>();
        var leaks = _check.Leaks;
        for (; _leakSeen < leaks.Count; _leakSeen++)
        {
            var r = leaks[_leakSeen];
            if (r.Parent is null)
            {
                var item = new Item(ItemKind.Leak, $"{r.Kind}: {r.Description}: {Phrase(r.Kind)}", r.Origin.Site, []);
                byRecord[r] = item;
                Add(r.Pid, item);
                continue;
            }
            var root = r.Parent;
            while (root.Parent is not null)
            {
                root = root.Parent;
            }
            if (byRecord.TryGetValue(root, out var parent))
            {
                parent.Also.Add(($"{r.Kind}: {r.Description}", r.Origin.Site));
            }
        }
        _processes++;
        Print(hp.RealPid, hp.Process.Comm, _pending.Remove(hp.Process.Pid, out var items) ? items : []);
        _symbolizer.Forget(hp.RealPid);
    }

    /// <summary>The summary line; returns the number of leaks, warnings and misuses (notes not counted).</summary>
    public int Finish()
    {
        // WARNs outside any call or exit of a program process (the host's own last references).
        for (; _warnSeen < _warnings.Records.Count; _warnSeen++)
        {
            _warns++;
            var w = _warnings.Records[_warnSeen];
            _out.WriteLine($"==dmabufsim== warning: WARN in {w.Function}: {w.Condition} (after the last process)");
        }
        for (; _bugSeen < _bug.Reported.Count; _bugSeen++)
        {
            _warns++;
            var w = _bug.Reported[_bugSeen];
            _out.WriteLine($"==dmabufsim== warning: WARN in {w.Function}: {w.Condition} (after the last process)");
        }
        foreach (var (pid, items) in _pending)
        {
            Print(_realPid.GetValueOrDefault(pid, pid), "?", items);
        }
        _pending.Clear();
        if (_notes > 0)
        {
            _out.WriteLine($"==dmabufsim== {_notes} {Plural(_notes, "note", "notes")}: calls that failed on the program's own arguments (not errors: programs probe on purpose)");
        }
        _out.WriteLine($"==dmabufsim== {_leaks} leaks, {_warns} warnings, {_misuses} misuses ({_processes} processes)");
        return _leaks + _warns + _misuses;
    }

    private void Drain(HostProcess hp, long site)
    {
        for (; _warnSeen < _warnings.Records.Count; _warnSeen++)
        {
            var w = _warnings.Records[_warnSeen];
            Add(hp.Process.Pid, new Item(ItemKind.Warning, $"WARN in {w.Function}: {w.Condition}", site, []));
        }
        // The WARN reports the kernel log printed (kernel/panic.c __warn: WARN_ON_ONCE sites with their report).
        for (; _bugSeen < _bug.Reported.Count; _bugSeen++)
        {
            var w = _bug.Reported[_bugSeen];
            Add(hp.Process.Pid, new Item(ItemKind.Warning, $"WARN in {w.Function}: {w.Condition}", site, []));
        }
        var misuses = _check.Misuses;
        for (; _misuseSeen < misuses.Count; _misuseSeen++)
        {
            var m = misuses[_misuseSeen];
            Add(m.Pid, new Item(ItemKind.Misuse, $"{m.What} ({m.Function})", m.Origin.Site, []));
        }
    }

    private void Add(int pid, Item item)
    {
        switch (item.Kind)
        {
            case ItemKind.Leak:
                _leaks++;
                break;
            case ItemKind.Warning:
                _warns++;
                break;
            case ItemKind.Misuse:
                _misuses++;
                break;
            default:
                _notes++;
                break;
        }
        if (!_pending.TryGetValue(pid, out var list))
        {
            _pending[pid] = list = [];
        }
        list.Add(item);
    }

    private void Print(int pid, string comm, List<Item> items)
    {
        string p = $"=={pid}==";
        int leaks = 0, warns = 0, misuses = 0, notes = 0;
        // Errors first (leaks, warnings, misuses), then the notes, each in the order they happened.
        foreach (var item in items.OrderBy(i => i.Kind == ItemKind.Note ? 1 : 0))
        {
            string label = item.Kind switch
            {
                ItemKind.Leak => "leak",
                ItemKind.Warning => "warning",
                ItemKind.Misuse => "misuse",
                _ => "note",
            };
            _ = item.Kind switch
            {
                ItemKind.Leak => leaks++,
                ItemKind.Warning => warns++,
                ItemKind.Misuse => misuses++,
                _ => notes++,
            };
            _out.WriteLine($"{p} {label}: {item.Text}");
            Backtrace(p, item.Kind == ItemKind.Leak ? "created" : "called", item.Site);
            foreach (var (text, site) in item.Also)
            {
                _out.WriteLine($"{p}    which also released (indirectly lost): {text}");
                Backtrace(p + "   ", "created", site);
            }
            _out.WriteLine(p);
        }
        _out.WriteLine($"{p} process {pid} ({comm}) exited: {leaks} {Plural(leaks, "leak", "leaks")}, {warns} {Plural(warns, "warning", "warnings")}, " +
            $"{misuses} {Plural(misuses, "misuse", "misuses")}, {notes} {Plural(notes, "note", "notes")}");
    }

    private void Backtrace(string prefix, string verb, long site)
    {
        if (site <= 0 || site >= _sites.Count || _sites[(int)site].Length == 0)
        {
            _out.WriteLine($"{prefix}    {verb} at exit (no call of the program)");
            return;
        }
        var frames = _symbolizer.Symbolize(_sites[(int)site]);
        for (int k = 0; k < frames.Count; k++)
        {
            var f = frames[k];
            string where = f.Source is not null ? $"({f.Source})" : $"(in {f.Frame.Object ?? "?"})";
            _out.WriteLine($"{prefix}    {(k == 0 ? verb + " at" : "by")} 0x{f.Frame.Address:x}: {f.Function} {where}");
            if (f.Function == "main")
            {
                break;
            }
        }
    }

    private static string Phrase(string kind) => kind switch
    {
        "GEM object" => "its last handle was closed by the exit (drm_release), not by the program",
        "dma-buf" => "its last fd or mapping was dropped by the exit, not by the program",
        "sync_file" => "its last fd was closed by the exit, not by the program",
        "mapping" => "still mapped at exit (exit_mmap unmapped it)",
        "attachment" => "detached by the exit, not by the program",
        _ => "released by the exit, not by the program",
    };

    private static string Plural(int n, string one, string many) => n == 1 ? one : many;

    private static string Describe(RunRequest req, byte[] payload)
    {
        string path = Array.IndexOf(payload, (byte)0) < 0 && payload.Length <= 4096 ? Encoding.UTF8.GetString(payload) : "?";
        string Hex(long v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
        return req.Op switch
        {
            RunOp.Ioctl => $"ioctl(fd {req.A0}, {IoctlNames.Describe((uint)req.A1)})",
            RunOp.Open => $"open(\"{path}\")",
            RunOp.Stat => $"stat(\"{path}\")",
            RunOp.Listdir => $"opendir(\"{path}\")",
            RunOp.Mknod => $"mknod(\"{path}\")",
            RunOp.Unlink => $"unlink(\"{path}\")",
            RunOp.Close => $"close(fd {req.A0})",
            RunOp.Mmap => $"mmap(length {req.A1}, fd {req.A4}, offset {Hex(req.A5)})",
            RunOp.Munmap => $"munmap({Hex(req.A0)}, {req.A1})",
            RunOp.Mremap => $"mremap({Hex(req.A0)}, {req.A1}, {req.A2})",
            RunOp.Dup => $"dup(fd {req.A0})",
            RunOp.Fcntl => $"fcntl(fd {req.A0}, {req.A1})",
            RunOp.Lseek => $"lseek(fd {req.A0}, {req.A1}, {req.A2})",
            RunOp.Read => $"read(fd {req.A0}, {req.A1})",
            RunOp.Write => $"write(fd {req.A0})",
            RunOp.Fstat => $"fstat(fd {req.A0})",
            _ => req.Op.ToString().ToLowerInvariant(),
        };
    }
}
