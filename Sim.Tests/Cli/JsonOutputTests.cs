using System.Text.Json;
using Sim.Machine;
using Sim.Reliability;
using Xunit;

namespace Sim.Tests.Cli;

/// <summary>
/// <c>--json</c> of the verbs that end in a result: JSON Lines, one object per item, then a last
/// <c>{"type":"summary",...}</c> object carrying the same figures as the text output.
/// </summary>
public class JsonOutputTests
{
    private static List<JsonElement> Lines(string text) =>
        [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    [Theory]
    [InlineData("cma")]
    [InlineData("pages")]
    public void Importer_test_json_is_one_summary_with_the_pr_info_figures(string exporter)
    {
        var text = new StringWriter();
        Assert.Equal(0, ImporterTest.Run(exporter, 640, 480, 32, text, TextWriter.Null));
        var json = new StringWriter();
        Assert.Equal(0, ImporterTest.Run(exporter, 640, 480, 32, json, TextWriter.Null, json: true));
        var lines = Lines(json.ToString());
        var s = Assert.Single(lines);
        Assert.Equal("summary", s.GetProperty("type").GetString());
        Assert.Equal(exporter, s.GetProperty("exporter").GetString());
        Assert.Equal(0, s.GetProperty("ret").GetInt32());
        // The text line: "reg_addr = 0x........, reg_size = 0x........"
        Assert.StartsWith($"reg_addr = {s.GetProperty("reg_addr").GetString()}, reg_size = {s.GetProperty("reg_size").GetString()}\n", text.ToString(), StringComparison.Ordinal);
        // 640 x 480 x 32 bpp: 1,228,800 bytes; the CMA exporter maps it as one contiguous entry of that size.
        if (exporter == "cma")
        {
            Assert.Equal("0x0012c000", s.GetProperty("reg_size").GetString());
            Assert.Equal(1, s.GetProperty("nents").GetInt32());
        }
    }

    [Fact]
    public void Importer_test_json_reports_the_failing_step()
    {
        // bpp 0: drm_mode_create_dumb rejects it with -EINVAL (drm_dumb_buffers.c: !args->bpp).
        var json = new StringWriter();
        Assert.Equal(1, ImporterTest.Run("cma", 640, 480, 0, json, TextWriter.Null, json: true));
        var s = Assert.Single(Lines(json.ToString()));
        Assert.Equal("summary", s.GetProperty("type").GetString());
        Assert.Equal(-22, s.GetProperty("ret").GetInt32());
        Assert.Equal("DRM_IOCTL_MODE_CREATE_DUMB", s.GetProperty("step").GetString());
    }

    [Fact]
    public void Stress_json_is_one_object_per_operation_kind_then_the_summary()
    {
        var json = new StringWriter();
        Assert.Equal(0, StressRun.Run(300, 3, json, json: true));
        var lines = Lines(json.ToString());
        var summary = lines[^1];
        Assert.Equal("summary", summary.GetProperty("type").GetString());
        Assert.Equal(300, summary.GetProperty("ops").GetInt64());
        Assert.Equal(3, summary.GetProperty("seed").GetInt32());
        Assert.Equal(0, summary.GetProperty("violations").GetInt32());
        var ops = lines[..^1];
        Assert.NotEmpty(ops);
        Assert.All(ops, o => Assert.Equal("op", o.GetProperty("type").GetString()));
        Assert.All(ops, o => Assert.True(o.GetProperty("succeeded").GetInt64() <= o.GetProperty("calls").GetInt64()));
        // The same operation kinds and counts as the text table.
        var text = new StringWriter();
        StressRun.Run(300, 3, text);
        foreach (var o in ops)
        {
            Assert.Contains($" {o.GetProperty("calls").GetInt64(),9} calls {o.GetProperty("succeeded").GetInt64(),9} succeeded", text.ToString(), StringComparison.Ordinal);
        }
    }
}
