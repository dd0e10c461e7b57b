// The exit-time leak and misuse check of `dmabufsim run --check` (valgrind's "definitely lost", seen from the
// kernel): objects whose last user reference went in do_exit's cleanup (exit_mmap, exit_files and the releases they
// cause) instead of in a call of the program, and misuse the models notice. No kernel counterpart; it rides on the
// kernel's own notions: PF_EXITING (the exiting task is `current` while do_exit cleans up) and, like kmemleak's
// allocation stack trace, the user call that created each object (task_pt_regs(current)->ip at that syscall: here
// the call site the syscall's driver gave the task, see Process.CallSite).
using Sim.Core.Kernel;

namespace Sim.Core.Debug;

/// <summary>The user call that created an object: the calling process's pid and its call site (0: unknown).</summary>
public readonly record struct CallOrigin(int Pid, long Site);

/// <summary>
/// An object whose last user reference went in the exit of process <paramref name="Pid"/>. <paramref name="Parent"/>
/// is the leak whose release dropped it (valgrind's "indirectly lost"), or null for a direct leak.
/// </summary>
public sealed record LeakRecord(int Pid, string Kind, string Description, CallOrigin Origin, LeakRecord? Parent);

/// <summary>A misuse the models noticed, in the call <paramref name="Origin"/> of process <paramref name="Pid"/>.</summary>
public sealed record MisuseRecord(int Pid, string What, string Function, CallOrigin Origin);

/// <summary>
/// The machine's leak and misuse log for <c>--check</c>. Off by default (nothing is stamped or recorded, so replay
/// and the benchmarks pay one branch); whoever drives the machine turns it on before the first process starts.
/// </summary>
public sealed class LeakCheck(CurrentTask? current = null)
{
    private readonly List<LeakRecord> _leaks = [];
    private readonly List<MisuseRecord> _misuses = [];
    private readonly Stack<LeakRecord> _releasing = new();

    /// <summary>True when objects are stamped with their creating call and exit releases are recorded.</summary>
    public bool Enabled { get; set; }

    /// <summary>Every leak recorded so far, in the order the exits released them.</summary>
    public IReadOnlyList<LeakRecord> Leaks => _leaks;

    /// <summary>Every misuse recorded so far, in order.</summary>
    public IReadOnlyList<MisuseRecord> Misuses => _misuses;

    /// <summary>The creating call to stamp on a new object: <c>current</c>'s pid and call site (default when off).</summary>
    public CallOrigin Origin()
    {
        if (!Enabled || current?.Process is not { } p)
        {
            return default;
        }
        return new CallOrigin(p.Pid, p.CallSite);
    }

    /// <summary>True when <c>current</c> is in <c>do_exit</c> (<c>current-&gt;flags &amp; PF_EXITING</c>).</summary>
    public bool Exiting => Enabled && current?.Process is { Exited: true };

    /// <summary>
    /// The last user reference of an object (<paramref name="kind"/>: "GEM object", "dma-buf", "mapping", ...)
    /// goes now: when <c>current</c> is exiting, a leak is recorded (indirect when another leak's release is in
    /// progress), and what is released until the returned scope ends counts as released by it.
    /// </summary>
    public Scope Lost(string kind, string description, CallOrigin origin)
    {
        if (!Exiting)
        {
            return default;
        }
        _releasing.TryPeek(out var parent);
        var r = new LeakRecord(current!.Process!.Pid, kind, description, origin, parent);
        _leaks.Add(r);
        _releasing.Push(r);
        return new Scope(this);
    }

    /// <summary>Records a misuse by <c>current</c>'s call (<paramref name="function"/>: the kernel function that noticed it).</summary>
    public void Misuse(string what, string function)
    {
        if (!Enabled)
        {
            return;
        }
        var o = Origin();
        _misuses.Add(new MisuseRecord(o.Pid, what, function, o));
    }

    /// <summary>The release of a recorded leak: ends with <see cref="Dispose"/>.</summary>
    public readonly struct Scope(LeakCheck? owner) : IDisposable
    {
        /// <summary>Ends the release.</summary>
        public void Dispose() => owner?._releasing.Pop();
    }
}
