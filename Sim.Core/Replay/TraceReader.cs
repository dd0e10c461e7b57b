// Streaming readers for the project's data: dmabuf-trace files (header line + one event per line) and the
// vector files (no header, one case per line). See data/traces/README.md and data/vectors/README.md.
using System.Buffers;
using System.Text.Json;

namespace Sim.Core.Replay;

/// <summary>What kind of file a reader found.</summary>
public enum DataFileKind
{
    /// <summary>A <c>dmabuf-trace</c> file (version 1, one process, or version 2, several).</summary>
    Trace,
    /// <summary>An <c>sg_trim*</c> vector file.</summary>
    SgTrimVectors,
    /// <summary>An <c>sg_pages</c> vector file.</summary>
    SgPagesVectors,
}

/// <summary>
/// Reads one trace or vector file line by line. Construction reads and checks the header (traces) or the
/// first line's kind (vectors); <see cref="Events"/> streams the rest, attaching kernel-side events
/// (<c>args.during</c>) to the user event they happened in. Every problem is a
/// <see cref="TraceFormatException"/> naming file and line: bad JSON, a missing field, <c>i</c> out of
/// sequence, an unknown format or version.
/// </summary>
public sealed class TraceReader : IDisposable
{
    /// <summary>The only trace format.</summary>
    public const string Format = "dmabuf-trace";

    /// <summary>The newest version: 2 (every event carries <c>pid</c> and <c>tid</c>; fork, execve, exit and fd passing are events).</summary>
    public const int LatestVersion = 2;

    private static readonly JsonDocumentOptions s_jsonOptions = new() { MaxDepth = 64 };
    private static readonly string[] s_ids = ["pid", "tid"];

    private readonly Utf8LineReader _reader;
    private readonly List<(JsonDocument Doc, byte[] Buffer)> _owned = [];
    private long _lineNo;
    private byte[]? _pendingFirstVectorLine;

    /// <summary>Opens <paramref name="path"/> (display name <paramref name="displayName"/>).</summary>
    public TraceReader(string path, string? displayName = null)
        : this(new Utf8LineReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan)),
            displayName ?? path, Path.GetFileName(path))
    {
    }

    /// <summary>Reads from <paramref name="reader"/>; <paramref name="fileName"/> decides vector kinds by prefix.</summary>
    public TraceReader(TextReader reader, string displayName, string fileName)
        : this(new Utf8LineReader(reader), displayName, fileName)
    {
    }

    private TraceReader(Utf8LineReader reader, string displayName, string fileName)
    {
        _reader = reader;
        DisplayName = displayName;
        var first = NextLine();
        if (first is not { } firstLine)
        {
            throw new TraceFormatException(DisplayName, 1, "empty file: expected a dmabuf-trace header or a vector line");
        }
        JsonElement root = ParseLine(firstLine.Span, _lineNo);
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new TraceFormatException(DisplayName, _lineNo, "expected a JSON object");
        }
        if (root.TryGetProperty("format", out var fmt))
        {
            if (fmt.ValueKind != JsonValueKind.String || fmt.GetString() != Format)
            {
                throw new TraceFormatException(DisplayName, _lineNo, $"unknown format {fmt.GetRawText()} (expected \"{Format}\")", "format");
            }
            if (!root.TryGetProperty("version", out var ver))
            {
                throw new TraceFormatException(DisplayName, _lineNo, "missing", "version");
            }
            if (!TraceNumber.TryGetU64(ver, out ulong v) || v is not (1 or 2))
            {
                throw new TraceFormatException(DisplayName, _lineNo, $"unsupported version {ver.GetRawText()} (expected 1 or 2)", "version");
            }
            Version = (int)v;
            Kind = DataFileKind.Trace;
            Header = root.Clone();
            return;
        }
        Kind = fileName.StartsWith("sg_trim", StringComparison.Ordinal) ? DataFileKind.SgTrimVectors
            : fileName.StartsWith("sg_pages", StringComparison.Ordinal) ? DataFileKind.SgPagesVectors
            : root.TryGetProperty("sg", out _) ? DataFileKind.SgTrimVectors
            : root.TryGetProperty("pfns", out _) ? DataFileKind.SgPagesVectors
            : throw new TraceFormatException(DisplayName, _lineNo, "no dmabuf-trace header and not a vector line (no \"sg\" or \"pfns\")", "format");
        Header = default;
        _pendingFirstVectorLine = firstLine.ToArray();
        _lineNo = 0;
    }

    /// <summary>The name used in messages.</summary>
    public string DisplayName { get; }

    /// <summary>Trace or vector file.</summary>
    public DataFileKind Kind { get; }

    /// <summary>The trace format version (1 or 2); 0 for vector files.</summary>
    public int Version { get; }

    /// <summary>The header object (traces); undefined for vector files.</summary>
    public JsonElement Header { get; }

    /// <summary>The op name of every case of a vector file.</summary>
    public string VectorOp => Kind == DataFileKind.SgPagesVectors ? "sg_pages" : "sg_trim";

    /// <summary>
    /// Streams the events. For traces: <c>i</c> must count from 0 without gaps (kernel-side events included);
    /// an event whose <c>args.during</c> names the current user event is attached to it instead of being
    /// yielded. Each yielded event's JSON stays valid until the next one is requested.
    /// </summary>
    public IEnumerable<TraceEvent> Events()
    {
        return Kind == DataFileKind.Trace ? TraceEvents() : VectorEvents();
    }

    private IEnumerable<TraceEvent> VectorEvents()
    {
        long index = 0;
        while (true)
        {
            ReadOnlyMemory<byte>? line;
            if (_pendingFirstVectorLine is not null)
            {
                line = _pendingFirstVectorLine;
                _pendingFirstVectorLine = null;
                _lineNo = 1;
            }
            else
            {
                line = NextLine();
            }
            if (line is not { } bytes)
            {
                yield break;
            }
            if (bytes.Length == 0)
            {
                continue;
            }
            ReleaseOwned();
            var root = ParseLine(bytes.Span, _lineNo);
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TraceFormatException(DisplayName, _lineNo, "expected a JSON object");
            }
            if (!root.TryGetProperty("expect", out var expect) || expect.ValueKind != JsonValueKind.Object)
            {
                throw new TraceFormatException(DisplayName, _lineNo, "missing", "expect");
            }
            string key = Kind == DataFileKind.SgTrimVectors ? "sg" : "pfns";
            if (!root.TryGetProperty(key, out var arr) || arr.ValueKind != JsonValueKind.Array)
            {
                throw new TraceFormatException(DisplayName, _lineNo, "missing or not an array", key);
            }
            yield return new TraceEvent(DisplayName, _lineNo, index++, VectorOp, root, root, expect);
        }
    }

    private IEnumerable<TraceEvent> TraceEvents()
    {
        long expectedI = 0;
        TraceEvent? pending = null;
        while (true)
        {
            if (NextLine() is not { } line)
            {
                break;
            }
            if (line.Length == 0)
            {
                continue;
            }
            var root = ParseLine(line.Span, _lineNo);
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new TraceFormatException(DisplayName, _lineNo, "expected a JSON object");
            }
            if (!root.TryGetProperty("i", out var ie))
            {
                throw new TraceFormatException(DisplayName, _lineNo, "missing", "i");
            }
            if (!TraceNumber.TryGetI64(ie, out long i))
            {
                throw new TraceFormatException(DisplayName, _lineNo, $"not an integer: {ie.GetRawText()}", "i");
            }
            if (i != expectedI)
            {
                throw new TraceFormatException(DisplayName, _lineNo, $"i out of sequence: {i}, expected {expectedI}", "i");
            }
            expectedI++;
            if (!root.TryGetProperty("op", out var ope) || ope.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(ope.GetString()))
            {
                throw new TraceFormatException(DisplayName, _lineNo, "missing or not a string", "op");
            }
            if (root.TryGetProperty("args", out var a) && a.ValueKind != JsonValueKind.Object && a.ValueKind != JsonValueKind.Null)
            {
                throw new TraceFormatException(DisplayName, _lineNo, "not an object", "args");
            }
            if (root.TryGetProperty("result", out var r) && r.ValueKind != JsonValueKind.Object && r.ValueKind != JsonValueKind.Null)
            {
                throw new TraceFormatException(DisplayName, _lineNo, "not an object", "result");
            }
            if (Version >= 2)
            {
                // Version 2: the process and thread of every event (positive integers).
                foreach (string id in s_ids)
                {
                    if (!root.TryGetProperty(id, out var ide))
                    {
                        throw new TraceFormatException(DisplayName, _lineNo, "missing (a version 2 event names its process and thread)", id);
                    }
                    if (!TraceNumber.TryGetI64(ide, out long idv) || idv <= 0 || idv > int.MaxValue)
                    {
                        throw new TraceFormatException(DisplayName, _lineNo, $"not a positive integer: {ide.GetRawText()}", id);
                    }
                }
            }
            var ev = new TraceEvent(DisplayName, _lineNo, i, ope.GetString()!, root);
            if (ev.During is long during)
            {
                if (pending is null || pending.I != during)
                {
                    throw new TraceFormatException(DisplayName, _lineNo,
                        $"kernel-side event during {during} does not follow that event", "args.during");
                }
                pending.KernelSide.Add(ev);
                continue;
            }
            if (pending is not null)
            {
                yield return pending;
                ReleaseOwnedExceptLast();
            }
            pending = ev;
        }
        if (pending is not null)
        {
            yield return pending;
        }
        ReleaseOwned();
    }

    // The next line's UTF-8 bytes (valid until the next call), or null at the end.
    private ReadOnlyMemory<byte>? NextLine()
    {
        var line = _reader.ReadLine();
        if (line is not null)
        {
            _lineNo++;
        }
        return line;
    }

    // Parses one line from a pooled copy that the document reads in place (no UTF-16 round trip); the copy goes
    // back to the pool when the document is released.
    private JsonElement ParseLine(ReadOnlySpan<byte> line, long lineNo)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(line.Length, 1));
        line.CopyTo(buffer);
        try
        {
            var doc = JsonDocument.Parse(buffer.AsMemory(0, line.Length), s_jsonOptions);
            _owned.Add((doc, buffer));
            return doc.RootElement;
        }
        catch (JsonException ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw new TraceFormatException(DisplayName, lineNo, BadLine(line, ex));
        }
    }

    // The project's words for a line that is not a JSON object: binary data, or where the JSON went wrong (without
    // System.Text.Json's "LineNumber: 0 | BytePositionInLine: N" tail, which counts lines from 0 and bytes, not columns).
    private static string BadLine(ReadOnlySpan<byte> line, JsonException ex)
    {
        foreach (byte b in line)
        {
            if (b == 0x7f || (b < 0x20 && b is not (byte)'\t' and not (byte)'\r'))
            {
                return "bad JSON: binary data where a JSON object was expected (a trace is JSON Lines: a header object, then one event object per line)";
            }
        }
        string reason = ex.Message.Split('\n')[0];
        int tail = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (tail >= 0)
        {
            reason = reason[..tail];
        }
        reason = reason.TrimEnd('.', ' ');
        string column = ex.BytePositionInLine is { } pos ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $" at column {pos + 1}") : "";
        return $"bad JSON{column}: expected one JSON object per line ({reason})";
    }

    private void ReleaseOwned()
    {
        foreach (var (doc, buffer) in _owned)
        {
            doc.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }
        _owned.Clear();
    }

    // Keeps the document of the newest (pending) event; the yielded one and its kernel-side events are done.
    private void ReleaseOwnedExceptLast()
    {
        if (_owned.Count <= 1)
        {
            return;
        }
        var last = _owned[^1];
        for (int k = 0; k < _owned.Count - 1; k++)
        {
            _owned[k].Doc.Dispose();
            ArrayPool<byte>.Shared.Return(_owned[k].Buffer);
        }
        _owned.Clear();
        _owned.Add(last);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        ReleaseOwned();
        _reader.Dispose();
    }
}
