namespace Sim.Core.Replay;

/// <summary>A malformed trace or vector file: names the file, the line (1-based) and, when known, the field.</summary>
public sealed class TraceFormatException : Exception
{
    /// <summary>Creates the error for <paramref name="file"/>:<paramref name="line"/>.</summary>
    public TraceFormatException(string file, long line, string message, string? field = null)
        : base($"{file}:{line}: {(field is null ? "" : "field '" + field + "': ")}{message}")
    {
        File = file;
        Line = line;
        Field = field;
    }

    /// <summary>Creates the error.</summary>
    public TraceFormatException() : this("?", 0, "malformed file") { }

    /// <summary>Creates the error.</summary>
    public TraceFormatException(string message) : this("?", 0, message) { }

    /// <summary>Creates the error.</summary>
    public TraceFormatException(string message, Exception inner) : base(message, inner)
    {
        File = "?";
    }

    /// <summary>The file.</summary>
    public string File { get; } = "?";

    /// <summary>The 1-based line.</summary>
    public long Line { get; }

    /// <summary>The field, when the problem is one field.</summary>
    public string? Field { get; }
}
