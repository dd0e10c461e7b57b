// The fuzz target of the trace and vector readers: any bytes must read cleanly or end as a TraceFormatException
// that names the file and the line.
using System.Text;
using System.Text.Json;
using Sim.Core.Replay;

namespace Sim.Reliability;

/// <summary>
/// Reads hostile input as a trace (or a vector file of either kind) the way the replay does: the header, every
/// event with its kernel-side events, and each event's common fields and numeric arguments and results through
/// the typed accessors the handlers use.
/// </summary>
public static class TraceFuzzTarget
{
    /// <summary>The name the input goes by in messages.</summary>
    public const string DisplayName = "fuzz-input";

    /// <summary>The file names tried: a trace, and the two vector kinds (their names decide the kind).</summary>
    public static readonly string[] FileNames = ["fuzz.jsonl", "sg_trim_fuzz.jsonl", "sg_pages_fuzz.jsonl"];

    /// <summary>Reads <paramref name="data"/> under each file name; throws what is not a clean format error.</summary>
    public static void Run(ReadOnlySpan<byte> data)
    {
        foreach (var name in FileNames)
        {
            var bad = Check(data, name);
            if (bad is not null)
            {
                throw new InvalidOperationException($"{name}: {bad.GetType().Name}: {bad.Message}", bad);
            }
        }
    }

    /// <summary>
    /// Null when <paramref name="data"/> read cleanly or failed with a <see cref="TraceFormatException"/> naming
    /// the file and a line; otherwise the exception that escaped (or one describing a nameless format error).
    /// </summary>
    public static Exception? Check(ReadOnlySpan<byte> data, string fileName)
    {
        string text = Encoding.UTF8.GetString(data);
        try
        {
            using var reader = new TraceReader(new StringReader(text), DisplayName, fileName);
            if (reader.Kind == DataFileKind.Trace)
            {
                _ = reader.Header.GetRawText();
            }
            foreach (var ev in reader.Events())
            {
                Touch(ev);
                foreach (var k in ev.KernelSide)
                {
                    Touch(k);
                }
            }
            return null;
        }
        catch (TraceFormatException e)
        {
            return e.File == DisplayName && e.Line >= 1
                ? null
                : new InvalidOperationException($"format error without file and line: file '{e.File}', line {e.Line}: {e.Message}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return e;
        }
    }

    private static void Touch(TraceEvent ev)
    {
        _ = ev.ToString();
        _ = ev.During;
        _ = ev.Fd;
        _ = ev.Request;
        _ = ev.Ret;
        TouchNumbers(ev, ev.Args, arg: true);
        TouchNumbers(ev, ev.Result, arg: false);
    }

    // The handlers read numbers through ArgU64/ArgI64/ResultU64/ResultI64: a wrong type or range must be a format error.
    private static void TouchNumbers(TraceEvent ev, JsonElement obj, bool arg)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        foreach (var p in obj.EnumerateObject())
        {
            if (p.Value.ValueKind is JsonValueKind.Number or JsonValueKind.String)
            {
                try
                {
                    _ = arg ? ev.ArgU64(p.Name) : ev.ResultU64(p.Name);
                }
                catch (TraceFormatException e) when (e.File == DisplayName && e.Line >= 1)
                {
                }
                try
                {
                    _ = arg ? ev.ArgI64(p.Name) : ev.ResultI64(p.Name);
                }
                catch (TraceFormatException e) when (e.File == DisplayName && e.Line >= 1)
                {
                }
            }
        }
    }
}
