using System.Text.Json;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Replay;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// Acceptance: the CMA allocator, driven with every <c>cma_alloc_start</c> / <c>cma_release</c> of a cma-arm trace
/// in file order, fires exactly the traced <c>cma:*</c> tracepoints (same fields, same order, pfn/ret of every
/// <c>cma_alloc_finish</c>) and shows the traced <c>cma_state</c> after every <c>after</c> point. Every expected
/// value is read from the trace file.
/// </summary>
public class CmaTraceAcceptanceTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(TraceDir(), "*.jsonl").OrderBy(x => x, StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    private static string TraceDir() =>
        Path.Combine(Sim.Machine.DataLocator.FindDataDir() ?? throw new InvalidOperationException("data folder not found"), "traces", "linux-6.1-cma-arm");

    [Fact]
    public void AllEightSharedFilesAreThere() => Assert.Equal(8, Files().Count);

    [Theory]
    [MemberData(nameof(Files))]
    public void CmaAllocatorReproducesTheTrace(string file)
    {
        var lines = File.ReadAllLines(Path.Combine(TraceDir(), file));
        using var header = JsonDocument.Parse(lines[0]);
        var options = MachineOptions.FromHeader(header.RootElement);
        if (header.RootElement.GetProperty("machine_config").TryGetProperty("kernel_cmdline", out var cl))
        {
            options.Apply(cl.GetString()!, strict: false);
        }
        var trace = new KernelTrace();
        using var recorder = trace.Record();
        var dma = new DmaContiguous(options, trace);
        var cma = Assert.IsType<Sim.Core.Mm.Cma>(dma.DefaultArea);

        var expected = new List<(int Line, JsonElement Ev)>();
        int states = 0, finishes = 0;
        var docs = new List<JsonDocument>();
        try
        {
            for (int n = 1; n < lines.Length; n++)
            {
                var doc = JsonDocument.Parse(lines[n]);
                docs.Add(doc);
                var ev = doc.RootElement;
                var args = ev.GetProperty("args");
                var result = ev.GetProperty("result");
                switch (ev.GetProperty("op").GetString())
                {
                    case "cma_alloc_start":
                        expected.Add((n + 1, ev));
                        // The GEM DMA helper's dma_alloc_wc passes __GFP_NOWARN.
                        cma.Alloc(U64(args, "count"), (uint)U64(args, "align"), noWarn: true);
                        break;
                    case "cma_alloc_finish":
                        expected.Add((n + 1, ev));
                        finishes++;
                        break;
                    case "cma_release":
                        expected.Add((n + 1, ev));
                        Assert.True(cma.Release(U64(args, "pfn"), U64(args, "count")), $"{file}:{n + 1}: cma_release refused");
                        break;
                    case "cma_state":
                        states++;
                        var s = cma.GetState();
                        string where = $"{file}:{n + 1} cma_state after={args.GetProperty("after").GetInt64()}";
                        Assert.True(U64(result, "base_pfn") == s.BasePfn, where + ": base_pfn");
                        Assert.True(U64(result, "count") == s.Count, where + ": count");
                        Assert.True(U64(result, "order_per_bit") == (ulong)s.OrderPerBit, where + ": order_per_bit");
                        Assert.True(U64(result, "used") == s.Used, $"{where}: used expected {U64(result, "used")} got {s.Used}");
                        Assert.True(U64(result, "maxchunk") == s.MaxChunk, $"{where}: maxchunk expected {U64(result, "maxchunk")} got {s.MaxChunk}");
                        Assert.True(result.GetProperty("bitmap").GetString() == s.Bitmap, where + ": bitmap differs");
                        break;
                }
            }
            var records = recorder.Records;
            Assert.True(states > 0 && finishes > 0, file + ": nothing compared");
            Assert.True(expected.Count == records.Count, $"{file}: {expected.Count} traced cma events, model fired {records.Count}");
            for (int k = 0; k < expected.Count; k++)
            {
                var (line, ev) = expected[k];
                var rec = records[k];
                string op = ev.GetProperty("op").GetString()!;
                Assert.True(op == rec.Op, $"{file}:{line}: expected {op}, model fired {rec}");
                var args = ev.GetProperty("args");
                var result = ev.GetProperty("result");
                Assert.Equal(args.GetProperty("name").GetString(), (string?)rec["name"]);
                Assert.True(U64(args, "count") == rec.U64("count"), $"{file}:{line}: count");
                if (op != "cma_release")
                {
                    Assert.True(U64(args, "align") == rec.U64("align"), $"{file}:{line}: align");
                }
                if (op == "cma_release")
                {
                    Assert.True(U64(args, "pfn") == rec.U64("pfn"), $"{file}:{line}: pfn");
                }
                if (op == "cma_alloc_finish")
                {
                    Assert.True(U64(result, "pfn") == rec.U64("pfn"), $"{file}:{line}: pfn expected 0x{U64(result, "pfn"):x} got 0x{rec.U64("pfn"):x}");
                    Assert.True(result.GetProperty("page_null").GetBoolean() == (bool)rec["page_null"]!, $"{file}:{line}: page_null");
                    Assert.True(result.GetProperty("ret").GetInt64() == rec.I64("ret"), $"{file}:{line}: ret");
                }
            }
        }
        finally
        {
            foreach (var d in docs)
            {
                d.Dispose();
            }
        }
    }

    private static ulong U64(JsonElement obj, string name) =>
        TraceNumber.TryGetU64(obj.GetProperty(name), out ulong v) ? v : throw new FormatException(name);
}
