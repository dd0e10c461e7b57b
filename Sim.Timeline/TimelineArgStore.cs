// The arguments of a timeline's slices and instants, kept as they will be written: each set one UTF-8 JSON object,
// all of them end to end in one growing buffer. Recording writes them once (no per-argument strings); the Trace
// Event Format writer copies the bytes as they are; the page and the summary decode them when they ask.
using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sim.Timeline;

/// <summary>Where one slice's or instant's arguments are in a <see cref="TimelineArgStore"/>.</summary>
public readonly record struct TimelineArgRange(int Start, int Length)
{
    /// <summary>No arguments.</summary>
    public bool IsEmpty => Length == 0;
}

/// <summary>
/// Argument sets stored as UTF-8 JSON objects in one buffer, written by <see cref="TimelineArgWriter"/>s; several
/// may be open at once (a call's arguments grow while a wait
/// slice inside it is written), each over its own reusable scratch buffer.
/// </summary>
public sealed class TimelineArgStore
{
    internal static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };
    private byte[] _buf = new byte[16 * 1024];
    private int _len;

    /// <summary>Bytes stored.</summary>
    public int Length => _len;

    /// <summary>The stored object of <paramref name="range"/> (<c>{...}</c>).</summary>
    public ReadOnlySpan<byte> Get(TimelineArgRange range) => _buf.AsSpan(range.Start, range.Length);

    /// <summary>Copies a finished object in.</summary>
    public TimelineArgRange Append(ReadOnlySpan<byte> obj)
    {
        if (_len + obj.Length > _buf.Length)
        {
            Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + obj.Length));
        }
        obj.CopyTo(_buf.AsSpan(_len));
        var r = new TimelineArgRange(_len, obj.Length);
        _len += obj.Length;
        return r;
    }

    /// <summary>Decodes <paramref name="range"/> into (key, printed value, quoted) triples.</summary>
    public List<TimelineArg> Decode(TimelineArgRange range)
    {
        var list = new List<TimelineArg>();
        if (range.IsEmpty)
        {
            return list;
        }
        var r = new Utf8JsonReader(Get(range));
        r.Read(); // {
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            string key = r.GetString()!;
            r.Read();
            if (r.TokenType == JsonTokenType.String)
            {
                list.Add(new TimelineArg(key, r.GetString()!, true));
            }
            else
            {
                list.Add(new TimelineArg(key, Encoding.UTF8.GetString(r.ValueSpan), false));
            }
        }
        return list;
    }
}

/// <summary>A reusable writer of one argument set (a JSON object) for a <see cref="TimelineArgStore"/>.</summary>
public sealed class TimelineArgWriter
{
    private readonly ArrayBufferWriter<byte> _scratch = new(1024);
    private int _count;

    /// <summary>The JSON writer, inside the object: write properties with it.</summary>
    public Utf8JsonWriter Json { get; }

    /// <summary>A writer (reused for every set).</summary>
    public TimelineArgWriter() => Json = new Utf8JsonWriter(_scratch, TimelineArgStore.WriterOptions);

    /// <summary>Properties written since <see cref="Begin"/> (counted by the helpers below).</summary>
    public int Count => _count;

    /// <summary>Starts a new set.</summary>
    public TimelineArgWriter Begin()
    {
        _scratch.ResetWrittenCount();
        Json.Reset(_scratch);
        Json.WriteStartObject();
        _count = 0;
        return this;
    }

    /// <summary>Counts a property written straight through <see cref="Json"/>.</summary>
    public void Counted() => _count++;

    /// <summary>A string argument.</summary>
    public void String(ReadOnlySpan<byte> key, string value)
    {
        Json.WriteString(key, value);
        _count++;
    }

    /// <summary>A string argument.</summary>
    public void String(string key, string value)
    {
        Json.WriteString(key, value);
        _count++;
    }

    /// <summary>A number argument.</summary>
    public void Number(ReadOnlySpan<byte> key, long value)
    {
        Json.WriteNumber(key, value);
        _count++;
    }

    /// <summary>A number argument.</summary>
    public void Number(ReadOnlySpan<byte> key, ulong value)
    {
        Json.WriteNumber(key, value);
        _count++;
    }

    /// <summary>A boolean argument.</summary>
    public void Bool(ReadOnlySpan<byte> key, bool value)
    {
        Json.WriteBoolean(key, value);
        _count++;
    }

    /// <summary>An argument whose printed value is JSON already (a number, <c>true</c>).</summary>
    public void Raw(string key, string json)
    {
        Json.WritePropertyName(key);
        Json.WriteRawValue(json, skipInputValidation: true);
        _count++;
    }

    /// <summary>Ends the set and stores it (nothing stored, an empty range, when it has no property).</summary>
    public TimelineArgRange Commit(TimelineArgStore store)
    {
        Json.WriteEndObject();
        Json.Flush();
        return _count == 0 ? default : store.Append(_scratch.WrittenSpan);
    }
}
