// Models lib/fault-inject.c (should_fail_ex, current->fail_nth) with mm/failslab.c and fail_page_alloc (Linux 6.1).
using System.Reflection;
using Sim.Core.Uapi;

namespace Sim.Core.Debug;

/// <summary>What kind of allocation a <see cref="FaultSite"/> is (which kernel fault attribute covers it).</summary>
public enum FaultKind
{
    /// <summary><c>kmalloc</c>/<c>kzalloc</c>/<c>kmem_cache_alloc</c> (failslab).</summary>
    Slab,

    /// <summary><c>alloc_pages</c> (fail_page_alloc).</summary>
    Page,

    /// <summary>A CMA range (<c>cma_alloc</c> → <c>alloc_contig_range</c>).</summary>
    Cma,

    /// <summary><c>vmalloc</c> (its page array and pages).</summary>
    Vmalloc,

    /// <summary>A file (<c>alloc_file_pseudo</c>, <c>alloc_anon_inode</c>).</summary>
    File,
}

/// <summary>
/// One named allocation site in the model: declared as a <c>static readonly</c> field next to the code that
/// allocates (<c>static readonly FaultSite s_kzallocAttach = FaultSite.Register("dma_buf_attach:kzalloc")</c>),
/// asked <see cref="ShouldFail"/> right where the kernel's allocation would fail, and on true the code takes the
/// kernel's error path with <see cref="Errno"/>. Every site is in a process-wide registry so a failure sweep
/// knows all of them, reached or not (<see cref="Discover"/>).
/// </summary>
[Kernel("struct fault_attr", "include/linux/fault-inject.h")]
public sealed class FaultSite
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<string, FaultSite> s_sites = new(StringComparer.Ordinal);

    private FaultSite(string name, FaultKind kind, Errno errno)
    {
        Name = name;
        Kind = kind;
        Errno = errno;
    }

    /// <summary>"function:allocation", e.g. <c>dma_buf_attach:kzalloc</c>.</summary>
    public string Name { get; }

    /// <summary>Which fault attribute covers the site.</summary>
    public FaultKind Kind { get; }

    /// <summary>The errno the kernel returns when the allocation fails (usually <c>ENOMEM</c>).</summary>
    public Errno Errno { get; }

    /// <summary>The negative errno the failing call returns.</summary>
    public int Error => -(int)Errno;

    /// <summary>Registers (or returns the already registered) site of this name.</summary>
    public static FaultSite Register(string name, FaultKind kind = FaultKind.Slab, Errno errno = Errno.ENOMEM)
    {
        lock (s_lock)
        {
            if (!s_sites.TryGetValue(name, out var site))
            {
                site = new FaultSite(name, kind, errno);
                s_sites.Add(name, site);
            }
            return site;
        }
    }

    /// <summary>Sites registered so far (those whose declaring types were initialised), by name.</summary>
    public static IReadOnlyList<FaultSite> Registered()
    {
        lock (s_lock)
        {
            var list = new List<FaultSite>(s_sites.Values);
            list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
            return list;
        }
    }

    /// <summary>
    /// Every site declared in <paramref name="assemblies"/>: reads every static <see cref="FaultSite"/> field
    /// by reflection (running the declaring types' initialisers), so sites that no scenario reached are listed
    /// too. Returns all registered sites by name.
    /// </summary>
    public static IReadOnlyList<FaultSite> Discover(params Assembly[] assemblies)
    {
        foreach (var asm in assemblies)
        {
            Type?[] types;
            try
            {
                types = asm.GetTypes();
            }
            catch (ReflectionTypeLoadException e)
            {
                types = e.Types;
            }
            foreach (var t in types)
            {
                if (t is null || t.ContainsGenericParameters)
                {
                    continue;
                }
                foreach (var f in t.GetFields(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
                {
                    if (f.FieldType == typeof(FaultSite))
                    {
                        _ = f.GetValue(null);
                    }
                }
            }
        }
        return Registered();
    }

    /// <summary>
    /// <c>should_failslab()</c> / <c>should_fail_alloc_page()</c>: asks the injector of the task that is current on
    /// this thread (its <c>fail_nth</c>), else the one activated on the thread (none: never fails). The hot path is
    /// two thread-static reads.
    /// </summary>
    public bool ShouldFail() => FaultInject.Current is { } inj && inj.ShouldFail(this);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>
/// A fault injector (<c>lib/fault-inject.c</c>). Like the kernel's <c>fail-nth</c>, which lives in the task
/// (<c>current-&gt;fail_nth</c>), an injector set as a process's <see cref="Sim.Core.Kernel.Process.Faults"/> is
/// consulted by that task's system calls, on whichever host thread they run (the syscall entry makes it current on
/// the thread); one <see cref="Activate">activated</see> on a thread is consulted by whatever else runs there
/// (kernel calls made without a task, tasks without their own): every allocation site asks <see cref="ShouldFail"/>. Armed with
/// <see cref="FailNth"/> the n-th site reached fails (once); armed with <see cref="FailSite"/> the given named
/// site fails (its first <c>times</c> calls, or always with -1). Unarmed it only counts, so a run tells which
/// sites it reached and in what order.
/// </summary>
[Kernel("should_fail_ex", "lib/fault-inject.c")]
public sealed class FaultInject
{
    // The injector activated on this host thread (Activate), and the one of the task current on it (the
    // per-CPU `current`'s fail_nth, set by the syscall entry): per thread, so machines on other threads never see it.
    [ThreadStatic]
    private static FaultInject? t_current;

    [ThreadStatic]
    private static FaultInject? t_task;

    private readonly List<FaultSite> _trail = [];
    private readonly HashSet<FaultSite> _reached = [];
    private int _failNth;
    private FaultSite? _namedSite;
    private int _namedTimes;

    /// <summary>The injector the sites on this thread ask: the current task's, else the thread's, or null.</summary>
    public static FaultInject? Current => t_task ?? t_current;

    /// <summary>Calls that asked since the last <see cref="Reset"/>.</summary>
    public int Calls { get; private set; }

    /// <summary>Whether the trail of reached sites is recorded (off for long stress runs).</summary>
    public bool RecordTrail { get; set; } = true;

    /// <summary>Sites asked, in call order (while <see cref="RecordTrail"/>).</summary>
    public IReadOnlyList<FaultSite> Trail => _trail;

    /// <summary>Distinct sites reached since the last <see cref="Reset"/>.</summary>
    public IReadOnlyCollection<FaultSite> Reached => _reached;

    /// <summary>Failures injected since the last <see cref="Reset"/>, in order (site and call number).</summary>
    public List<(FaultSite Site, int Call)> Injected { get; } = [];

    /// <summary>Whether to keep the call stack of each injected failure (<c>fail_dump</c>'s dump_stack).</summary>
    public bool CaptureStacks { get; set; }

    /// <summary>The call stacks of the injected failures (while <see cref="CaptureStacks"/>).</summary>
    public List<string> InjectedStacks { get; } = [];

    /// <summary>Whether a failure is still pending.</summary>
    public bool Armed => _failNth > 0 || _namedSite is not null;

    /// <summary>Makes this injector the one the sites on this thread ask, until the returned scope ends.</summary>
    public Scope Activate()
    {
        var previous = t_current;
        t_current = this;
        return new Scope(previous);
    }

    /// <summary><c>echo N &gt; /proc/self/task/T/fail-nth</c>: the <paramref name="n"/>-th site asked from now fails (1-based; 0 disarms).</summary>
    [Kernel("proc_fail_nth_write", "fs/proc/base.c")]
    public void FailNth(int n) => _failNth = Math.Max(0, n);

    /// <summary>Fails the site named <paramref name="name"/> on its next <paramref name="times"/> calls (-1: every call).</summary>
    public void FailSite(string name, int times = 1)
    {
        var site = Find(name);
        if (site is null)
        {
            // Sites register as their declaring types initialise: read every loaded model assembly's sites.
            var models = new List<Assembly>();
            foreach (var asm in AppDomain.CurrentDomain.GetAssemblies())
            {
                if (asm.GetName().Name?.StartsWith("Sim.", StringComparison.Ordinal) == true)
                {
                    models.Add(asm);
                }
            }
            FaultSite.Discover([.. models]);
            site = Find(name);
        }
        _namedSite = site ?? throw new ArgumentException($"no fault site named '{name}'", nameof(name));
        _namedTimes = times;
    }

    private static FaultSite? Find(string name)
    {
        foreach (var s in FaultSite.Registered())
        {
            if (s.Name == name)
            {
                return s;
            }
        }
        return null;
    }

    /// <summary>Disarms without forgetting what was reached.</summary>
    public void Disarm()
    {
        _failNth = 0;
        _namedSite = null;
        _namedTimes = 0;
    }

    /// <summary>Disarms and forgets the calls, the trail and the injected failures.</summary>
    public void Reset()
    {
        Disarm();
        Calls = 0;
        _trail.Clear();
        _reached.Clear();
        Injected.Clear();
        InjectedStacks.Clear();
    }

    /// <summary><c>should_fail_ex(attr, size, flags)</c> for <paramref name="site"/>.</summary>
    public bool ShouldFail(FaultSite site)
    {
        Calls++;
        if (RecordTrail)
        {
            _trail.Add(site);
            _reached.Add(site);
        }
        if (_failNth > 0)
        {
            if (--_failNth == 0)
            {
                Fail(site);
                return true;
            }
            return false;
        }
        if (_namedSite == site && _namedTimes != 0)
        {
            if (_namedTimes > 0 && --_namedTimes == 0)
            {
                _namedSite = null;
            }
            Fail(site);
            return true;
        }
        return false;
    }

    // fail_dump: what failed, and where.
    private void Fail(FaultSite site)
    {
        Injected.Add((site, Calls));
        if (CaptureStacks)
        {
            InjectedStacks.Add(Environment.StackTrace);
        }
    }

    /// <summary>Makes <paramref name="task"/> the current task's injector on this thread (a syscall's entry), until disposed.</summary>
    internal static TaskScope EnterTask(FaultInject? task)
    {
        var previous = t_task;
        t_task = task;
        return new TaskScope(previous);
    }

    /// <summary>Restores the previous task's injector when disposed.</summary>
    internal readonly struct TaskScope : IDisposable
    {
        private readonly FaultInject? _previous;

        internal TaskScope(FaultInject? previous) => _previous = previous;

        /// <summary>Leaves the task.</summary>
        public void Dispose() => t_task = _previous;
    }

    /// <summary>Restores the previously active injector when disposed.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly FaultInject? _previous;

        internal Scope(FaultInject? previous) => _previous = previous;

        /// <summary>Deactivates.</summary>
        public void Dispose() => t_current = _previous;
    }
}
