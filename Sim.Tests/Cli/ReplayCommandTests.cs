using System.Text.Json;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.Cli;

public sealed class ReplayCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dmabufsim-test").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    private static (int Code, string Out, string Err) Run(params string[] paths) => RunWith(false, false, paths);

    private static (int Code, string Out, string Err) RunWith(bool json, bool allowSkipped, params string[] paths)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ReplayRun.Run(paths, json, verbose: false, allowSkipped, machine: null, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void BrokenLineThreeNamesFileAndLineAndExits2()
    {
        var p = Write("broken.jsonl", "{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"i\":0,\"op\":\"nobody_models_this\"}\n{\"i\":1,\"op\":oops}\n");
        var (code, _, err) = Run(p);
        Assert.Equal(2, code);
        Assert.Contains("broken.jsonl:3:", err, StringComparison.Ordinal);
    }

    [Fact]
    public void UnmodelledOpIsSkippedUnderItsNameAndExits1()
    {
        var p = Write("skip.jsonl", "{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"i\":0,\"op\":\"nobody_models_this\"}\n{\"i\":1,\"op\":\"note\"}\n");
        var (code, stdout, _) = RunWith(json: true, allowSkipped: false, p);
        Assert.Equal(1, code);
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.StartsWith("{\"passed\":0,\"failed\":0,\"skipped\":1,\"type\":\"summary\"", lines[^1], StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(lines[0]);
        Assert.Equal(1, doc.RootElement.GetProperty("ops").GetProperty("nobody_models_this").GetProperty("skipped").GetInt32());
        Assert.False(doc.RootElement.GetProperty("ops").TryGetProperty("note", out _));
        var (code2, _, _) = RunWith(json: true, allowSkipped: true, p);
        Assert.Equal(0, code2);
    }

    [Fact]
    public void MissingPathExits2()
    {
        var (code, _, err) = Run(Path.Combine(_dir, "nope.jsonl"));
        Assert.Equal(2, code);
        Assert.Contains("no such file", err, StringComparison.Ordinal);
    }

    [Fact]
    public void BadMachineOptionExits2()
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ReplayRun.Run([], json: false, verbose: false, allowSkipped: true, machine: "mem=banana", o, e);
        Assert.Equal(2, code);
        Assert.Contains("mem=banana", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void JsonPrintsOneObjectPerBundledFileThenTheClosingLine()
    {
        var (_, stdout, _) = RunWith(json: true, allowSkipped: true);
        var lines = stdout.TrimEnd('\n').Split('\n');
        Assert.Matches(@"^\{""passed"":\d+,""failed"":\d+,""skipped"":\d+,""type"":""summary""", lines[^1]);
        var data = DataLocator.FindDataDir()!;
        int files = Sim.Core.Replay.ReplayEngine.ExpandPaths(DataLocator.DefaultReplayPaths(data)).Count;
        Assert.Equal(files, lines.Length - 1);
        foreach (var l in lines[..^1])
        {
            using var doc = JsonDocument.Parse(l);
            Assert.True(doc.RootElement.TryGetProperty("file", out _));
        }
    }
}
