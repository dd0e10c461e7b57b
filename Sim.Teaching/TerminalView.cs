using System.Globalization;
using System.Text;
using Sim.Core.Uapi;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sim.Teaching;

/// <summary>
/// Writes tour steps and <c>show</c> pages to a text stream: fitted to <see cref="Width"/> columns, with colour and
/// Unicode borders only when writing to a terminal, plain ASCII text otherwise (redirected output, tests).
/// </summary>
public sealed class TerminalView
{
    private readonly IAnsiConsole _console;
    private readonly bool _color;
    private readonly bool _fit;

    /// <summary>Creates a view on <paramref name="output"/>.</summary>
    /// <param name="output">Where to write.</param>
    /// <param name="terminal">True when <paramref name="output"/> is a terminal (colour, Unicode).</param>
    /// <param name="width">Columns to fit.</param>
    public TerminalView(TextWriter output, bool terminal, int width)
        : this(output, terminal, width, fit: true)
    {
    }

    // fit: cut long lines to the width (a terminal, or COLUMNS asked for it); otherwise lines keep their full text
    // and only the drawings (rules, strips) use the width.
    private TerminalView(TextWriter output, bool terminal, int width, bool fit)
    {
        ArgumentNullException.ThrowIfNull(output);
        _color = terminal;
        _fit = fit;
        Width = Math.Clamp(width, 40, 400);
        _console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            // Text for a pipe or a file carries no trailing blanks (Spectre pads grid cells to the column's width).
            Out = new AnsiConsoleOutput(terminal ? output : new TrimTrailingBlanksWriter(output)),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        _console.Profile.Width = fit ? Width : 4096;
        _console.Profile.Capabilities.Unicode = terminal;
        if (!terminal)
        {
            _console.Profile.Capabilities.Ansi = false;
            _console.Profile.Capabilities.ColorSystem = ColorSystem.NoColors;
        }
    }

    /// <summary>The width in columns.</summary>
    public int Width { get; }

    /// <summary>
    /// A view for a pipe or a file: plain text, no line cut to any width, no trailing blanks; drawings are
    /// <paramref name="drawingWidth"/> columns wide.
    /// </summary>
    public static TerminalView Plain(TextWriter output, int drawingWidth = 100) => new(output, terminal: false, drawingWidth, fit: false);

    /// <summary>
    /// The view for the process's own stdout: a terminal's width and colour; when redirected, plain text that is not
    /// cut (<see cref="Plain"/>), or fitted to <c>$COLUMNS</c> when that is set.
    /// </summary>
    public static TerminalView ForConsole()
    {
        bool tty = !Console.IsOutputRedirected;
        int width = 100;
        if (tty)
        {
            try
            {
                width = Console.WindowWidth > 0 ? Console.WindowWidth : 100;
            }
            catch (IOException)
            {
                width = 100;
            }
        }
        else if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), NumberStyles.None, CultureInfo.InvariantCulture, out int cols) && cols > 0)
        {
            width = cols;
        }
        else
        {
            return Plain(Console.Out);
        }
        return new TerminalView(Console.Out, tty, width);
    }

    private static string Esc(string s) => Markup.Escape(s);

    private string Style(string style, string text) => _color ? $"[{style}]{Esc(text)}[/]" : Esc(text);

    /// <summary>Writes a heading line.</summary>
    public void Heading(string text)
    {
        _console.WriteLine();
        if (!_fit)
        {
            _console.WriteLine($"-- {text} " + new string('-', Math.Max(2, Width - text.Length - 4)));
            return;
        }
        _console.Write(new Rule(Style("bold", text)) { Justification = Justify.Left, Border = _color ? BoxBorder.Square : BoxBorder.Ascii });
    }

    /// <summary>Writes a line of text.</summary>
    public void Line(string text) => _console.MarkupLine(Esc(text));

    /// <summary>Writes a step.</summary>
    public void Step(TourStep s)
    {
        ArgumentNullException.ThrowIfNull(s);
        Heading(s.Number > 0 ? $"Step {s.Number}: {s.Title}" : s.Title);
        if (s.Functions.Count > 0)
        {
            var parts = new List<string>();
            foreach (var f in s.Functions.Distinct())
            {
                parts.Add(KernelXref.IsModelled(f) ? Style("cyan", f) : Style("grey", f + "(?)"));
            }
            _console.Write(new Markup((_color ? "[grey]via[/] " : "via ") + string.Join(_color ? " [grey]>[/] " : " > ", parts) + "\n"));
        }
        if (s.Error is { } err)
        {
            _console.MarkupLine(Style("bold red", $"{s.ErrorWhere}: {ErrnoNames.Format(err)}"));
        }
        if (s.Facts.Count > 0)
        {
            var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
            foreach (var f in s.Facts)
            {
                grid.AddRow(new Markup(Style("grey", f.Name)), new Markup(Esc(f.Value)));
            }
            _console.Write(grid);
        }
        foreach (var n in s.Notes)
        {
            _console.Write(new Markup(Style("italic", n) + "\n"));
        }
        foreach (var fig in s.Figures)
        {
            Figure(fig);
        }
        if (s.Trace.Count > 0)
        {
            _console.MarkupLine(Style("grey", $"kernel trace ({s.Trace.Count} records):"));
            foreach (var r in s.Trace.Take(12))
            {
                _console.MarkupLine(Style("grey", "  " + Fit(r.ToString(), Width - 2)));
            }
            if (s.Trace.Count > 12)
            {
                _console.MarkupLine(Style("grey", $"  ... {s.Trace.Count - 12} more"));
            }
        }
    }

    private string Fit(string s, int w) => !_fit || s.Length <= w ? s : s[..Math.Max(0, w - 3)] + "...";

    /// <summary>Writes a figure as text.</summary>
    public void Figure(Figure f)
    {
        ArgumentNullException.ThrowIfNull(f);
        _console.MarkupLine(Style("bold", "Figure: " + f.Caption));
        switch (f)
        {
            case CmaStripFigure c:
                foreach (var line in CmaLines(c, Math.Min(64, Width - 14)))
                {
                    _console.MarkupLine(Esc(line));
                }
                break;
            case SgTableFigure t:
                SgTable(t);
                break;
            case RefGraphFigure g:
                foreach (var e in g.Edges)
                {
                    var a = g.Nodes.First(n => n.Id == e.From);
                    var b = g.Nodes.First(n => n.Id == e.To);
                    _console.MarkupLine(Esc(Fit($"  {a.Label} [{a.Detail}] --{e.Label}--> {b.Label} [{b.Detail}]", Width)));
                }
                break;
            case MemoryMapFigure m:
                foreach (var r in m.Regions)
                {
                    _console.MarkupLine(Esc($"  {MachineFigures.Hex(r.Start),-12} .. {MachineFigures.Hex(r.End - 1),-12} {r.Name} ({(r.End - r.Start) >> 10} KiB)"));
                }
                break;
            case BytesFigure b:
                var hex = string.Join(' ', b.Bytes.Select(x => x.ToString("x2", CultureInfo.InvariantCulture)));
                var chars = new string(b.Bytes.Select(x => x is >= 0x20 and < 0x7f ? (char)x : '.').ToArray());
                _console.MarkupLine(Esc($"  {MachineFigures.Hex(b.PhysAddress)}: {hex}  |{chars}|"));
                break;
        }
    }

    /// <summary>
    /// The CMA strip as text rows: one character per group of pages (<c>#</c> all used, <c>+</c> partly, <c>.</c>
    /// free, <c>A</c>/<c>B</c>/... a marked run), each row prefixed with its first pfn.
    /// </summary>
    public static List<string> CmaLines(CmaStripFigure c, int cols)
    {
        ArgumentNullException.ThrowIfNull(c);
        int n = c.Used.Count;
        int per = Math.Max(1, (n + cols * 8 - 1) / (cols * 8));
        var lines = new List<string>();
        var sb = new StringBuilder();
        int groups = (n + per - 1) / per;
        for (int gi = 0; gi < groups; gi++)
        {
            if (gi % cols == 0)
            {
                if (sb.Length > 0)
                {
                    lines.Add(sb.ToString());
                    sb.Clear();
                }
                sb.Append("  ").Append(MachineFigures.Hex(c.BasePfn + (ulong)(gi * per)).PadLeft(9)).Append(' ');
            }
            int used = 0, count = 0;
            char mark = '\0';
            for (int k = gi * per; k < Math.Min(n, (gi + 1) * per); k++)
            {
                count++;
                used += c.Used[k] ? 1 : 0;
                for (int m = 0; m < c.Marks.Count && mark == '\0'; m++)
                {
                    if ((ulong)k >= c.Marks[m].FirstPage && (ulong)k < c.Marks[m].FirstPage + c.Marks[m].Pages && c.Used[k])
                    {
                        mark = (char)('A' + m);
                    }
                }
            }
            sb.Append(mark != '\0' ? mark : used == count ? '#' : used > 0 ? '+' : '.');
        }
        if (sb.Length > 0)
        {
            lines.Add(sb.ToString());
        }
        lines.Add($"  one character = {per} page{(per == 1 ? "" : "s")}: # used, + partly used, . free" +
            string.Concat(c.Marks.Select((m, i) => $", {(char)('A' + i)} {m.Label} (bits {m.FirstPage}..{m.FirstPage + m.Pages - 1})")));
        return lines;
    }

    private void SgTable(SgTableFigure t)
    {
        var table = new Table { Border = _color ? TableBorder.Rounded : TableBorder.Ascii };
        table.AddColumns("#", "dma_address", "dma_len", "page (pfn)", "offset", "length");
        if (t.Window is not null)
        {
            table.AddColumn("window");
        }
        int shown = 0;
        foreach (var e in t.Entries)
        {
            if (shown++ >= 16 && e.Index != t.Entries.Count - 1)
            {
                continue;
            }
            var cells = new List<IRenderable>
            {
                new Text(e.Index.ToString(CultureInfo.InvariantCulture)), new Text(MachineFigures.Hex(e.DmaAddress)),
                new Text(MachineFigures.Hex(e.DmaLength)), new Text(MachineFigures.Hex(e.Pfn)),
                new Text(e.Offset.ToString(CultureInfo.InvariantCulture)), new Text(MachineFigures.Hex(e.Length)),
            };
            if (t.Window is { } w)
            {
                string s = "";
                if (e.Index == w.FirstSg)
                {
                    s += $"first_sg +{MachineFigures.Hex(w.FirstSgOffset)} ";
                }
                if (e.Index == w.LastSg)
                {
                    s += $"last_sg -{MachineFigures.Hex(w.LastSgTrim)}";
                }
                cells.Add(new Text(s));
            }
            table.AddRow(cells);
        }
        _console.Write(table);
        if (t.Entries.Count > 17)
        {
            _console.MarkupLine(Esc($"  ({t.Entries.Count - 17} entries not listed)"));
        }
        // The proportional strip: one row of characters, each entry as wide as its share of the total.
        int cols = Math.Max(10, Width - 4);
        ulong total = Math.Max(1, t.TotalLength);
        var bar = new StringBuilder("  ");
        int drawn = 0;
        ulong cur = 0;
        foreach (var e in t.Entries)
        {
            cur += e.DmaLength;
            int upto = (int)(cols * (double)cur / total);
            int w = Math.Max(upto - drawn, 1);
            bar.Append('[').Append(w > 2 ? new string(e.Index % 2 == 0 ? '=' : '-', w - 2) : "").Append(w > 1 ? "]" : "");
            drawn += w;
        }
        _console.MarkupLine(Esc(Fit(bar.ToString(), Width)));
        if (t.Window is { } win)
        {
            var line = new StringBuilder("  ");
            int ws = (int)(cols * (double)Math.Min(win.Start, total) / total), we = (int)(cols * (double)Math.Min(win.End, total) / total);
            line.Append(new string('x', ws)).Append(new string('^', Math.Max(1, we - ws))).Append(new string('x', Math.Max(0, cols - Math.Max(we, ws + 1))));
            _console.MarkupLine(Esc(Fit(line.ToString(), Width)));
            _console.MarkupLine(Esc($"  ^ window [{MachineFigures.Hex(win.Start)}, {MachineFigures.Hex(win.End)}) kept, x trimmed off; nmap {win.Nmap}"));
        }
    }
}

/// <summary>Passes text on line by line without the blanks at the end of each line.</summary>
internal sealed class TrimTrailingBlanksWriter(TextWriter inner) : TextWriter
{
    private readonly StringBuilder _line = new();

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        if (value == '\n')
        {
            int end = _line.Length;
            while (end > 0 && _line[end - 1] is ' ' or '\r')
            {
                end--;
            }
            inner.Write(_line.ToString(0, end));
            inner.Write('\n');
            _line.Clear();
            return;
        }
        _line.Append(value);
    }

    public override void Write(string? value)
    {
        foreach (char c in value ?? "")
        {
            Write(c);
        }
    }

    public override void Flush()
    {
        inner.Write(_line.ToString());
        _line.Clear();
        inner.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Flush();
        }
        base.Dispose(disposing);
    }
}
