// Models kernel/panic.c: the taint mask (add_taint, test_taint, print_tainted) and __warn's report, with
// lib/dump_stack.c's "CPU: ... Comm: ... Tainted: ..." line and WARN_ON_ONCE's once-per-boot sites.
using System.Text;
using Sim.Core.Boot;

namespace Sim.Core.Kernel;

/// <summary>The task a syscall runs in (<c>current</c>): its pid and <c>comm</c>, as dump lines print them.</summary>
[Kernel("current")]
public sealed class CurrentTask
{
    // `current` is per CPU: per host thread here, so threads driving one machine each see their own task. Not
    // disposed with the machine: the sweep reads a replayed machine after its container is disposed (the slots
    // go with the finalizer).
    private readonly ThreadLocal<Frame> _frame = new(() => new Frame());

    private sealed class Frame
    {
        public int Pid = 1;
        public string Comm = "init";
        public Process? Process;
    }

    /// <summary><c>current-&gt;pid</c>.</summary>
    public int Pid => _frame.Value!.Pid;

    /// <summary><c>current-&gt;comm</c>.</summary>
    public string Comm => _frame.Value!.Comm;

    /// <summary>The process whose fd table <c>fd_install</c> fills (null outside a simulated syscall).</summary>
    public Process? Process => _frame.Value!.Process;

    /// <summary>Runs the next kernel calls on this thread as (<paramref name="pid"/>, <paramref name="comm"/>) until disposed.</summary>
    public Scope Enter(int pid, string comm)
    {
        var f = _frame.Value!;
        var saved = new Scope(f, f.Pid, f.Comm, f.Process);
        f.Pid = pid;
        f.Comm = comm;
        return saved;
    }

    /// <summary>Runs the next kernel calls on this thread in <paramref name="process"/> until disposed (a syscall's entry).</summary>
    public Scope Enter(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        var f = _frame.Value!;
        var saved = new Scope(f, f.Pid, f.Comm, f.Process);
        f.Pid = process.Pid;
        f.Comm = process.Comm;
        f.Process = process;
        return saved;
    }

    /// <summary>The task that was current before <see cref="Enter(Process)"/>; disposing restores it.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly object? _frame;
        private readonly int _pid;
        private readonly string _comm;
        private readonly Process? _process;

        internal Scope(object frame, int pid, string comm, Process? process)
        {
            _frame = frame;
            _pid = pid;
            _comm = comm;
            _process = process;
        }

        /// <summary>Makes the saved task current again.</summary>
        public void Dispose()
        {
            if (_frame is Frame f)
            {
                f.Pid = _pid;
                f.Comm = _comm;
                f.Process = _process;
            }
        }
    }
}

/// <summary>The kernel's taint mask (<c>tainted_mask</c>) and its printed form.</summary>
[Kernel("tainted_mask", "kernel/panic.c")]
public sealed class Taint
{
    /// <summary>TAINT_PROPRIETARY_MODULE (P / G).</summary>
    public const int TAINT_PROPRIETARY_MODULE = 0;
    /// <summary>TAINT_FORCED_MODULE (F).</summary>
    public const int TAINT_FORCED_MODULE = 1;
    /// <summary>TAINT_FORCED_RMMOD (R).</summary>
    public const int TAINT_FORCED_RMMOD = 3;
    /// <summary>TAINT_USER (U).</summary>
    public const int TAINT_USER = 6;
    /// <summary>TAINT_WARN (W).</summary>
    public const int TAINT_WARN = 9;
    /// <summary>TAINT_CRAP (C).</summary>
    public const int TAINT_CRAP = 10;
    /// <summary>TAINT_OOT_MODULE (O).</summary>
    public const int TAINT_OOT_MODULE = 12;
    /// <summary>TAINT_UNSIGNED_MODULE (E).</summary>
    public const int TAINT_UNSIGNED_MODULE = 13;
    /// <summary>TAINT_LIVEPATCH (K).</summary>
    public const int TAINT_LIVEPATCH = 15;
    /// <summary>TAINT_TEST (N).</summary>
    public const int TAINT_TEST = 18;
    /// <summary>TAINT_FLAGS_COUNT.</summary>
    public const int TAINT_FLAGS_COUNT = 19;

    // taint_flags[]: c_true, c_false, module (kernel/panic.c, 6.1).
    private static readonly (char True, char False, bool Module)[] s_flags =
    [
        ('P', 'G', true), ('F', ' ', true), ('S', ' ', false), ('R', ' ', false), ('M', ' ', false),
        ('B', ' ', false), ('U', ' ', false), ('D', ' ', false), ('A', ' ', false), ('W', ' ', false),
        ('C', ' ', true), ('I', ' ', false), ('O', ' ', true), ('E', ' ', true), ('L', ' ', false),
        ('K', ' ', true), ('X', ' ', true), ('T', ' ', true), ('N', ' ', true),
    ];

    /// <summary>The mask.</summary>
    public ulong Mask { get; private set; }

    /// <summary><c>add_taint(flag, ...)</c>.</summary>
    [Kernel("add_taint", "kernel/panic.c")]
    public void Add(int flag) => Mask |= 1UL << flag;

    /// <summary><c>test_taint(flag)</c>.</summary>
    [Kernel("test_taint", "kernel/panic.c")]
    public bool Test(int flag) => (Mask & (1UL << flag)) != 0;

    /// <summary>Sets the mask from letters such as <c>OE</c> (a trace's <c>boot_state.taint_flags</c>).</summary>
    public void SetFromLetters(string letters)
    {
        Mask = 0;
        foreach (char c in letters)
        {
            int k = Array.FindIndex(s_flags, f => f.True == c);
            if (k < 0)
            {
                throw new FormatException($"unknown taint letter '{c}'");
            }
            if (c != 'G')
            {
                Add(k);
            }
        }
    }

    /// <summary>The 19-character string <c>print_tainted</c> shows after "Tainted: " (<c>G           OE     </c>).</summary>
    public string TaintString()
    {
        var sb = new StringBuilder(TAINT_FLAGS_COUNT);
        for (int k = 0; k < TAINT_FLAGS_COUNT; k++)
        {
            sb.Append(Test(k) ? s_flags[k].True : s_flags[k].False);
        }
        return sb.ToString();
    }

    /// <summary><c>print_tainted()</c>: "Not tainted" or "Tainted: " + the flag string.</summary>
    [Kernel("print_tainted", "kernel/panic.c")]
    public string PrintTainted() => Mask == 0 ? "Not tainted" : "Tainted: " + TaintString();

    /// <summary>The letters of a module's own taint mask (<c>module_flags_taint</c>: module flags only, set ones).</summary>
    [Kernel("module_flags_taint", "kernel/module/main.c")]
    public static string ModuleLetters(ulong taints)
    {
        var sb = new StringBuilder();
        for (int k = 0; k < TAINT_FLAGS_COUNT; k++)
        {
            if (s_flags[k].Module && (taints & (1UL << k)) != 0)
            {
                sb.Append(s_flags[k].True);
            }
        }
        return sb.ToString();
    }
}

/// <summary>
/// The oops/WARN reporting of kernel/panic.c and lib/dump_stack.c: <c>WARN_ON_ONCE</c> sites that fire once
/// per boot, the <c>------------[ cut here ]------------</c> report with "Modules linked in:", the dump_stack
/// header lines, and the end marker. Call-trace frames and registers are not modelled (the traces' comparison
/// drops them); a short placeholder stands in for them.
/// </summary>
[Kernel("__warn", "kernel/panic.c")]
public sealed class Bug(Printk printk, Taint taint, CurrentTask current, ModuleList modules, MachineOptions options)
{
    private readonly HashSet<string> _onceFired = new(StringComparer.Ordinal);
    private readonly List<Debug.WarnRecord> _reported = [];

    /// <summary>Every WARN report printed so far (the site and the function), in order.</summary>
    public IReadOnlyList<Debug.WarnRecord> Reported => _reported;

    /// <summary>WARN_ON_ONCE sites (<c>file:line</c>) that have fired in this boot.</summary>
    public IReadOnlyCollection<string> OnceFired => _onceFired;

    /// <summary>Marks a once-site as already fired (a trace's <c>boot_state.once_warnings_fired</c>).</summary>
    public void MarkOnceFired(string site) => _onceFired.Add(site);

    /// <summary>
    /// <c>WARN_ON_ONCE(condition)</c> at <paramref name="file"/>:<paramref name="line"/> in <paramref name="function"/>:
    /// the first time it is true in a boot, prints the WARN report and taints W. Returns the condition.
    /// </summary>
    [Kernel("WARN_ON_ONCE", "include/asm-generic/bug.h")]
    public bool WarnOnOnce(bool condition, string file, int line, string function)
    {
        if (!condition)
        {
            return false;
        }
        if (_onceFired.Add(file + ":" + line))
        {
            Warn(file, line, function);
        }
        return true;
    }

    /// <summary><c>report_bug</c> + <c>__warn</c>: the report of a WARN at file:line in function, then TAINT_WARN.</summary>
    public void Warn(string file, int line, string function)
    {
        _reported.Add(new Debug.WarnRecord($"WARNING at {file}:{line}", function));
        printk.Warn("------------[ cut here ]------------\n");
        printk.Warn($"WARNING: CPU: 0 PID: {current.Pid} at {file}:{line} {function}+0x0/0x0\n");
        PrintModules();
        DumpStackPrintInfo(Printk.KERN_WARNING);
        printk.Warn($"RIP: 0010:{function}+0x0/0x0\n");
        printk.Warn("Call Trace:\n");
        printk.Warn(" <TASK>\n");
        printk.Warn(" </TASK>\n");
        printk.Warn("---[ end trace 0000000000000000 ]---\n");
        taint.Add(Taint.TAINT_WARN);
    }

    /// <summary><c>dump_stack()</c>: the header lines and the (unmodelled) call trace.</summary>
    [Kernel("dump_stack", "lib/dump_stack.c")]
    public void DumpStack()
    {
        DumpStackPrintInfo(Printk.KERN_WARNING);
        printk.Warn("Call Trace:\n");
        printk.Warn(" <TASK>\n");
        printk.Warn(" </TASK>\n");
    }

    /// <summary><c>print_modules()</c>: "Modules linked in: ... [last unloaded: m]".</summary>
    [Kernel("print_modules", "kernel/module/main.c")]
    public void PrintModules() => printk.Print(Printk.KERN_DEFAULT, modules.ModulesLinkedIn() + "\n");

    /// <summary><c>dump_stack_print_info</c>: the "CPU: ... Comm: ... Tainted: ..." and "Hardware name:" lines.</summary>
    [Kernel("dump_stack_print_info", "lib/dump_stack.c")]
    public void DumpStackPrintInfo(int level)
    {
        printk.Print(level, $"CPU: 0 PID: {current.Pid} Comm: {current.Comm} {taint.PrintTainted()} {UtsBanner(options)}\n");
        printk.Print(level, "Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n");
    }

    /// <summary>
    /// The release/version part of the dump header: <c>release</c>, the version up to its first space (<c>#1</c>)
    /// and Debian's build-id text (<c> Debian 6.1.192-2</c>), from the header's <c>kernel_release</c>/<c>kernel_version</c>.
    /// </summary>
    public static string UtsBanner(MachineOptions options)
    {
        string release = "6.1.0-56-amd64";
        string version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)";
        if (options.MachineConfig.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            if (options.MachineConfig.TryGetProperty("kernel_release", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                release = r.GetString()!;
            }
            if (options.MachineConfig.TryGetProperty("kernel_version", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                version = v.GetString()!;
            }
        }
        int sp = version.IndexOf(' ', StringComparison.Ordinal);
        string head = sp < 0 ? version : version[..sp];
        string build = "";
        int deb = version.IndexOf("Debian ", StringComparison.Ordinal);
        if (deb >= 0)
        {
            int end = version.IndexOf(' ', deb + 7);
            build = " " + (end < 0 ? version[deb..] : version[deb..end]);
        }
        return $"{release} {head} {build}";
    }
}
