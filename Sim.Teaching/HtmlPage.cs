using System.Net;
using System.Text;
using Sim.Core.Uapi;

namespace Sim.Teaching;

/// <summary>
/// One self-contained HTML page: inline CSS and SVG, no scripts, nothing loaded from the network (the only
/// links point at the kernel sources on elixir.bootlin.com).
/// </summary>
public static class HtmlPage
{
    private const string Css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1060px;padding:18px;color:#1d232b;background:#fff}
        h1{font-size:24px;margin:6px 0 2px} h2{font-size:19px;margin:28px 0 6px;border-bottom:2px solid #d0d7de;padding-bottom:4px}
        .sub{color:#57606a;margin:0 0 12px} section{margin-bottom:8px}
        table.facts{border-collapse:collapse;width:100%;margin:6px 0} .facts td{border-bottom:1px solid #eaeef2;padding:3px 8px;vertical-align:top}
        .facts td:first-child{white-space:nowrap;color:#57606a;width:1%} code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
        .fns{display:flex;flex-wrap:wrap;gap:4px;margin:6px 0} .fn{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:#eef4fb;border:1px solid #c8d9ee;border-radius:4px;padding:1px 6px;text-decoration:none;color:#0b4a8b}
        .fn.missing{background:#f6f8fa;color:#8c959f;border-color:#d0d7de}
        .err{color:#b42318;font-weight:600} .note{color:#3d444d;margin:4px 0}
        details{margin:6px 0} summary{cursor:pointer;color:#57606a} pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}
        figure{margin:10px 0 16px;border:1px solid #d0d7de;border-radius:6px;padding:8px} figcaption{font-size:13px;color:#57606a;margin-top:4px}
        svg.fig text{font-family:system-ui,sans-serif;fill:#1d232b} svg .lbl{font-size:13px} svg .small{font-size:11px} svg .tiny{font-size:8px;fill:#57606a} svg .mono{font-family:ui-monospace,monospace;font-size:14px}
        svg .page.free{fill:#e9eef3} svg .page.used{fill:#8c959f} svg .page.used.mark0{fill:#bf8700} svg .page.used.mark1{fill:#1f6feb} svg .page.used.mark2{fill:#8250df}
        svg .sg{fill:#dbe9fb;stroke:#1f6feb;stroke-width:1} svg .trim{fill:#f85149;fill-opacity:.28;stroke:#cf222e;stroke-dasharray:4 3}
        svg .window{fill:none;stroke:#1a7f37;stroke-width:3} svg .umem{stroke:#1a7f37;stroke-width:4}
        svg .region.ram{fill:#eaeef2;stroke:#8c959f} svg .region.cma{fill:#bf8700;fill-opacity:.8} svg .region.swiotlb{fill:#8250df;fill-opacity:.7} svg .region.buffer{fill:#1f6feb}
        svg .node{fill:#f6f8fa;stroke:#57606a} svg .node.gem{fill:#fff8c5;stroke:#bf8700} svg .node.dmabuf{fill:#dbe9fb;stroke:#1f6feb} svg .node.attachment{fill:#dafbe1;stroke:#1a7f37}
        svg .node.fence{fill:#ffebe9;stroke:#cf222e} svg .node.handle{fill:#fbefff;stroke:#8250df} svg .node.fd{fill:#ffffff} svg .edge{fill:none;stroke:#57606a;stroke-width:1.3} svg .arrowhead{fill:#57606a}
        svg .byte{fill:#dbe9fb;stroke:#1f6feb} svg .byte.zero{fill:#f6f8fa;stroke:#8c959f}
        """;

    /// <summary>Writes the page for <paramref name="steps"/>.</summary>
    public static string Render(string title, string subtitle, IEnumerable<TourStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .Append("<title>").Append(E(title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        sb.Append("<h1>").Append(E(title)).Append("</h1><p class=\"sub\">").Append(E(subtitle)).Append("</p>\n");
        int figureNo = 0;
        foreach (var s in steps)
        {
            Step(sb, s, ref figureNo);
        }
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static void Step(StringBuilder sb, TourStep s, ref int figureNo)
    {
        sb.Append("<section>");
        sb.Append("<h2>").Append(s.Number > 0 ? s.Number + ". " : "").Append(E(s.Title)).Append("</h2>\n");
        if (s.Functions.Count > 0)
        {
            sb.Append("<div class=\"fns\">");
            foreach (var f in s.Functions.Distinct())
            {
                var where = KernelXref.Find(f);
                if (where.Count == 0)
                {
                    sb.Append("<span class=\"fn missing\" title=\"not modelled in this build\">").Append(E(f)).Append("</span>");
                    continue;
                }
                string? file = KernelXref.SourceFile(f);
                string tip = "modelled by " + string.Join(", ", where.Select(w => w.Member));
                if (file is not null)
                {
                    sb.Append("<a class=\"fn\" href=\"https://elixir.bootlin.com/linux/v6.1/source/").Append(E(file)).Append("\" title=\"")
                      .Append(E(tip)).Append("\">").Append(E(f)).Append("</a>");
                }
                else
                {
                    sb.Append("<span class=\"fn\" title=\"").Append(E(tip)).Append("\">").Append(E(f)).Append("</span>");
                }
            }
            sb.Append("</div>\n");
        }
        if (s.Error is { } err)
        {
            sb.Append("<p class=\"err\">").Append(E(s.ErrorWhere ?? "")).Append(": ").Append(E(ErrnoNames.Format(err))).Append("</p>\n");
        }
        if (s.Facts.Count > 0)
        {
            sb.Append("<table class=\"facts\">");
            foreach (var f in s.Facts)
            {
                sb.Append("<tr><td>").Append(E(f.Name)).Append("</td><td>").Append(E(f.Value)).Append("</td></tr>");
            }
            sb.Append("</table>\n");
        }
        foreach (var n in s.Notes)
        {
            sb.Append("<p class=\"note\">").Append(E(n)).Append("</p>\n");
        }
        foreach (var fig in s.Figures)
        {
            figureNo++;
            sb.Append("<figure>").Append(Svg.Draw(fig, "-" + figureNo.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToString(System.Xml.Linq.SaveOptions.DisableFormatting))
              .Append("<figcaption>").Append(E(fig.Caption)).Append("</figcaption></figure>\n");
        }
        if (s.Trace.Count > 0)
        {
            sb.Append("<details><summary>").Append(s.Trace.Count).Append(" kernel trace records (tracepoints and kprobes the models fired)</summary><pre>");
            foreach (var r in s.Trace)
            {
                sb.Append(E(r.ToString())).Append('\n');
            }
            sb.Append("</pre></details>\n");
        }
        sb.Append("</section>\n");
    }
}
