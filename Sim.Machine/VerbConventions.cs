using System.Globalization;
using System.Text.Json;

namespace Sim.Machine;

/// <summary>
/// The conventions every <c>dmabufsim</c> verb shares (issue 20), in one place so a new verb adopts them by calling
/// these: the exit statuses, the error prefix <c>dmabufsim VERB: ...</c>, the last <c>--json</c> object
/// <c>{"passed":N,"failed":M,"skipped":K,...}</c>, the check of an output file name, and whether a writer is a
/// terminal (progress, colour and the terminal's width only there).
/// </summary>
public static class VerbConventions
{
    /// <summary>Exit status: everything passed.</summary>
    public const int Ok = 0;

    /// <summary>Exit status: the verb ran and something failed (a difference, a violation, a failing step).</summary>
    public const int Failed = 1;

    /// <summary>Exit status: unusable input (a usage error, an out-of-range number, an unreadable file, nothing to do).</summary>
    public const int Usage = 2;

    /// <summary>Exit status: interrupted (Ctrl-C, SIGINT: 128 + 2), after the partial summary.</summary>
    public const int Interrupted = 130;

    /// <summary>The error prefix: <c>dmabufsim VERB: </c> (or <c>dmabufsim: </c> outside any verb).</summary>
    public static string Prefix(string? verb) => string.IsNullOrEmpty(verb) ? "dmabufsim: " : $"dmabufsim {verb}: ";

    /// <summary>Writes <c>dmabufsim VERB: message</c> on <paramref name="stderr"/> and returns <see cref="Usage"/>.</summary>
    public static int UsageError(TextWriter stderr, string verb, string message)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        stderr.WriteLine(Prefix(verb) + message);
        return Usage;
    }

    /// <summary>
    /// The last line of <c>--json</c> (JSON Lines): <c>{"passed":N,"failed":M,"skipped":K,"type":"summary",...}</c>,
    /// the plain closing line's figures first, then the verb's own fields (<paramref name="extra"/>).
    /// </summary>
    public static string JsonSummary(long passed, long failed, long skipped, Action<Utf8JsonWriter>? extra = null)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("passed", passed);
            w.WriteNumber("failed", failed);
            w.WriteNumber("skipped", skipped);
            w.WriteString("type", "summary");
            extra?.Invoke(w);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>The plain closing line of a verb that counts results: <c>N passed, M failed, K skipped</c>.</summary>
    public static string ClosingLine(long passed, long failed, long skipped) =>
        string.Create(CultureInfo.InvariantCulture, $"{passed} passed, {failed} failed, {skipped} skipped");

    /// <summary>
    /// Why <paramref name="path"/> cannot be written as an output file (<c>--html</c>, <c>--timeline</c>, <c>-o</c>),
    /// or null when it can be tried: an empty name, an existing folder, a missing parent folder.
    /// </summary>
    public static string? OutputFileProblem(string option, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (string.IsNullOrWhiteSpace(path))
        {
            return $"{option}: expected a file name, got an empty one";
        }
        if (Directory.Exists(path))
        {
            return $"{option} {path}: is a folder; give a file name, e.g. {Path.Combine(path, "page.html")}";
        }
        string? parent = Path.GetDirectoryName(Path.GetFullPath(path));
        if (parent is not null && !Directory.Exists(parent))
        {
            return $"{option} {path}: the folder {parent} does not exist";
        }
        return null;
    }

    /// <summary>True when <paramref name="writer"/> is the process's standard output and that is a terminal.</summary>
    public static bool IsTerminal(TextWriter writer) => ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>True when standard error is a terminal (where progress is drawn).</summary>
    public static bool ErrorIsTerminal => !Console.IsErrorRedirected;
}
