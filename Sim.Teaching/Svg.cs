using System.Globalization;
using System.Xml.Linq;

namespace Sim.Teaching;

/// <summary>
/// Draws figures as inline SVG (well-formed XML: built with <see cref="XElement"/>). Every shape that stands for a
/// piece of model state carries <c>data-*</c> attributes with its numbers (page index, DMA address, length), so the
/// pictures can be checked as data.
/// </summary>
public static class Svg
{
    /// <summary>The SVG namespace.</summary>
    public static readonly XNamespace Ns = "http://www.w3.org/2000/svg";

    private const int Width = 1000;

    /// <summary>Draws <paramref name="figure"/>; <paramref name="idSuffix"/> keeps the ids it defines unique on a page of many figures.</summary>
    public static XElement Draw(Figure figure, string idSuffix = "") => figure switch
    {
        CmaStripFigure c => CmaStrip(c),
        SgTableFigure s => SgTable(s),
        RefGraphFigure r => RefGraph(r, idSuffix),
        MemoryMapFigure m => MemoryMap(m),
        BytesFigure b => Bytes(b),
        _ => throw new ArgumentException("unknown figure " + figure.GetType().Name, nameof(figure)),
    };

    private static string N(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Hex(ulong v) => MachineFigures.Hex(v);

    private static XElement Root(string kind, int height, params object[] content) =>
        new(Ns + "svg", new XAttribute("viewBox", $"0 0 {Width} {height}"), new XAttribute("width", "100%"),
            new XAttribute("role", "img"), new XAttribute("class", "fig " + kind), new XAttribute("data-figure", kind), content);

    private static XElement Rect(double x, double y, double w, double h, string cls, params object[] extra) =>
        new(Ns + "rect", new XAttribute("x", N(x)), new XAttribute("y", N(y)), new XAttribute("width", N(w)),
            new XAttribute("height", N(h)), new XAttribute("class", cls), extra);

    private static XElement Text(double x, double y, string text, string cls = "lbl", string anchor = "start") =>
        new(Ns + "text", new XAttribute("x", N(x)), new XAttribute("y", N(y)), new XAttribute("class", cls),
            new XAttribute("text-anchor", anchor), text);

    private static XElement Title(string text) => new(Ns + "title", text);

    /// <summary>
    /// The CMA bitmap, 128 cells a row: each run of equal cells (used or free, same mark) within a row is one rect
    /// (<c>data-bit</c> its first bit, <c>data-count</c> its bits), so a 16 MiB area is a hundred shapes, not 4,096.
    /// </summary>
    public static XElement CmaStrip(CmaStripFigure f)
    {
        ArgumentNullException.ThrowIfNull(f);
        const int perRow = 128;
        const double cell = 7.5, gap = 0.3, left = 60, top = 20;
        int rows = (f.Used.Count + perRow - 1) / perRow;
        var g = new List<object>();
        for (int r = 0; r < rows; r += 4)
        {
            g.Add(Text(left - 6, top + r * cell + cell - 1, Hex(f.BasePfn + (ulong)(r * perRow << f.OrderPerBit)), "tiny", "end"));
        }
        string Cls(int k)
        {
            for (int m = 0; m < f.Marks.Count; m++)
            {
                if ((ulong)k >= f.Marks[m].FirstPage && (ulong)k < f.Marks[m].FirstPage + f.Marks[m].Pages)
                {
                    return (f.Used[k] ? "page used" : "page free") + " mark" + m.ToString(CultureInfo.InvariantCulture);
                }
            }
            return f.Used[k] ? "page used" : "page free";
        }
        for (int k = 0; k < f.Used.Count;)
        {
            string cls = Cls(k);
            int end = k + 1;
            while (end < f.Used.Count && end % perRow != 0 && Cls(end) == cls)
            {
                end++;
            }
            int n = end - k;
            g.Add(Rect(left + (k % perRow) * cell, top + (k / perRow) * cell, n * cell - gap, cell - gap, cls,
                new XAttribute("data-bit", k), new XAttribute("data-count", n), new XAttribute("data-used", f.Used[k] ? "1" : "0"),
                Title(string.Create(CultureInfo.InvariantCulture, $"bits {k}..{end - 1} (pfn {Hex(f.BasePfn + ((ulong)k << f.OrderPerBit))}): {(f.Used[k] ? "used" : "free")}"))));
            k = end;
        }
        double y = top + rows * cell + 18;
        g.Add(Text(left, y, $"base_pfn {Hex(f.BasePfn)} ({Hex(f.BasePfn << 12)}), {f.Count} pages, one cell = {1 << f.OrderPerBit} page; row = {perRow} pages"));
        double x = left;
        for (int i = 0; i < f.Marks.Count; i++)
        {
            var m = f.Marks[i];
            y += 18;
            g.Add(Rect(x, y - 10, 12, 12, "page used mark" + i));
            g.Add(Text(x + 18, y, $"{m.Label}: bits {m.FirstPage}..{m.FirstPage + m.Pages - 1} (pfn {Hex(f.BasePfn + m.FirstPage)}, {m.Pages} pages)"));
        }
        return Root("cma", (int)y + 10, Title(f.Caption), g);
    }

    /// <summary>The sg_table as boxes proportional to <c>sg_dma_len</c>, with the umem window and its trims.</summary>
    public static XElement SgTable(SgTableFigure f)
    {
        ArgumentNullException.ThrowIfNull(f);
        const double left = 20, top = 40, h = 46, span = Width - 40;
        ulong total = Math.Max(1, f.TotalLength);
        var g = new List<object>();
        double x = left;
        ulong cur = 0;
        bool labelAll = f.Entries.Count <= 12;
        foreach (var e in f.Entries)
        {
            double w = span * e.DmaLength / total;
            g.Add(Rect(x, top, Math.Max(w, 0.5), h, "sg", new XAttribute("data-index", e.Index),
                new XAttribute("data-dma-address", Hex(e.DmaAddress)), new XAttribute("data-dma-length", Hex(e.DmaLength)),
                new XAttribute("data-offset", Hex(cur)),
                Title($"entry {e.Index}: dma_address {Hex(e.DmaAddress)}, dma_length {Hex(e.DmaLength)}; page pfn {Hex(e.Pfn)} + {e.Offset}, length {Hex(e.Length)}")));
            if (labelAll || e.Index == 0 || e.Index == f.Entries.Count - 1)
            {
                if (w > 60 || f.Entries.Count == 1)
                {
                    g.Add(Text(x + 4, top + 18, $"[{e.Index}] {Hex(e.DmaAddress)}", "lbl"));
                    g.Add(Text(x + 4, top + 36, $"len {Hex(e.DmaLength)}", "small"));
                }
            }
            x += w;
            cur += e.DmaLength;
        }
        g.Add(Text(left, top - 10, $"{f.Entries.Count} entr{(f.Entries.Count == 1 ? "y" : "ies")}, {Hex(f.TotalLength)} bytes; width proportional to sg_dma_len", "small"));
        int height = (int)(top + h + 30);
        if (f.Window is { } win)
        {
            double X(ulong off) => left + span * Math.Min(off, total) / total;
            double ws = X(win.Start), we = X(win.End);
            g.Add(Rect(left, top, ws - left, h, "trim", new XAttribute("data-trim", "front"), new XAttribute("data-bytes", Hex(win.Start)),
                Title($"cut by first_sg_offset: {Hex(win.FirstSgOffset)}")));
            g.Add(Rect(we, top, left + span - we, h, "trim", new XAttribute("data-trim", "back"),
                new XAttribute("data-bytes", Hex(f.TotalLength > win.End ? f.TotalLength - win.End : 0)),
                Title($"cut by last_sg_trim: {Hex(win.LastSgTrim)}")));
            g.Add(Rect(ws, top - 4, Math.Max(we - ws, 0.5), h + 8, "window", new XAttribute("data-start", Hex(win.Start)),
                new XAttribute("data-end", Hex(win.End))));
            double ux = X(win.Address), ue = X(win.Address + win.Length);
            g.Add(new XElement(Ns + "line", new XAttribute("x1", N(ux)), new XAttribute("x2", N(ue)), new XAttribute("y1", N(top + h + 12)),
                new XAttribute("y2", N(top + h + 12)), new XAttribute("class", "umem")));
            g.Add(Text(ux, top + h + 28, $"umem [{Hex(win.Address)}, {Hex(win.Address + win.Length)}) -> window [{Hex(win.Start)}, {Hex(win.End)}): first_sg {win.FirstSg} +{Hex(win.FirstSgOffset)}, last_sg {win.LastSg} -{Hex(win.LastSgTrim)}, nmap {win.Nmap}", "small"));
            height += 20;
        }
        return Root("sgt", height, Title(f.Caption), g);
    }

    private static readonly string[] Columns = ["process", "fd", "vma", "file", "handle", "gem", "dmabuf", "heapbuf", "heap", "attachment", "fence"];

    /// <summary>
    /// The reference graph in columns by kind, edges as arrows from holder to held. Labels are wrapped to their box,
    /// never cut (the refcounts are what the figure is for), and every node and edge has a hover title with the full
    /// text. <paramref name="idSuffix"/> makes the arrowhead's id unique on the page.
    /// </summary>
    public static XElement RefGraph(RefGraphFigure f, string idSuffix = "")
    {
        ArgumentNullException.ThrowIfNull(f);
        var byCol = new Dictionary<string, List<RefNode>>();
        foreach (var n in f.Nodes)
        {
            byCol.TryAdd(n.Kind, []);
            byCol[n.Kind].Add(n);
        }
        var used = Columns.Where(byCol.ContainsKey).ToList();
        double colW = (double)Width / Math.Max(1, used.Count);
        double bw = colW - 24;
        const double lblLine = 15, smallLine = 13, pad = 6, gapY = 16, top = 20;
        string arrow = "arrow" + idSuffix;
        var pos = new Dictionary<string, (double X, double Y, double H)>();
        var lines = new Dictionary<string, (List<string> Label, List<string> Detail)>();
        var g = new List<object>
        {
            new XElement(Ns + "defs", new XElement(Ns + "marker", new XAttribute("id", arrow), new XAttribute("viewBox", "0 0 10 10"),
                new XAttribute("refX", "10"), new XAttribute("refY", "5"), new XAttribute("markerWidth", "7"), new XAttribute("markerHeight", "7"),
                new XAttribute("orient", "auto-start-reverse"), new XElement(Ns + "path", new XAttribute("d", "M 0 0 L 10 5 L 0 10 z"), new XAttribute("class", "arrowhead")))),
        };
        double bottom = top;
        for (int c = 0; c < used.Count; c++)
        {
            double y = top;
            foreach (var n in byCol[used[c]])
            {
                var l = (Wrap(n.Label, bw, 6.6), Wrap(n.Detail, bw, 5.6));
                lines[n.Id] = l;
                double h = pad + l.Item1.Count * lblLine + l.Item2.Count * smallLine + pad / 2;
                pos[n.Id] = (c * colW + 8, y, h);
                y += h + gapY;
            }
            bottom = Math.Max(bottom, y);
        }
        var label = f.Nodes.ToDictionary(n => n.Id, n => n.Label);
        foreach (var e in f.Edges)
        {
            if (!pos.TryGetValue(e.From, out var a) || !pos.TryGetValue(e.To, out var b))
            {
                continue;
            }
            double x1 = a.X + bw, y1 = a.Y + a.H / 2, x2 = b.X, y2 = b.Y + b.H / 2;
            if (b.X <= a.X)
            {
                x1 = a.X + bw / 2;
                y1 = a.Y + a.H;
                x2 = b.X + bw / 2;
                y2 = b.Y;
            }
            string tip = $"{label[e.From]} \u2192 {label[e.To]}" + (string.IsNullOrEmpty(e.Label) ? "" : $" ({e.Label})");
            g.Add(new XElement(Ns + "path", new XAttribute("d", $"M {N(x1)} {N(y1)} C {N((x1 + x2) / 2)} {N(y1)}, {N((x1 + x2) / 2)} {N(y2)}, {N(x2)} {N(y2)}"),
                new XAttribute("class", "edge"), new XAttribute("marker-end", $"url(#{arrow})"), new XAttribute("data-from", e.From),
                new XAttribute("data-to", e.To), Title(tip)));
        }
        foreach (var n in f.Nodes)
        {
            if (!pos.TryGetValue(n.Id, out var p))
            {
                continue;
            }
            var node = new XElement(Ns + "g", new XAttribute("class", "refnode"), Title(n.Detail.Length > 0 ? $"{n.Label}: {n.Detail}" : n.Label),
                Rect(p.X, p.Y, bw, p.H, "node " + n.Kind, new XAttribute("rx", "5"), new XAttribute("data-node", n.Id), new XAttribute("data-kind", n.Kind)));
            double y = p.Y + pad + 10;
            foreach (var line in lines[n.Id].Label)
            {
                node.Add(Text(p.X + 6, y, line, "lbl"));
                y += lblLine;
            }
            foreach (var line in lines[n.Id].Detail)
            {
                node.Add(Text(p.X + 6, y, line, "small"));
                y += smallLine;
            }
            g.Add(node);
        }
        return Root("refs", (int)bottom + 4, Title(f.Caption), g);
    }

    // Breaks text into lines of at most (width - 10) / charW characters, at spaces where it can.
    private static List<string> Wrap(string s, double width, double charW)
    {
        int max = Math.Max(4, (int)((width - 10) / charW));
        var lines = new List<string>();
        var cur = new System.Text.StringBuilder();
        foreach (var word in s.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string w = word;
            while (w.Length > max)
            {
                if (cur.Length > 0)
                {
                    lines.Add(cur.ToString());
                    cur.Clear();
                }
                lines.Add(w[..max]);
                w = w[max..];
            }
            if (cur.Length > 0 && cur.Length + 1 + w.Length > max)
            {
                lines.Add(cur.ToString());
                cur.Clear();
            }
            cur.Append(cur.Length > 0 ? " " : "").Append(w);
        }
        if (cur.Length > 0 || lines.Count == 0)
        {
            lines.Add(cur.ToString());
        }
        return lines;
    }

    /// <summary>The physical address space to scale, RAM and the areas inside it.</summary>
    public static XElement MemoryMap(MemoryMapFigure f)
    {
        ArgumentNullException.ThrowIfNull(f);
        const double left = 20, top = 30, h = 40, span = Width - 40;
        var ram = f.Regions.FirstOrDefault(r => r.Kind == "ram") ?? f.Regions[0];
        ulong lo = ram.Start, hi = ram.End;
        double X(ulong a) => left + span * (a - lo) / Math.Max(1.0, hi - lo);
        var g = new List<object>();
        int row = 0;
        foreach (var r in f.Regions)
        {
            double x = X(Math.Clamp(r.Start, lo, hi)), w = Math.Max(2, X(Math.Clamp(r.End, lo, hi)) - x);
            g.Add(Rect(x, top, w, h, "region " + r.Kind, new XAttribute("data-start", Hex(r.Start)), new XAttribute("data-end", Hex(r.End)),
                Title($"{r.Name}: [{Hex(r.Start)}, {Hex(r.End)})")));
            if (r.Kind == "ram")
            {
                g.Add(Text(left, top - 8, $"{r.Name} {Hex(r.Start)}", "small"));
                g.Add(Text(left + span, top - 8, Hex(r.End), "small", "end"));
            }
            else
            {
                string label = $"{r.Name}: {Hex(r.Start)} .. {Hex(r.End - 1)} ({(r.End - r.Start) >> 10} KiB)";
                bool right = x + w > left + span / 2;
                g.Add(Text(right ? x + w : x, top + h + 16 + 16 * row++, label, "small", right ? "end" : "start"));
            }
        }
        return Root("memmap", (int)(top + h + 24 + 16 * row), Title(f.Caption), g);
    }

    /// <summary>Bytes of physical memory as cells with their characters.</summary>
    public static XElement Bytes(BytesFigure f)
    {
        ArgumentNullException.ThrowIfNull(f);
        const double left = 20, top = 30, cw = 58, h = 44;
        var g = new List<object> { Text(left, top - 10, $"physical {Hex(f.PhysAddress)} (user {Hex(f.UserAddress)})", "small") };
        for (int k = 0; k < f.Bytes.Count; k++)
        {
            byte b = f.Bytes[k];
            double x = left + k * cw;
            g.Add(Rect(x, top, cw - 3, h, b == 0 ? "byte zero" : "byte", new XAttribute("data-offset", k), new XAttribute("data-value", b.ToString("x2", CultureInfo.InvariantCulture))));
            g.Add(Text(x + cw / 2 - 1, top + 18, b.ToString("x2", CultureInfo.InvariantCulture), "mono", "middle"));
            g.Add(Text(x + cw / 2 - 1, top + 36, b is >= 0x21 and < 0x7f ? ((char)b).ToString() : b == 0x20 ? "sp" : "·", "lbl", "middle"));
        }
        return Root("bytes", (int)(top + h + 10), Title(f.Caption), g);
    }
}
