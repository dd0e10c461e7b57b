// Line splitting for the trace and vector readers: UTF-8 bytes straight from the file, no UTF-16 strings.
using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Sim.Core.Replay;

/// <summary>
/// Reads lines as UTF-8 bytes from a stream (or, for callers that hold text, from a <see cref="TextReader"/>),
/// splitting exactly where <see cref="TextReader.ReadLine"/> does (<c>\n</c>, <c>\r\n</c>, a lone <c>\r</c>) and
/// skipping a leading UTF-8 byte-order mark. Bytes that are not valid UTF-8 are replaced by U+FFFD as a
/// <see cref="StreamReader"/> would, so a file reads the same through either path. A returned line is valid
/// until the next call.
/// </summary>
internal sealed class Utf8LineReader : IDisposable
{
    private readonly Stream? _stream;
    private readonly TextReader? _text;
    private byte[] _buf;
    private int _start;
    private int _end;
    private bool _eof;
    private bool _first = true;

    public Utf8LineReader(Stream stream)
    {
        _stream = stream;
        _buf = ArrayPool<byte>.Shared.Rent(1 << 16);
    }

    public Utf8LineReader(TextReader text)
    {
        _text = text;
        _buf = ArrayPool<byte>.Shared.Rent(1 << 12);
    }

    /// <summary>The next line without its terminator, or null at the end of input.</summary>
    public ReadOnlyMemory<byte>? ReadLine()
    {
        if (_text is not null)
        {
            string? s = _text.ReadLine();
            if (s is null)
            {
                return null;
            }
            int max = Encoding.UTF8.GetMaxByteCount(s.Length);
            if (_buf.Length < max)
            {
                ArrayPool<byte>.Shared.Return(_buf);
                _buf = ArrayPool<byte>.Shared.Rent(max);
            }
            return _buf.AsMemory(0, Encoding.UTF8.GetBytes(s, _buf));
        }
        int scanFrom = _start;
        while (true)
        {
            int k = _buf.AsSpan(scanFrom, _end - scanFrom).IndexOfAny((byte)'\n', (byte)'\r');
            if (k >= 0)
            {
                int at = scanFrom + k;
                if (_buf[at] == '\r' && at + 1 == _end && !_eof)
                {
                    // A '\r' at the end of the buffer: read on to see whether '\n' follows.
                    scanFrom = Fill(at);
                    continue;
                }
                int next = _buf[at] == '\r' && at + 1 < _end && _buf[at + 1] == '\n' ? at + 2 : at + 1;
                var line = Finish(_start, at);
                _start = next;
                return line;
            }
            if (_eof)
            {
                if (_start == _end)
                {
                    return null;
                }
                var last = Finish(_start, _end);
                _start = _end;
                return last;
            }
            scanFrom = Fill(_end);
        }
    }

    // Reads more bytes, keeping [_start, _end); returns where the scan resumes (scanFrom moved with the data).
    private int Fill(int scanFrom)
    {
        int keep = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buf, _start, _buf, 0, keep);
            scanFrom -= _start;
            _start = 0;
            _end = keep;
        }
        if (_end == _buf.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(_buf.Length * 2);
            Buffer.BlockCopy(_buf, 0, bigger, 0, _end);
            ArrayPool<byte>.Shared.Return(_buf);
            _buf = bigger;
        }
        int n = _stream!.Read(_buf, _end, _buf.Length - _end);
        if (n == 0)
        {
            _eof = true;
        }
        _end += n;
        if (_first && _end - _start >= 3)
        {
            _first = false;
            if (_buf[_start] == 0xEF && _buf[_start + 1] == 0xBB && _buf[_start + 2] == 0xBF)
            {
                _start += 3;
                scanFrom = Math.Max(scanFrom, _start);
            }
        }
        else if (_eof)
        {
            _first = false;
        }
        return scanFrom;
    }

    private ReadOnlyMemory<byte> Finish(int from, int to)
    {
        var line = _buf.AsMemory(from, to - from);
        if (Utf8.IsValid(line.Span))
        {
            return line;
        }
        // Not UTF-8: decode with replacement characters and encode again, as the text path would.
        return Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line.Span));
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _text?.Dispose();
        ArrayPool<byte>.Shared.Return(_buf);
        _buf = [];
    }
}
