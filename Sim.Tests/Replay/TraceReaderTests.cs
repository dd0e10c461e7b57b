using System.Text.Json;
using Sim.Core.Replay;
using Xunit;

namespace Sim.Tests.Replay;

public class TraceReaderTests
{
    private static TraceReader Open(string text, string name = "t.jsonl") => new(new StringReader(text), name, name);

    [Theory]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("\"0xffffffffffffffff\"", ulong.MaxValue)]
    [InlineData("\"18446744073709551615\"", ulong.MaxValue)]
    [InlineData("\"0x7fffffffffffffff\"", 0x7fffffffffffffffUL)]
    [InlineData("4096", 4096UL)]
    [InlineData("\"0x1000\"", 4096UL)]
    [InlineData("\"4096\"", 4096UL)]
    [InlineData("-1", ulong.MaxValue)]
    [InlineData("9007199254740993", 9007199254740993UL)]
    public void NumberFormsReadWithoutLoss(string json, ulong expected)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.True(TraceNumber.TryGetU64(doc.RootElement, out ulong v));
        Assert.Equal(expected, v);
    }

    [Theory]
    [InlineData("\"0x\"")]
    [InlineData("\"0x10000000000000000\"")]
    [InlineData("\"12a\"")]
    [InlineData("\"\"")]
    [InlineData("1.5")]
    [InlineData("true")]
    [InlineData("null")]
    public void NonIntegersAreRejected(string json)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.False(TraceNumber.TryGetU64(doc.RootElement, out _));
    }

    [Fact]
    public void SignedReadKeepsNegativeReturns()
    {
        using var doc = JsonDocument.Parse("[-22, \"-110\", \"0xffffffffffffffea\"]");
        var a = doc.RootElement;
        Assert.True(TraceNumber.TryGetI64(a[0], out long x));
        Assert.Equal(-22, x);
        Assert.True(TraceNumber.TryGetI64(a[1], out x));
        Assert.Equal(-110, x);
        Assert.True(TraceNumber.TryGetI64(a[2], out x));
        Assert.Equal(-22, x);
    }

    [Fact]
    public void MinimalHeaderIsEnough()
    {
        using var r = Open("{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"i\":0,\"op\":\"x\",\"args\":{\"a\":\"0x10\"},\"result\":{\"ret\":-22}}\n");
        Assert.Equal(DataFileKind.Trace, r.Kind);
        var evs = r.Events().Select(e => (e.I, e.Op, e.ArgU64("a"), e.Ret)).ToList();
        Assert.Equal([(0L, "x", 16UL, -22L)], evs);
    }

    [Theory]
    [InlineData("{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"i\":0,\"op\":\"a\"}\n{\"i\":1,\"op\":\n", 3, "bad JSON")]
    [InlineData("{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"i\":0,\"op\":\"a\"}\n{\"i\":2,\"op\":\"b\"}\n", 3, "out of sequence")]
    [InlineData("{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"op\":\"a\"}\n", 2, "'i'")]
    [InlineData("{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"i\":0}\n", 2, "'op'")]
    [InlineData("{\"format\":\"other\",\"version\":1}\n", 1, "unknown format")]
    [InlineData("{\"format\":\"dmabuf-trace\",\"version\":3}\n", 1, "unsupported version")]
    [InlineData("{\"format\":\"dmabuf-trace\"}\n", 1, "'version'")]
    [InlineData("", 1, "empty file")]
    [InlineData("{\"format\":\"dmabuf-trace\",\"version\":1}\n{\"i\":0,\"op\":\"a\",\"args\":{\"during\":5}}\n", 2, "during")]
    public void MalformedTracesNameFileAndLine(string text, int line, string what)
    {
        var ex = Assert.Throws<TraceFormatException>(() =>
        {
            using var r = Open(text, "bad.jsonl");
            foreach (var _ in r.Events())
            {
            }
        });
        Assert.Equal(line, ex.Line);
        Assert.StartsWith($"bad.jsonl:{line}:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(what, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelSideEventsAttachToTheirUserEvent()
    {
        const string text = "{\"format\":\"dmabuf-trace\",\"version\":1}\n" +
            "{\"i\":0,\"op\":\"DRM_IOCTL_MODE_CREATE_DUMB\"}\n" +
            "{\"i\":1,\"op\":\"cma_alloc_start\",\"args\":{\"during\":0}}\n" +
            "{\"i\":2,\"op\":\"cma_alloc_finish\",\"args\":{\"during\":0}}\n" +
            "{\"i\":3,\"op\":\"close\"}\n";
        using var r = Open(text);
        var evs = r.Events().Select(e => (e.Op, string.Join(",", e.KernelSide.Select(k => k.Op)))).ToList();
        Assert.Equal([("DRM_IOCTL_MODE_CREATE_DUMB", "cma_alloc_start,cma_alloc_finish"), ("close", "")], evs);
    }

    [Fact]
    public void VectorFilesAreRecognisedByNameOrKeys()
    {
        using (var r = Open("{\"id\":\"a\",\"sg\":[],\"address\":0,\"length\":1,\"page_size\":4096,\"expect\":{}}\n", "sg_trim_x.jsonl"))
        {
            Assert.Equal(DataFileKind.SgTrimVectors, r.Kind);
            Assert.Equal(["sg_trim"], r.Events().Select(e => e.Op).ToList());
        }
        using (var r = Open("{\"id\":\"b\",\"pfns\":[1],\"offset\":0,\"size\":1,\"max_segment\":4096,\"expect\":{\"ret\":0}}\n", "mine.jsonl"))
        {
            Assert.Equal(DataFileKind.SgPagesVectors, r.Kind);
            var e = Assert.Single(r.Events());
            Assert.Equal(0, e.Ret);
        }
    }

    [Fact]
    public void VectorLineWithoutExpectNamesTheField()
    {
        var ex = Assert.Throws<TraceFormatException>(() =>
        {
            using var r = Open("{\"id\":\"a\",\"sg\":[],\"expect\":{}}\n{\"id\":\"b\",\"sg\":[]}\n", "sg_trim.jsonl");
            foreach (var _ in r.Events())
            {
            }
        });
        Assert.Equal(2, ex.Line);
        Assert.Equal("expect", ex.Field);
    }

    [Fact]
    public void EveryBundledFileReads()
    {
        var data = Sim.Machine.DataLocator.FindDataDir();
        Assert.NotNull(data);
        int files = 0;
        foreach (var f in Sim.Core.Replay.ReplayEngine.ExpandPaths([Path.Combine(data, "traces"), Path.Combine(data, "vectors")]))
        {
            using var r = new TraceReader(f);
            long n = r.Events().LongCount();
            Assert.True(n > 0, f);
            files++;
        }
        Assert.True(files >= 46, $"only {files} files");
    }
}
