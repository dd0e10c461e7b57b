// Models WARN_ON / WARN_ON_ONCE (include/asm-generic/bug.h): misuse is recorded, never thrown.
namespace Sim.Core.Debug;

/// <summary>One recorded WARN: what fired and where in the model.</summary>
public sealed record WarnRecord(string Condition, string Function);

/// <summary>
/// The machine's WARN log. <c>WARN_ON(cond)</c> becomes <c>warn.On(cond, ...)</c>: it records the warning and
/// returns the condition so the caller returns the kernel's errno. Tests assert the count.
/// </summary>
[Kernel("WARN_ON", "include/asm-generic/bug.h")]
public sealed class Warnings
{
    private readonly List<WarnRecord> _records = [];

    /// <summary>Every WARN fired so far, in order.</summary>
    public IReadOnlyList<WarnRecord> Records => _records;

    /// <summary>How many WARNs fired.</summary>
    public int Count => _records.Count;

    /// <summary><c>WARN_ON(condition)</c>: records when true, returns the condition.</summary>
    public bool On(bool condition, string what, [System.Runtime.CompilerServices.CallerMemberName] string function = "")
    {
        if (condition)
        {
            _records.Add(new WarnRecord(what, function));
        }
        return condition;
    }
}

/// <summary>Thrown for <c>BUG_ON</c>: a broken invariant inside the simulator itself, never for guest input.</summary>
public sealed class KernelBugException : Exception
{
    /// <summary>Creates the exception.</summary>
    public KernelBugException(string message) : base(message) { }

    /// <summary>Creates the exception.</summary>
    public KernelBugException() { }

    /// <summary>Creates the exception.</summary>
    public KernelBugException(string message, Exception inner) : base(message, inner) { }

    /// <summary><c>BUG_ON(condition)</c>.</summary>
    public static void On(bool condition, string what)
    {
        if (condition)
        {
            throw new KernelBugException("BUG: " + what);
        }
    }
}
