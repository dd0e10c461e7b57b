// The page's output: UTF-8 bytes into one pooled buffer, flushed to the stream every 32 KiB. Numbers are formatted
// straight into the buffer and text is HTML-escaped as it is copied, so writing a slice makes no string.
using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sim.Timeline;

/// <summary>Writes HTML as UTF-8 to a stream without building strings.</summary>
public sealed class HtmlUtf8Writer : IDisposable
{
    private const int FlushAt = 32 * 1024;
    private readonly Stream _out;
    private byte[] _buf = ArrayPool<byte>.Shared.Rent(FlushAt + 4096);
    private int _len;

    /// <summary>A writer onto <paramref name="output"/>; dispose it to flush.</summary>
    public HtmlUtf8Writer(Stream output) => _out = output;

    /// <summary>Room for <paramref name="n"/> more bytes.</summary>
    private Span<byte> Room(int n)
    {
        if (_len + n > _buf.Length)
        {
            Flush();
            if (n > _buf.Length)
            {
                ArrayPool<byte>.Shared.Return(_buf);
                _buf = ArrayPool<byte>.Shared.Rent(n);
            }
        }
        return _buf.AsSpan(_len);
    }

    private void Advance(int n)
    {
        _len += n;
        if (_len >= FlushAt)
        {
            Flush();
        }
    }

    /// <summary>Bytes as they are (markup literals).</summary>
    public HtmlUtf8Writer Raw(ReadOnlySpan<byte> utf8)
    {
        utf8.CopyTo(Room(utf8.Length));
        Advance(utf8.Length);
        return this;
    }

    /// <summary>A string as it is (markup built elsewhere: the page's style sheet and script).</summary>
    public HtmlUtf8Writer Raw(string s)
    {
        int n = Encoding.UTF8.GetMaxByteCount(s.Length);
        Advance(Encoding.UTF8.GetBytes(s, Room(n)));
        return this;
    }

    /// <summary>A coordinate or size as the page prints them (<c>0.#</c>, invariant).</summary>
    public HtmlUtf8Writer Num(double v)
    {
        if (!v.TryFormat(Room(32), out int n, "0.#", CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException("a number longer than 32 bytes");
        }
        Advance(n);
        return this;
    }

    /// <summary>An integer.</summary>
    public HtmlUtf8Writer Int(long v)
    {
        v.TryFormat(Room(24), out int n, default, CultureInfo.InvariantCulture);
        Advance(n);
        return this;
    }

    /// <summary>
    /// Text, escaped the way <see cref="System.Net.WebUtility.HtmlEncode(string)"/> escapes it (<c>&lt; &gt; &amp;
    /// &quot; &#39;</c>, Latin-1 from U+00A0 and characters outside the BMP as numeric references, a lone
    /// surrogate as U+FFFD), so the page reads
    /// the same as when it was built from encoded strings.
    /// </summary>
    public HtmlUtf8Writer Text(ReadOnlySpan<char> s)
    {
        int start = 0;
        for (int k = 0; k < s.Length; k++)
        {
            char c = s[k];
            if (c is '<' or '>' or '&' or '"' or '\'' || (c >= 160 && c < 256) || char.IsSurrogate(c))
            {
                Chars(s[start..k]);
                if (char.IsHighSurrogate(c) && k + 1 < s.Length && char.IsLowSurrogate(s[k + 1]))
                {
                    Raw("&#"u8).Int(char.ConvertToUtf32(c, s[k + 1])).Raw(";"u8);
                    k++;
                }
                else
                {
                    Raw(c switch
                    {
                        '<' => "&lt;"u8,
                        '>' => "&gt;"u8,
                        '&' => "&amp;"u8,
                        '"' => "&quot;"u8,
                        '\'' => "&#39;"u8,
                        _ => [],
                    });
                    if (char.IsSurrogate(c))
                    {
                        // A lone surrogate becomes U+FFFD, written as the character (HtmlEncode does the same).
                        Raw("\uFFFD"u8);
                    }
                    else if (c >= 160)
                    {
                        // Latin-1 as a numeric reference.
                        Raw("&#"u8).Int(c).Raw(";"u8);
                    }
                }
                start = k + 1;
            }
        }
        Chars(s[start..]);
        return this;
    }

    /// <summary>Text given as UTF-8 (an argument's stored bytes), escaped as <see cref="Text(ReadOnlySpan{char})"/>.</summary>
    public HtmlUtf8Writer Text(ReadOnlySpan<byte> utf8)
    {
        foreach (byte b in utf8)
        {
            if (b >= 0x80 || b is (byte)'<' or (byte)'>' or (byte)'&' or (byte)'"' or (byte)'\'')
            {
                // Rare (a name with non-ASCII or markup characters): decode and escape by character.
                Span<char> chars = utf8.Length <= 512 ? stackalloc char[utf8.Length] : new char[utf8.Length];
                int n = Encoding.UTF8.GetChars(utf8, chars);
                return Text(chars[..n]);
            }
        }
        return Raw(utf8);
    }

    /// <summary>A duration as <see cref="TimelineSummary.Duration(long)"/> prints it, escaped.</summary>
    public HtmlUtf8Writer Duration(long ns)
    {
        Span<char> tmp = stackalloc char[40];
        return Text(TimelineSummary.Duration(ns, tmp));
    }

    /// <summary>
    /// A stored argument's value as the page prints it: a string unescaped from JSON, anything else (a number,
    /// <c>true</c>) as written; then HTML-escaped.
    /// </summary>
    public HtmlUtf8Writer JsonValue(ref Utf8JsonReader r)
    {
        if (r.TokenType == JsonTokenType.String && r.ValueIsEscaped)
        {
            int max = r.HasValueSequence ? checked((int)r.ValueSequence.Length) : r.ValueSpan.Length;
            Span<byte> tmp = max <= 512 ? stackalloc byte[max] : new byte[max];
            int n = r.CopyString(tmp);
            return Text((ReadOnlySpan<byte>)tmp[..n]);
        }
        return Text(r.ValueSpan);
    }

    private void Chars(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty)
        {
            return;
        }
        Advance(Encoding.UTF8.GetBytes(s, Room(Encoding.UTF8.GetMaxByteCount(s.Length))));
    }

    /// <summary>Writes what is buffered.</summary>
    public void Flush()
    {
        if (_len > 0)
        {
            _out.Write(_buf, 0, _len);
            _len = 0;
        }
    }

    /// <summary>Flushes and returns the buffer to the pool.</summary>
    public void Dispose()
    {
        Flush();
        ArrayPool<byte>.Shared.Return(_buf);
        _buf = [];
    }
}
