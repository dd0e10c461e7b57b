// The timeline as one self-contained page: inline SVG (readable without JavaScript, with native hover titles),
// a small inline script for zoom and a hover panel; nothing is loaded from the network. Colours and type follow
// the tour's page (Sim.Cli Teaching/HtmlPage.cs).
using System.Text;
using System.Text.Json;

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

    /// <summary>Renders the page as a string (tests; the CLI writes it with <see cref="Write"/>).</summary>
    public static string Render(Timeline tl)
    {
        using var ms = new MemoryStream();
        Write(tl, ms);
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    /// <summary>Writes the page to <paramref name="output"/> as UTF-8.</summary>
    public static void Write(Timeline tl, Stream output)
    {
        ArgumentNullException.ThrowIfNull(tl);
        ArgumentNullException.ThrowIfNull(output);
        var sum = TimelineSummary.Of(tl);
        using var w = new HtmlUtf8Writer(output);
        string title = "dmabufsim timeline: " + tl.Title;
        w.Raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"u8)
         .Raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"u8)
         .Raw("<title>"u8).Text(title).Raw("</title><style>"u8).Raw(Css).Raw("</style></head><body>\n"u8);
        w.Raw("<h1>"u8).Text(title).Raw("</h1>\n<p class=\"sub\">"u8);
        int calls = sum.Processes.Sum(p => p.Calls);
        int errors = sum.Processes.Sum(p => p.Errors);
        w.Int(calls).Raw(" calls ("u8).Int(errors).Raw(" failed), "u8).Int(sum.Fences.Count).Raw(" fences, "u8).Int(tl.Buffers.Count)
         .Raw(" buffers, "u8).Duration(tl.End - tl.Begin).Raw(" "u8);
        if (tl.TimeBase == "simulated")
        {
            w.Raw("of simulated time: every call costs "u8).Duration(TimelineRecorder.CallCostNs).Raw(" plus its modelled waits."u8);
        }
        else
        {
            w.Raw("on the capture's clock (kernel-side <code>ts</code>; calls between them interpolated)."u8);
        }
        w.Raw(" Long idle stretches are drawn shortened (hatched, with their length).</p>\n"u8);
        w.Raw("<div class=\"legend\">"u8)
         .Raw("<span><i style=\"background:#1f6feb\"></i>call</span><span><i style=\"background:#cf222e\"></i>failed call</span>"u8)
         .Raw("<span><i style=\"background:#bf8700\"></i>wait on a fence</span><span><i style=\"background:#8250df\"></i>fence init → signal</span>"u8)
         .Raw("<span><i style=\"background:#3b1f75\"></i>signal</span><span><i style=\"background:#bf8700;height:2px\"></i>waiter → signal</span>"u8)
         .Raw("<span><i style=\"border-top:2px dashed #1a7f37;height:0\"></i>a buffer's life</span><span><i style=\"background:#cf222e;width:8px\"></i>WARN</span>"u8)
         .Raw("<span><i style=\"background:#3d444d;width:2px\"></i>kernel trace record</span></div>\n"u8);
        w.Raw("<div class=\"tools\"><button id=\"zin\" type=\"button\">zoom in</button><button id=\"zout\" type=\"button\">zoom out</button>"u8)
         .Raw("<button id=\"zfit\" type=\"button\">fit</button><span>or Ctrl + wheel; hover a slice for its details</span></div><div id=\"info\">hover a slice, an arrow or a counter</div>\n"u8);
        w.Raw("<figure><div class=\"scroll\">"u8);
        Svg(w, tl);
        w.Raw("</div><figcaption>"u8).Text("Tracks: one per simulated process (a slice per call, waits inside), one per fence context (a slice per fence from dma_fence_init to dma_fence_signaled), then the counters.")
         .Raw("</figcaption></figure>\n"u8);
        Tables(w, sum);
        w.Raw("<script>"u8).Raw(Script).Raw("</script>\n</body></html>\n"u8);
    }

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

    private static void Svg(HtmlUtf8Writer w, Timeline tl)
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
        w.Raw("<svg id=\"tl\" class=\"tl\" xmlns=\"http://www.w3.org/2000/svg\" width=\""u8).Num(width).Raw("\" height=\""u8).Num(height)
         .Raw("\" data-w=\""u8).Num(LabelW + plotW).Raw("\" data-l=\""u8).Int(LabelW).Raw("\" role=\"img\" aria-label=\""u8).Text(tl.Title).Raw(" timeline\">"u8);
        w.Raw("<defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#f6f8fa\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#d0d7de\" stroke-width=\"2\"/></pattern>"u8)
         .Raw("<marker id=\"ah\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0 0 L8 4 L0 8 z\" fill=\"#bf8700\"/></marker>"u8)
         .Raw("<marker id=\"ahb\" viewBox=\"0 0 8 8\" refX=\"7\" refY=\"4\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\"><path d=\"M0 0 L8 4 L0 8 z\" fill=\"#1a7f37\"/></marker></defs>"u8);
        // Row backgrounds and labels.
        int n = 0;
        foreach (var t in order)
        {
            double h = RowHeight(t, levels);
            bool fence = t.Kind == TimelineTrackKind.Fence;
            w.Raw(n++ % 2 == 1 ? "<rect class=\"row alt\" x=\"0\" y=\""u8 : "<rect class=\"row\" x=\"0\" y=\""u8).Num(rowY[t.Id] - 2)
             .Raw("\" width=\"100%\" height=\""u8).Num(h + 4).Raw("\"/>"u8);
            w.Raw(fence ? "<text class=\"small\" x=\"6\" y=\""u8 : "<text class=\"lbl\" x=\"6\" y=\""u8).Num(rowY[t.Id] + (fence ? 11 : 13))
             .Raw("\">"u8).Text(Trim(t.Name, 28)).Raw("</text>"u8);
            if (t.Kind == TimelineTrackKind.Process)
            {
                w.Raw("<text class=\"small\" x=\"6\" y=\""u8).Num(rowY[t.Id] + 24).Raw("\">"u8).Text(Trim(t.ProcessName, 32)).Raw("</text>"u8);
            }
        }
        // Axis ticks and compressed gaps.
        w.Raw("<line class=\"axis\" x1=\""u8).Int(LabelW).Raw("\" y1=\""u8).Int(AxisH - 4).Raw("\" x2=\""u8).Num(LabelW + plotW).Raw("\" y2=\""u8).Int(AxisH - 4)
         .Raw("\" data-x=\""u8).Int(LabelW).Raw("\" data-x2=\""u8).Num(LabelW + plotW).Raw("\"/>"u8);
        const int Ticks = 10;
        for (int k = 0; k <= Ticks; k++)
        {
            double v = axis.Total * k / Ticks;
            double x = LabelW + (plotW * k / Ticks);
            long t = axis.T(v);
            w.Raw("<line class=\"grid\" x1=\""u8).Num(x).Raw("\" y1=\""u8).Int(AxisH - 8).Raw("\" x2=\""u8).Num(x).Raw("\" y2=\""u8).Num(height)
             .Raw("\" data-x=\""u8).Num(x).Raw("\" data-x2=\""u8).Num(x).Raw("\"/>"u8);
            w.Raw("<text class=\"small\" x=\""u8).Num(x).Raw("\" y=\""u8).Int(AxisH - 10).Raw("\" data-x=\""u8).Num(x).Raw("\">+"u8).Duration(t - tl.Begin).Raw("</text>"u8);
        }
        foreach (var (from, to, v0, v1) in axis.Gaps)
        {
            double x0 = LabelW + (v0 / axis.Total * plotW);
            double gw = (v1 - v0) / axis.Total * plotW;
            double need = GapNeed(to - from);
            w.Raw("<rect class=\"gap\" x=\""u8).Num(x0).Raw("\" y=\""u8).Int(AxisH - 2).Raw("\" width=\""u8).Num(gw).Raw("\" height=\""u8).Num(countersY - AxisH)
             .Raw("\" data-x=\""u8).Num(x0).Raw("\" data-w=\""u8).Num(gw).Raw("\" opacity=\"0.7\"><title>"u8).Duration(to - from).Raw(" drawn shortened</title></rect>"u8);
            w.Raw("<text class=\"gaplbl\" x=\""u8).Num(x0 + 2).Raw("\" y=\""u8).Num(countersY - 2).Raw("\" data-x=\""u8).Num(x0 + 2).Raw("\" data-max=\""u8).Num(gw)
             .Raw("\" data-need=\""u8).Num(need).Raw(gw < need ? "\" style=\"display:none\">"u8 : "\">"u8).Duration(to - from).Raw("</text>"u8);
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
            double sw = X(s.End) - x0;
            w.Raw("<rect class=\""u8).Raw(s.Category);
            if (s.Error)
            {
                w.Raw(" error"u8);
            }
            if (s.Category == "fence" && HasArg(s.Store, s.ArgRange, "signaled"u8, "false"u8))
            {
                w.Raw(" unsignalled"u8);
            }
            w.Raw("\" x=\""u8).Num(x0).Raw("\" y=\""u8).Num(sy).Raw("\" width=\""u8).Num(Math.Max(sw, 0.8)).Raw("\" height=\""u8).Num(sh)
             .Raw("\" rx=\"2\" data-x=\""u8).Num(x0).Raw("\" data-w=\""u8).Num(sw).Raw("\"><title>"u8);
            Tip(w, tl, s);
            w.Raw("</title></rect>"u8);
            if (depth[k] == 0 && s.Category != "signal")
            {
                double ty = s.Category == "fence" ? sy + 11 : sy + 12;
                var label = s.Name.StartsWith("DRM_IOCTL_", StringComparison.Ordinal) ? s.Name.AsSpan(10) : s.Name.AsSpan();
                double need = (label.Length * 6.2) + 6;
                w.Raw("<text class=\"in\" x=\""u8).Num(x0 + 3).Raw("\" y=\""u8).Num(ty).Raw("\" data-x=\""u8).Num(x0 + 3).Raw("\" data-max=\""u8).Num(sw)
                 .Raw("\" data-need=\""u8).Num(need).Raw(sw < need ? "\" style=\"display:none\">"u8 : "\">"u8).Text(label).Raw("</text>"u8);
            }
        }
        // Instants: WARNs (triangles), kernel trace records (ticks), notes (dots).
        foreach (var i in tl.Instants)
        {
            double x = X(i.Ts);
            double by = rowY[i.Track] + RowH - 4;
            switch (i.Category)
            {
                case "warn":
                    w.Raw("<polygon class=\"warn\" points=\""u8).Num(x - 4).Raw(","u8).Num(by).Raw(" "u8).Num(x + 4).Raw(","u8).Num(by).Raw(" "u8).Num(x).Raw(","u8).Num(by - 7)
                     .Raw("\" data-x=\""u8).Num(x).Raw("\" data-y=\""u8).Num(by).Raw("\"><title>"u8);
                    InstantTip(w, tl, i);
                    w.Raw("</title></polygon>"u8);
                    break;
                case "kernel":
                    w.Raw("<line class=\"kern\" x1=\""u8).Num(x).Raw("\" y1=\""u8).Num(by).Raw("\" x2=\""u8).Num(x).Raw("\" y2=\""u8).Num(by + 4)
                     .Raw("\" data-x=\""u8).Num(x).Raw("\" data-x2=\""u8).Num(x).Raw("\"><title>"u8);
                    InstantTip(w, tl, i);
                    w.Raw("</title></line>"u8);
                    break;
                default:
                    w.Raw("<rect class=\"note\" x=\""u8).Num(x - 1.5).Raw("\" y=\""u8).Num(rowY[i.Track] - 2).Raw("\" width=\"3\" height=\"3\" data-x=\""u8).Num(x - 1.5)
                     .Raw("\" data-w=\"3\"><title>"u8);
                    InstantTip(w, tl, i);
                    w.Raw("</title></rect>"u8);
                    break;
            }
        }
        // Flows.
        foreach (var f in tl.Flows)
        {
            bool fence = f.Category == "fence";
            for (int k = 1; k < f.Slices.Count; k++)
            {
                int a = f.Slices[k - 1];
                int b = f.Slices[k];
                double x1 = X(tl.AnchorOf(a));
                double x2 = X(tl.AnchorOf(b));
                double y1 = sumY[a];
                double y2 = sumY[b];
                double m = (x1 + x2) / 2;
                w.Raw(fence ? "<path class=\"flow fence\" marker-end=\"url(#ah)\" d=\"M"u8 : "<path class=\"flow buffer\" marker-end=\"url(#ahb)\" d=\"M"u8)
                 .Num(x1).Raw(" "u8).Num(y1).Raw(" C"u8).Num(m).Raw(" "u8).Num(y1).Raw(" "u8).Num(m).Raw(" "u8).Num(y2).Raw(" "u8).Num(x2).Raw(" "u8).Num(y2)
                 .Raw("\" data-x=\""u8).Num(x1).Raw("\" data-x2=\""u8).Num(x2).Raw("\" data-y1=\""u8).Num(y1).Raw("\" data-y2=\""u8).Num(y2).Raw("\"><title>"u8)
                 .Text(f.Name).Raw(": "u8).Text(f.Labels[k - 1]).Raw(" \u2192 "u8).Text(f.Labels[k]).Raw("</title></path>"u8);
            }
        }
        // Counters.
        double cy = countersY;
        var pts = new List<(double X, double Y)>();
        foreach (var c in counters)
        {
            if (c.Samples.Count == 1)
            {
                w.Raw("<rect class=\"row alt\" x=\"0\" y=\""u8).Num(cy).Raw("\" width=\"100%\" height=\"18\"/>"u8);
                w.Raw("<text class=\"small\" x=\"6\" y=\""u8).Num(cy + 13).Raw("\">"u8).Text(c.Name).Raw(": "u8);
                Human(w, c.Samples[0].Value, c.Unit);
                w.Raw(" throughout</text>"u8);
                cy += 20;
                continue;
            }
            long peak = c.Samples.Max(s => s.Value);
            long max = Math.Max(1, peak);
            long min = Math.Min(0, c.Samples.Min(s => s.Value));
            double Y(long v) => cy + CounterH - 4 - ((double)(v - min) / (max - min) * (CounterH - 14));
            pts.Clear();
            double lastY = Y(c.Samples[0].Value);
            foreach (var (ts, v) in c.Samples)
            {
                double x = X(ts);
                pts.Add((x, lastY));
                lastY = Y(v);
                pts.Add((x, lastY));
            }
            pts.Add((LabelW + plotW, lastY));
            double baseY = cy + CounterH - 4;
            w.Raw("<rect class=\"row\" x=\"0\" y=\""u8).Num(cy).Raw("\" width=\"100%\" height=\""u8).Int(CounterH).Raw("\"/>"u8);
            w.Raw("<path class=\"carea\" d=\""u8);
            PathD(w, pts);
            w.Raw(" L"u8).Num(LabelW + plotW).Raw(" "u8).Num(baseY).Raw(" L"u8).Num(pts[0].X).Raw(" "u8).Num(baseY).Raw(" Z\" data-x=\""u8).Num(pts[0].X).Raw("\" data-d=\""u8);
            PathData(w, pts);
            w.Raw("\" data-xe=\""u8).Num(LabelW + plotW).Raw("\" data-close=\""u8).Num(baseY).Raw("\"/>"u8);
            w.Raw("<path class=\"cline\" d=\""u8);
            PathD(w, pts);
            w.Raw("\" data-x=\""u8).Num(pts[0].X).Raw("\" data-d=\""u8);
            PathData(w, pts);
            w.Raw("\"><title>"u8);
            CounterTip(w, c);
            w.Raw("</title></path>"u8);
            w.Raw("<text class=\"lbl\" x=\"6\" y=\""u8).Num(cy + 16).Raw("\">"u8).Text(Trim(c.Name, 28)).Raw("</text>"u8);
            w.Raw("<text class=\"small\" x=\"6\" y=\""u8).Num(cy + 30).Raw("\">peak "u8);
            Human(w, peak, c.Unit);
            w.Raw(", end "u8);
            Human(w, c.Samples[^1].Value, c.Unit);
            w.Raw("</text>"u8);
            cy += CounterH + 6;
        }
        w.Raw("</svg>"u8);
    }

    // A counter's points as an SVG path (M x y L x y ...) and as the script's data (x,y x,y ...).
    private static void PathD(HtmlUtf8Writer w, List<(double X, double Y)> pts)
    {
        for (int i = 0; i < pts.Count; i++)
        {
            w.Raw(i == 0 ? "M"u8 : " L"u8).Num(pts[i].X).Raw(" "u8).Num(pts[i].Y);
        }
    }

    private static void PathData(HtmlUtf8Writer w, List<(double X, double Y)> pts)
    {
        for (int i = 0; i < pts.Count; i++)
        {
            if (i > 0)
            {
                w.Raw(" "u8);
            }
            w.Num(pts[i].X).Raw(","u8).Num(pts[i].Y);
        }
    }

    private static double RowHeight(TimelineTrack t, int[] levels) =>
        t.Kind == TimelineTrackKind.Fence ? FenceH : Math.Max((Math.Max(levels[t.Id], 1) * (RowH - 6)) + 4, 30);

    private static double GapNeed(long ns) => (TimelineSummary.Duration(ns, stackalloc char[40]).Length * 5.6) + 6;

    private static void Human(HtmlUtf8Writer w, long v, string unit)
    {
        if (unit != "bytes")
        {
            w.Int(v).Raw(" "u8).Text(unit);
        }
        else if (v >= 1 << 20)
        {
            w.Num(v / 1048576.0).Raw(" MiB"u8);
        }
        else if (v >= 1 << 10)
        {
            w.Num(v / 1024.0).Raw(" KiB"u8);
        }
        else
        {
            w.Int(v).Raw(" B"u8);
        }
    }

    private static void CounterTip(HtmlUtf8Writer w, TimelineCounter c)
    {
        w.Text(c.Name).Raw(": "u8);
        int n = Math.Min(c.Samples.Count, 40);
        for (int i = 0; i < n; i++)
        {
            if (i > 0)
            {
                w.Raw(", "u8);
            }
            Human(w, c.Samples[i].Value, c.Unit);
        }
        if (c.Samples.Count > 40)
        {
            w.Raw(", \u2026"u8);
        }
    }

    private static string Trim(string s, int n) => s.Length > n ? s[..(n - 1)] + "…" : s;

    // True when the stored argument set has key = value (a string's text, or a number's or literal's JSON).
    private static bool HasArg(TimelineArgStore? store, TimelineArgRange range, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (store is null || range.IsEmpty)
        {
            return false;
        }
        var r = new Utf8JsonReader(store.Get(range));
        r.Read(); // {
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            bool match = r.ValueTextEquals(key);
            r.Read();
            if (match)
            {
                return r.TokenType == JsonTokenType.String ? r.ValueTextEquals(value) : r.ValueSpan.SequenceEqual(value);
            }
        }
        return false;
    }

    // A call's hover text: name (i=N) @ +start, duration, then one line per argument but i.
    private static void Tip(HtmlUtf8Writer w, Timeline tl, TimelineSlice s)
    {
        w.Text(s.Name);
        if (s.Index >= 0)
        {
            w.Raw(" (i="u8).Int(s.Index).Raw(")"u8);
        }
        w.Raw(" @ +"u8).Duration(s.Start - tl.Begin).Raw(", "u8).Duration(s.Dur);
        if (s.Store is null || s.ArgRange.IsEmpty)
        {
            return;
        }
        var r = new Utf8JsonReader(s.Store.Get(s.ArgRange));
        r.Read(); // {
        while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
        {
            if (r.ValueTextEquals("i"u8))
            {
                r.Read();
                r.Skip();
                continue;
            }
            w.Raw("\n"u8).JsonValue(ref r).Raw(" = "u8);
            r.Read();
            w.JsonValue(ref r);
        }
    }

    // An instant's hover text: name key=value ... @ +time.
    private static void InstantTip(HtmlUtf8Writer w, Timeline tl, TimelineInstant i)
    {
        w.Text(i.Name);
        if (!i.ArgRange.IsEmpty)
        {
            var r = new Utf8JsonReader(i.Store.Get(i.ArgRange));
            r.Read(); // {
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                w.Raw(" "u8).JsonValue(ref r).Raw("="u8);
                r.Read();
                w.JsonValue(ref r);
            }
        }
        w.Raw(" @ +"u8).Duration(i.Ts - tl.Begin);
    }

    private static void Tables(HtmlUtf8Writer w, TimelineSummary sum)
    {
        w.Raw("<h2>Processes</h2><table class=\"facts\"><tr><th>process</th><th>calls</th><th>errors</th><th>longest waits</th></tr>"u8);
        foreach (var p in sum.Processes)
        {
            w.Raw("<tr><td>"u8).Text(p.Name).Raw("</td><td>"u8).Int(p.Calls).Raw("</td><td>"u8);
            if (p.Errors > 0)
            {
                w.Raw("<span class=\"err\">"u8).Int(p.Errors).Raw("</span>"u8);
            }
            else
            {
                w.Raw("0"u8);
            }
            w.Raw("</td><td>"u8);
            if (p.LongestWaits.Count == 0)
            {
                w.Raw("none"u8);
            }
            for (int k = 0; k < p.LongestWaits.Count; k++)
            {
                var (call, i, waitNs) = p.LongestWaits[k];
                w.Raw(k > 0 ? "; "u8 : ""u8).Duration(waitNs).Raw(" in "u8).Text(call).Raw(" i="u8).Int(i);
            }
            w.Raw("</td></tr>"u8);
        }
        w.Raw("</table>\n<h2>Fences</h2>"u8);
        if (sum.Fences.Count == 0)
        {
            w.Raw("<p class=\"sub\">No fence was initialised.</p>"u8);
        }
        else
        {
            w.Raw("<table class=\"facts\"><tr><th>track</th><th>fence</th><th>driver</th><th>init</th><th>signalled</th><th>waiters</th></tr>"u8);
            foreach (var f in sum.Fences)
            {
                w.Raw("<tr><td>"u8).Text(f.Track).Raw("</td><td>"u8).Text(f.Name).Raw("</td><td>"u8).Text(f.Driver).Raw("</td><td>+"u8)
                 .Duration(f.Init - sum.Timeline.Begin).Raw("</td><td>"u8);
                if (f.Signal is { } s)
                {
                    w.Raw("+"u8).Duration(s - sum.Timeline.Begin);
                }
                else
                {
                    w.Raw("never"u8);
                }
                w.Raw("</td><td>"u8).Int(f.Waiters).Raw("</td></tr>"u8);
            }
            w.Raw("</table>"u8);
        }
        w.Raw("\n<h2>Buffers</h2>"u8);
        if (sum.Timeline.Buffers.Count == 0)
        {
            w.Raw("<p class=\"sub\">No GEM object or dma-buf was created.</p>"u8);
        }
        else
        {
            w.Raw("<table class=\"facts\"><tr><th>#</th><th>buffer</th><th>created</th><th>released</th><th>lifetime</th><th>held by</th><th>life</th></tr>"u8);
            foreach (var r in sum.BufferRows())
            {
                w.Raw("<tr>"u8);
                foreach (var c in r)
                {
                    w.Raw("<td>"u8).Text(c).Raw("</td>"u8);
                }
                w.Raw("</tr>"u8);
            }
            w.Raw("</table>"u8);
        }
        w.Raw("\n"u8);
    }
}
