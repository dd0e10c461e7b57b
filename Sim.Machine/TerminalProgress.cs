using System.Diagnostics;
using System.Globalization;

namespace Sim.Machine;

/// <summary>
/// Progress of long work (<c>sweep</c>, long <c>stress</c> runs) as one line on standard error, redrawn at most five
/// times a second, and only when standard error is a terminal: nothing reaches a pipe, a file or a test. Disposing
/// clears the line.
/// </summary>
public sealed class TerminalProgress : IDisposable
{
    private readonly string _what;
    private readonly TextWriter? _err;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _last;
    private int _width;

    /// <summary>Progress of <paramref name="what"/> (e.g. <c>"stress"</c>); <paramref name="enabled"/> false draws nothing.</summary>
    public TerminalProgress(string what, bool enabled = true)
    {
        _what = what;
        _err = enabled && VerbConventions.ErrorIsTerminal && !Console.IsOutputRedirected ? Console.Error : null;
    }

    /// <summary>True when the line is drawn.</summary>
    public bool Drawn => _err is not null;

    /// <summary>Reports <paramref name="done"/> of <paramref name="total"/> <paramref name="unit"/>.</summary>
    public void Report(long done, long total, string unit)
    {
        if (_err is null || (_last is { } last && (_clock.Elapsed - last).TotalMilliseconds < 200))
        {
            return;
        }
        _last = _clock.Elapsed;
        double pct = total > 0 ? 100.0 * done / total : 0;
        string line = string.Create(CultureInfo.InvariantCulture, $"{_what}: {done} of {total} {unit} ({pct:F0}%), {_clock.Elapsed.TotalSeconds:F0} s; Ctrl-C stops with a partial summary");
        _width = Math.Max(_width, line.Length);
        _err.Write("\r" + line.PadRight(_width));
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_err is not null && _width > 0)
        {
            _err.Write("\r" + new string(' ', _width) + "\r");
        }
    }
}
