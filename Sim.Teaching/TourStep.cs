using Sim.Core.Debug;

namespace Sim.Teaching;

/// <summary>One fact a step shows: a name and its value as text (addresses in hex, sizes with their hex).</summary>
public sealed record Fact(string Name, string Value);

/// <summary>
/// One step of the tour (or one picture of <c>show</c>): its title, the kernel functions it went through (C names;
/// <see cref="KernelXref"/> finds the C# member that models each), the facts and notes it shows, the kernel trace
/// records the models emitted meanwhile, an error (negative errno) when the step failed, and its figures.
/// </summary>
public sealed class TourStep(int number, string title)
{
    /// <summary>1-based step number (0 for a <c>show</c> page).</summary>
    public int Number { get; } = number;

    /// <summary>The title.</summary>
    public string Title { get; } = title;

    /// <summary>The kernel functions the step went through, in call order.</summary>
    public List<string> Functions { get; } = [];

    /// <summary>The facts, in display order.</summary>
    public List<Fact> Facts { get; } = [];

    /// <summary>Explanations, in display order.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>Tracepoint/kprobe records the models emitted during the step.</summary>
    public List<KernelTraceRecord> Trace { get; } = [];

    /// <summary>The figures.</summary>
    public List<Figure> Figures { get; } = [];

    /// <summary>The negative errno the step ended with (null = succeeded).</summary>
    public long? Error { get; set; }

    /// <summary>Why the step could not run (an earlier step failed or the machine lacks what it needs); null when it ran.</summary>
    public string? NotRun { get; set; }

    /// <summary>What failed, when <see cref="Error"/> is set.</summary>
    public string? ErrorWhere { get; set; }

    /// <summary>Adds a fact.</summary>
    public TourStep Add(string name, string value)
    {
        Facts.Add(new Fact(name, value));
        return this;
    }

    /// <summary>Adds the functions.</summary>
    public TourStep Via(params string[] functions)
    {
        Functions.AddRange(functions);
        return this;
    }

    /// <summary>Adds a note.</summary>
    public TourStep Note(string text)
    {
        Notes.Add(text);
        return this;
    }

    /// <summary>Marks the step failed at <paramref name="where"/> with <paramref name="err"/>.</summary>
    public TourStep Fail(string where, long err)
    {
        Error = err;
        ErrorWhere = where;
        return this;
    }
}
