// The timeline as one self-contained page: inline SVG (readable without JavaScript, with native hover titles),
// a small inline script for zoom and a hover panel; nothing is loaded from the network. Colours and type follow
// the tour's page (Sim.Cli Teaching/HtmlPage.cs).
using System.Globalization;
using System.Net;
using System.Text;

namespace Sim.Timeline;

/// <summary>Renders a <see cref="Timeline"/> as an HTML page.</summary>
public static class TimelineHtml
{
    private const int LabelW = 190;
    private const int RowH = 22;
    private const int CounterH = 44;
    private const int AxisH = 26;
    private const int FenceH = 14;

    private const string Css = """
        body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1360px;padding:18px;color:#1d232b;background:#fff}
        h1{font-size:24px;margin:6px 0 2px} h2{font-size:19px;margin:24px 0 6px;border-bottom:2px solid #d0d7de;padding-bottom:4px}
        .sub{color:#57606a;margin:0 0 10px} code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
        table.facts{border-collapse:collapse;width:100%;margin:6px 0;font-size:14px} .facts td,.facts th{border-bottom:1px solid #eaeef2;padding:3px 8px;vertical-align:top;text-align:left}
        .facts th{color:#57606a;font-weight:600} .err{color:#b42318;font-weight:600}
        figure{margin:10px 0 16px;border:1px solid #d0d7de;border-radius:6px;padding:8px} figcaption{font-size:13px;color:#57606a;margin-top:4px}
        .scroll{overflow-x:auto} .legend{display:flex;flex-wrap:wrap;gap:14px;font-size:13px;color:#57606a;margin:4px 0 8px}
        .legend i{display:inline-block;width:18px;height:10px;border-radius:2px;margin-right:5px;vertical-align:middle}
        .tools{display:none;gap:6px;align-items:center;font-size:13px;color:#57606a;margin:4px 0} .js .tools{display:flex}
        .tools button{font:13px system-ui,sans-serif;border:1px solid #d0d7de;background:#f6f8fa;border-radius:4px;padding:2px 10px;cursor:pointer}
        #info{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;color:#1d232b;background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:4px 8px;min-height:18px;white-space:pre-wrap;display:none} .js #info{display:block}
        svg.tl text{font-family:system-ui,sans-serif;fill:#1d232b} svg.tl .lbl{font-size:12px} svg.tl .small{font-size:10px;fill:#57606a} svg.tl .in{font-size:10px;fill:#fff;pointer-events:none}
        svg.tl .row{fill:#f6f8fa} svg.tl .row.alt{fill:#fff} svg.tl .grid{stroke:#eaeef2} svg.tl .axis{stroke:#8c959f}
        svg.tl .syscall{fill:#1f6feb} svg.tl .syscall.error{fill:#cf222e} svg.tl .exit{fill:#8c959f} svg.tl .wait{fill:#bf8700}
        svg.tl .fence{fill:#8250df;fill-opacity:.75} svg.tl .fence.unsignalled{fill:#d8b9ff} svg.tl .signal{fill:#3b1f75}
        svg.tl .gap{fill:url(#hatch)} svg.tl .gaplbl{font-size:10px;fill:#57606a}
        svg.tl .flow{fill:none;stroke-width:1.4} svg.tl .flow.fence{stroke:#bf8700;stroke-width:1.8} svg.tl .flow.buffer{stroke:#1a7f37;stroke-dasharray:5 3}
        svg.tl .warn{fill:#cf222e} svg.tl .kern{stroke:#3d444d;stroke-width:1} svg.tl .note{fill:#8c959f}
        svg.tl .cline{fill:none;stroke:#1a7f37;stroke-width:1.5} svg.tl .carea{fill:#1a7f37;fill-opacity:.12}
        svg.tl rect:hover,svg.tl path.flow:hover{stroke:#000;stroke-width:1.5}
        """;

    private const string Script = """
        document.documentElement.classList.add('js');
        (function(){
          var svg=document.getElementById('tl'); if(!svg) return; var info=document.getElementById('info');
          var W0=+svg.getAttribute('data-w'), L=+svg.getAttribute('data-l'), z=1;
          function X(v){return L+(v-L)*z;}
          function apply(){
            svg.setAttribute('width', L+(W0-L)*z+10);
            svg.querySelectorAll('[data-x]').forEach(function(e){
              var x=+e.getAttribute('data-x');
              if(e.hasAttribute('data-w')){var w=Math.max(+e.getAttribute('data-w')*z, e.classList.contains('gap')?0:0.8); e.setAttribute('x',X(x)); e.setAttribute('width',w);}
              else if(e.tagName==='text'){e.setAttribute('x',X(x)); var m=e.getAttribute('data-max'); if(m) e.style.display=(+m*z>=e.getAttribute('data-need'))?'':'none';}
              else if(e.tagName==='line'){e.setAttribute('x1',X(x)); e.setAttribute('x2',X(+e.getAttribute('data-x2')));}
              else if(e.tagName==='path' && e.hasAttribute('data-x2')){var x1=X(x),x2=X(+e.getAttribute('data-x2')),y1=e.getAttribute('data-y1'),y2=e.getAttribute('data-y2'),m=(x1+x2)/2;
                e.setAttribute('d','M'+x1+' '+y1+' C'+m+' '+y1+' '+m+' '+y2+' '+x2+' '+y2);}
              else if(e.tagName==='path'){var d=e.getAttribute('data-d').split(' ').map(function(p,i){var q=p.split(',');return (i?'L':'M')+X(+q[0])+' '+q[1];}).join(' ');
                e.setAttribute('d', e.hasAttribute('data-close')? d+' L'+X(+e.getAttribute('data-xe'))+' '+e.getAttribute('data-close')+' L'+X(x)+' '+e.getAttribute('data-close')+' Z' : d);}
              else if(e.tagName==='polygon'){var c=X(x); e.setAttribute('points',(c-4)+','+e.getAttribute('data-y')+' '+(c+4)+','+e.getAttribute('data-y')+' '+c+','+(+e.getAttribute('data-y')-7));}
            });
          }
          document.getElementById('zin').onclick=function(){z=Math.min(z*2,256);apply();};
          document.getElementById('zout').onclick=function(){z=Math.max(z/2,1);apply();};
          document.getElementById('zfit').onclick=function(){z=1;apply();};
          svg.addEventListener('wheel',function(ev){if(!ev.ctrlKey&&!ev.altKey) return; ev.preventDefault(); z=ev.deltaY<0?Math.min(z*1.25,256):Math.max(z/1.25,1); apply();},{passive:false});
          svg.addEventListener('mouseover',function(ev){var t=ev.target.querySelector&&ev.target.querySelector('title'); if(t) info.textContent=t.textContent;});
        })();
        """;

    /// <summary>Renders the page.</summary>
    public static string Render(Timeline tl)
    {
        ArgumentNullException.ThrowIfNull(tl);
        var sum = TimelineSummary.Of(tl);
        var sb = new StringBuilder(1 << 16);
        string title = "dmabufsim timeline: " + tl.Title;
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
          .Append("<title>").Append(E(title)).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        sb.Append("<h1>").Append(E(title)).Append("</h1>\n<p class=\"sub\">");
        int calls = sum.Processes.Sum(p => p.Calls);
        int errors = sum.Processes.Sum(p => p.Errors);
        sb.Append(E(string.Create(CultureInfo.InvariantCulture,
            $"{calls} calls ({errors} failed), {sum.Fences.Count} fences, {tl.Buffers.Count} buffers, {TimelineSummary.Duration(tl.End - tl.Begin)} ")))
          .Append(tl.TimeBase == "simulated"
            ? E($"of simulated time: every call costs {TimelineSummary.Duration(TimelineRecorder.CallCostNs)} plus its modelled waits.")
            : "on the capture's clock (kernel-side <code>ts</code>; calls between them interpolated).")
          .Append(" Long idle stretches are drawn shortened (hatched, with their length).</p>\n");
        sb.Append("<div class=\"legend\">")
          .Append("<span><i style=\"background:#1f6feb\"></i>call</span><span><i style=\"background:#cf222e\"></i>failed call</span>")
          .Append("<span><i style=\"background:#bf8700\"></i>wait on a fence</span><span><i style=\"background:#8250df\"></i>fence init → signal</span>")
          .Append("<span><i style=\"background:#3b1f75\"></i>signal</span><span><i style=\"background:#bf8700;height:2px\"></i>waiter → signal</span>")
          .Append("<span><i style=\"border-top:2px dashed #1a7f37;height:0\"></i>a buffer's life</span><span><i style=\"background:#cf222e;width:8px\"></i>WARN</span>")
          .Append("<span><i style=\"background:#3d444d;width:2px\"></i>kernel trace record</span></div>\n");
        sb.Append("<div class=\"tools\"><button id=\"zin\" type=\"button\">zoom in</button><button id=\"zout\" type=\"button\">zoom out</button>")
          .Append("<button id=\"zfit\" type=\"button\">fit</button><span>or Ctrl + wheel; hover a slice for its details</span></div><div id=\"info\">hover a slice, an arrow or a counter</div>\n");
        sb.Append("<figure><div class=\"scroll\">");
        Svg(sb, tl);
        sb.Append("</div><figcaption>").Append(E("Tracks: one per simulated process (a slice per call, waits inside), one per fence context (a slice per fence from dma_fence_init to dma_fence_signaled), then the counters."))
          .Append("</figcaption></figure>\n");
        Tables(sb, sum);
        sb.Append("<script>").Append(Script).Append("</script>\n</body></html>\n");
        return sb.ToString();
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    // The broken axis: every gap between consecutive times of interest is drawn at most `cap` long.
    private sealed class Axis
    {
        private readonly long[] _t;
        private readonly double[] _v;
        public readonly List<(long From, long To, double V0, double V1)> Gaps = [];

        public Axis(Timeline tl)
        {
            var keys = new List<long> { tl.Begin, tl.End };
            foreach (var s in tl.Slices)
            {
                if (s.Parent < 0)
                {
                    keys.Add(s.Start);
                    keys.Add(s.End);
                }
                else if (s.Category is "wait" or "signal")
                {
                    keys.Add(s.Start);
                    keys.Add(s.End);
                }
            }
            keys.Sort();
            var t = new List<long>();
            foreach (var k in keys)
            {
                if (t.Count == 0 || k != t[^1])
                {
                    t.Add(k);
                }
            }
            var gaps = new List<long>();
            for (int k = 1; k < t.Count; k++)
            {
                gaps.Add(t[k] - t[k - 1]);
            }
            gaps.Sort();
            double median = gaps.Count > 0 ? gaps[gaps.Count / 2] : 1;
            double cap = Math.Max(median * 6, 1);
            _t = [.. t];
            _v = new double[_t.Length];
            for (int k = 1; k < _t.Length; k++)
            {
                long g = _t[k] - _t[k - 1];
                double w = g > cap ? cap : g;
                _v[k] = _v[k - 1] + w;
                if (g > cap)
                {
                    Gaps.Add((_t[k - 1], _t[k], _v[k - 1], _v[k]));
                }
            }
            Total = _t.Length > 0 ? Math.Max(_v[^1], 1) : 1;
        }

        public double Total { get; }

        public double V(long t)
        {
            int i = Array.BinarySearch(_t, t);
            if (i >= 0)
            {
                return _v[i];
            }
            i = ~i;
            if (i == 0)
            {
                return 0;
            }
            if (i >= _t.Length)
            {
                return _v[^1];
            }
            return _v[i - 1] + ((double)(t - _t[i - 1]) / (_t[i] - _t[i - 1]) * (_v[i] - _v[i - 1]));
        }

        public long T(double v)
        {
            int i = Array.BinarySearch(_v, v);
            if (i >= 0)
            {
                return _t[i];
            }
            i = ~i;
            if (i == 0)
            {
                return _t[0];
            }
            if (i >= _v.Length)
            {
                return _t[^1];
            }
            return _t[i - 1] + (long)((v - _v[i - 1]) / (_v[i] - _v[i - 1]) * (_t[i] - _t[i - 1]));
        }
    }

    private static void Svg(StringBuilder sb, Timeline tl)
    {
        var axis = new Axis(tl);
        int calls = tl.Slices.Count(s => s.Parent < 0);
        double plotW = Math.Clamp(calls * 9.0, 1100, 24000);
        double X(long t) => LabelW + (axis.V(t) / axis.Total * plotW);

        // Rows: per track its depth levels; process tracks first (in id order), then fence tracks by name.
        var firstStart = new Dictionary<int, long>();
        foreach (var sl in tl.Slices)
        {
            firstStart[sl.Track] = Math.Min(firstStart.GetValueOrDefault(sl.Track, long.MaxValue), sl.Start);
        }
        var order = tl.Tracks.Where(t => t.Kind == TimelineTrackKind.Process)
            .Concat(tl.Tracks.Where(t => t.Kind == TimelineTrackKind.Fence).OrderBy(t => firstStart.GetValueOrDefault(t.Id, long.MaxValue)).ThenBy(t => t.Id)).ToList();
        var depth = new int[tl.Slices.Count];
        var levels = new int[tl.Tracks.Count];
        for (int k = 0; k < tl.Slices.Count; k++)
        {
            int p = tl.Slices[k].Parent;
            depth[k] = p < 0 ? 0 : depth[p] + 1;
            levels[tl.Slices[k].Track] = Math.Max(levels[tl.Slices[k].Track], depth[k] + 1);
        }
        var rowY = new double[tl.Tracks.Count];
        double y = AxisH;
        foreach (var t in order)
        {
            rowY[t.Id] = y;
            y += RowHeight(t, levels) + 4;
        }
        double countersY = y + 6;
        var counters = tl.Counters.Where(c => c.Samples.Count > 0).ToList();
        double height = countersY + counters.Sum(c => c.Samples.Count == 1 ? 20.0 : CounterH + 6) + 8;
        double width = LabelW + plotW + 10;
        sb.Append(CultureInfo.InvariantCulture, $"<svg id=\"tl\" class=\"tl\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(width)}\" height=\"{F(height)}\" data-w=\"{F(LabelW + plotW)}\" data-l=\"{LabelW}\" role=\"img\" aria-label=\"{E(tl.Title)} timeline\">");
        sb.Append("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f6f8fa\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d0d7de\" stroke-width=\"2\"/></pattern>")
          .Append("<marker id=\"ah\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0 L8 4 L0 8 z\" fill=\"#bf8700\"/></marker>")
          .Append("<marker id=\"ahb\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0 0 L8 4 L0 8 z\" fill=\"#1a7f37\"/></marker></defs>");
        // Row backgrounds and labels.
        int n = 0;
        foreach (var t in order)
        {
            double h = RowHeight(t, levels);
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"row{(n++ % 2 == 1 ? " alt" : "")}\" x=\"0\" y=\"{F(rowY[t.Id] - 2)}\" width=\"100%\" height=\"{F(h + 4)}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"{(t.Kind == TimelineTrackKind.Fence ? "small" : "lbl")}\" x=\"6\" y=\"{F(rowY[t.Id] + (t.Kind == TimelineTrackKind.Fence ? 11 : 13))}\">{E(Trim(t.Name, 28))}</text>");
            if (t.Kind == TimelineTrackKind.Process)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<text class=\"small\" x=\"6\" y=\"{F(rowY[t.Id] + 24)}\">{E(Trim(t.ProcessName, 32))}</text>");
            }
        }
        // Axis ticks and compressed gaps.
        sb.Append(CultureInfo.InvariantCulture, $"<line class=\"axis\" x1=\"{LabelW}\" y1=\"{AxisH - 4}\" x2=\"{F(LabelW + plotW)}\" y2=\"{AxisH - 4}\" data-x=\"{LabelW}\" data-x2=\"{F(LabelW + plotW)}\"/>");
        const int Ticks = 10;
        for (int k = 0; k <= Ticks; k++)
        {
            double v = axis.Total * k / Ticks;
            double x = LabelW + (plotW * k / Ticks);
            long t = axis.T(v);
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{F(x)}\" y1=\"{AxisH - 8}\" x2=\"{F(x)}\" y2=\"{F(height)}\" data-x=\"{F(x)}\" data-x2=\"{F(x)}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"small\" x=\"{F(x)}\" y=\"{AxisH - 10}\" data-x=\"{F(x)}\">{E("+" + TimelineSummary.Duration(t - tl.Begin))}</text>");
        }
        foreach (var (from, to, v0, v1) in axis.Gaps)
        {
            double x0 = LabelW + (v0 / axis.Total * plotW);
            double w = (v1 - v0) / axis.Total * plotW;
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"gap\" x=\"{F(x0)}\" y=\"{AxisH - 2}\" width=\"{F(w)}\" height=\"{F(countersY - AxisH)}\" data-x=\"{F(x0)}\" data-w=\"{F(w)}\" opacity=\"0.7\"><title>{E(TimelineSummary.Duration(to - from) + " drawn shortened")}</title></rect>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"gaplbl\" x=\"{F(x0 + 2)}\" y=\"{F(countersY - 2)}\" data-x=\"{F(x0 + 2)}\" data-max=\"{F(w)}\" data-need=\"{F(GapNeed(to - from))}\"{(w < GapNeed(to - from) ? " style=\"display:none\"" : "")}>{E(TimelineSummary.Duration(to - from))}</text>");
        }
        // Slices.
        var sumY = new double[tl.Slices.Count];
        for (int k = 0; k < tl.Slices.Count; k++)
        {
            var s = tl.Slices[k];
            double sy = rowY[s.Track] + (depth[k] * (RowH - 6));
            double sh = depth[k] == 0 ? RowH - 4 : RowH - 10;
            if (s.Category is "fence" or "signal")
            {
                sy = rowY[s.Track];
                sh = FenceH;
            }
            sumY[k] = sy + (sh / 2);
            double x0 = X(s.Start);
            double w = X(s.End) - x0;
            string cls = s.Category + (s.Error ? " error" : "") + (s.Category == "fence" && s.Args.Exists(a => a.Key == "signaled" && a.Value == "false") ? " unsignalled" : "");
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"{cls}\" x=\"{F(x0)}\" y=\"{F(sy)}\" width=\"{F(Math.Max(w, 0.8))}\" height=\"{F(sh)}\" rx=\"2\" data-x=\"{F(x0)}\" data-w=\"{F(w)}\"><title>{E(Tip(tl, s))}</title></rect>");
            if (depth[k] == 0 && s.Category != "signal")
            {
                double ty = s.Category == "fence" ? sy + 11 : sy + 12;
                string label = s.Name.StartsWith("DRM_IOCTL_", StringComparison.Ordinal) ? s.Name[10..] : s.Name;
                double need = (label.Length * 6.2) + 6;
                sb.Append(CultureInfo.InvariantCulture, $"<text class=\"in\" x=\"{F(x0 + 3)}\" y=\"{F(ty)}\" data-x=\"{F(x0 + 3)}\" data-max=\"{F(w)}\" data-need=\"{F(need)}\"{(w < need ? " style=\"display:none\"" : "")}>{E(label)}</text>");
            }
        }
        // Instants: WARNs (triangles), kernel trace records (ticks), notes (dots).
        foreach (var i in tl.Instants)
        {
            double x = X(i.Ts);
            double by = rowY[i.Track] + RowH - 4;
            string tip = i.Name + (i.Args.Count > 0 ? " " + string.Join(" ", i.Args.Select(a => a.Key + "=" + a.Value)) : "") + " @ +" + TimelineSummary.Duration(i.Ts - tl.Begin);
            switch (i.Category)
            {
                case "warn":
                    sb.Append(CultureInfo.InvariantCulture, $"<polygon class=\"warn\" points=\"{F(x - 4)},{F(by)} {F(x + 4)},{F(by)} {F(x)},{F(by - 7)}\" data-x=\"{F(x)}\" data-y=\"{F(by)}\"><title>{E(tip)}</title></polygon>");
                    break;
                case "kernel":
                    sb.Append(CultureInfo.InvariantCulture, $"<line class=\"kern\" x1=\"{F(x)}\" y1=\"{F(by)}\" x2=\"{F(x)}\" y2=\"{F(by + 4)}\" data-x=\"{F(x)}\" data-x2=\"{F(x)}\"><title>{E(tip)}</title></line>");
                    break;
                default:
                    sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"note\" x=\"{F(x - 1.5)}\" y=\"{F(rowY[i.Track] - 2)}\" width=\"3\" height=\"3\" data-x=\"{F(x - 1.5)}\" data-w=\"3\"><title>{E(tip)}</title></rect>");
                    break;
            }
        }
        // Flows.
        foreach (var f in tl.Flows)
        {
            for (int k = 1; k < f.Slices.Count; k++)
            {
                int a = f.Slices[k - 1];
                int b = f.Slices[k];
                double x1 = X(tl.AnchorOf(a));
                double x2 = X(tl.AnchorOf(b));
                double y1 = sumY[a];
                double y2 = sumY[b];
                double m = (x1 + x2) / 2;
                string cls = f.Category == "fence" ? "flow fence" : "flow buffer";
                string marker = f.Category == "fence" ? "url(#ah)" : "url(#ahb)";
                sb.Append(CultureInfo.InvariantCulture, $"<path class=\"{cls}\" marker-end=\"{marker}\" d=\"M{F(x1)} {F(y1)} C{F(m)} {F(y1)} {F(m)} {F(y2)} {F(x2)} {F(y2)}\" data-x=\"{F(x1)}\" data-x2=\"{F(x2)}\" data-y1=\"{F(y1)}\" data-y2=\"{F(y2)}\"><title>{E(f.Name + ": " + f.Labels[k - 1] + " → " + f.Labels[k])}</title></path>");
            }
        }
        // Counters.
        double cy = countersY;
        foreach (var c in counters)
        {
            if (c.Samples.Count == 1)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"row alt\" x=\"0\" y=\"{F(cy)}\" width=\"100%\" height=\"18\"/>");
                sb.Append(CultureInfo.InvariantCulture, $"<text class=\"small\" x=\"6\" y=\"{F(cy + 13)}\">{E(c.Name + ": " + Human(c.Samples[0].Value, c.Unit) + " throughout")}</text>");
                cy += 20;
                continue;
            }
            long peak = c.Samples.Max(s => s.Value);
            long max = Math.Max(1, peak);
            long min = Math.Min(0, c.Samples.Min(s => s.Value));
            double Y(long v) => cy + CounterH - 4 - ((double)(v - min) / (max - min) * (CounterH - 14));
            var pts = new List<(double X, double Y)>();
            double lastY = Y(c.Samples[0].Value);
            foreach (var (ts, v) in c.Samples)
            {
                double x = X(ts);
                pts.Add((x, lastY));
                lastY = Y(v);
                pts.Add((x, lastY));
            }
            pts.Add((LabelW + plotW, lastY));
            string data = string.Join(" ", pts.Select(p => F(p.X) + "," + F(p.Y)));
            string d = string.Join(" ", pts.Select((p, i) => (i == 0 ? "M" : "L") + F(p.X) + " " + F(p.Y)));
            double baseY = cy + CounterH - 4;
            sb.Append(CultureInfo.InvariantCulture, $"<rect class=\"row\" x=\"0\" y=\"{F(cy)}\" width=\"100%\" height=\"{CounterH}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<path class=\"carea\" d=\"{d} L{F(LabelW + plotW)} {F(baseY)} L{F(pts[0].X)} {F(baseY)} Z\" data-x=\"{F(pts[0].X)}\" data-d=\"{data}\" data-xe=\"{F(LabelW + plotW)}\" data-close=\"{F(baseY)}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<path class=\"cline\" d=\"{d}\" data-x=\"{F(pts[0].X)}\" data-d=\"{data}\"><title>{E(CounterTip(c))}</title></path>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"lbl\" x=\"6\" y=\"{F(cy + 16)}\">{E(Trim(c.Name, 28))}</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"small\" x=\"6\" y=\"{F(cy + 30)}\">{E(string.Create(CultureInfo.InvariantCulture, $"peak {Human(peak, c.Unit)}, end {Human(c.Samples[^1].Value, c.Unit)}"))}</text>");
            cy += CounterH + 6;
        }
        sb.Append("</svg>");
    }

    private static double RowHeight(TimelineTrack t, int[] levels) =>
        t.Kind == TimelineTrackKind.Fence ? FenceH : Math.Max((Math.Max(levels[t.Id], 1) * (RowH - 6)) + 4, 30);

    private static double GapNeed(long ns) => (TimelineSummary.Duration(ns).Length * 5.6) + 6;

    private static string Human(long v, string unit) => unit == "bytes"
        ? v >= 1 << 20 ? F(v / 1048576.0) + " MiB" : v >= 1 << 10 ? F(v / 1024.0) + " KiB" : v.ToString(CultureInfo.InvariantCulture) + " B"
        : v.ToString(CultureInfo.InvariantCulture) + " " + unit;

    private static string CounterTip(TimelineCounter c) =>
        c.Name + ": " + string.Join(", ", c.Samples.Take(40).Select(s => Human(s.Value, c.Unit))) + (c.Samples.Count > 40 ? ", …" : "");

    private static string Trim(string s, int n) => s.Length > n ? s[..(n - 1)] + "…" : s;

    private static string Tip(Timeline tl, TimelineSlice s)
    {
        var sb = new StringBuilder();
        sb.Append(s.Name);
        if (s.Index >= 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $" (i={s.Index})");
        }
        sb.Append(" @ +").Append(TimelineSummary.Duration(s.Start - tl.Begin)).Append(", ").Append(TimelineSummary.Duration(s.Dur));
        foreach (var a in s.Args)
        {
            if (a.Key != "i")
            {
                sb.Append('\n').Append(a.Key).Append(" = ").Append(a.Value);
            }
        }
        return sb.ToString();
    }

    private static void Tables(StringBuilder sb, TimelineSummary sum)
    {
        sb.Append("<h2>Processes</h2><table class=\"facts\"><tr><th>process</th><th>calls</th><th>errors</th><th>longest waits</th></tr>");
        foreach (var p in sum.Processes)
        {
            sb.Append("<tr><td>").Append(E(p.Name)).Append("</td><td>").Append(p.Calls).Append("</td><td>")
              .Append(p.Errors > 0 ? "<span class=\"err\">" + p.Errors + "</span>" : "0").Append("</td><td>")
              .Append(p.LongestWaits.Count == 0 ? "none" : E(string.Join("; ", p.LongestWaits.Select(w => string.Create(CultureInfo.InvariantCulture, $"{TimelineSummary.Duration(w.WaitNs)} in {w.Call} i={w.I}")))))
              .Append("</td></tr>");
        }
        sb.Append("</table>\n<h2>Fences</h2>");
        if (sum.Fences.Count == 0)
        {
            sb.Append("<p class=\"sub\">No fence was initialised.</p>");
        }
        else
        {
            sb.Append("<table class=\"facts\"><tr><th>track</th><th>fence</th><th>driver</th><th>init</th><th>signalled</th><th>waiters</th></tr>");
            foreach (var f in sum.Fences)
            {
                sb.Append("<tr><td>").Append(E(f.Track)).Append("</td><td>").Append(E(f.Name)).Append("</td><td>").Append(E(f.Driver)).Append("</td><td>")
                  .Append(E(sum.At(f.Init))).Append("</td><td>").Append(f.Signal is { } s ? E(sum.At(s)) : "never").Append("</td><td>").Append(f.Waiters).Append("</td></tr>");
            }
            sb.Append("</table>");
        }
        sb.Append("\n<h2>Buffers</h2>");
        var rows = sum.BufferRows().ToList();
        if (rows.Count == 0)
        {
            sb.Append("<p class=\"sub\">No GEM object or dma-buf was created.</p>");
        }
        else
        {
            sb.Append("<table class=\"facts\"><tr><th>#</th><th>buffer</th><th>created</th><th>released</th><th>lifetime</th><th>held by</th><th>life</th></tr>");
            foreach (var r in rows)
            {
                sb.Append("<tr>");
                foreach (var c in r)
                {
                    sb.Append("<td>").Append(E(c)).Append("</td>");
                }
                sb.Append("</tr>");
            }
            sb.Append("</table>");
        }
        sb.Append('\n');
    }
}
