using System.Text.Json;
using Xunit;

namespace Sim.Tests.Docs;

/// <summary>
/// docs/trace-format.schema.json against every bundled data file: line 1 of a trace is a <c>header</c>, every
/// later line an <c>event</c>; the vector files' lines are <c>sgTrimVector</c> / <c>sgPagesVector</c> by file
/// name prefix, as TraceReader tells them apart.
/// </summary>
public class TraceFormatSchemaTests
{
    private static readonly Lazy<JsonSchemaSubset> s_schema = new(() =>
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(GeneratedDoc.RepoRoot(), "docs", "trace-format.schema.json")));
        return new JsonSchemaSubset(doc.RootElement.Clone());
    });

    private static string DataDir => Path.Combine(GeneratedDoc.RepoRoot(), "data");

    /// <summary>Every .jsonl file under data/, relative to it.</summary>
    public static TheoryData<string> DataFiles()
    {
        var files = new TheoryData<string>();
        foreach (var f in Directory.EnumerateFiles(DataDir, "*.jsonl", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            files.Add(Path.GetRelativePath(DataDir, f).Replace('\\', '/'));
        }
        return files;
    }

    /// <summary>
    /// The $defs entry that line <paramref name="lineNo"/> (1-based) of <paramref name="file"/> must match; the events of a
    /// trace whose header says version 2 (<paramref name="version"/>) are <c>eventV2</c>.
    /// </summary>
    public static string DefinitionFor(string file, int lineNo, int version = 1)
    {
        string name = Path.GetFileName(file);
        return name.StartsWith("sg_trim", StringComparison.Ordinal) ? "sgTrimVector"
            : name.StartsWith("sg_pages", StringComparison.Ordinal) ? "sgPagesVector"
            : lineNo == 1 ? "header" : version >= 2 ? "eventV2" : "event";
    }

    [Theory]
    [MemberData(nameof(DataFiles))]
    public void EveryLineMatchesTheSchema(string file)
    {
        var errors = new List<string>();
        int lineNo = 0;
        int version = 1;
        foreach (var line in File.ReadLines(Path.Combine(DataDir, file)))
        {
            lineNo++;
            using var doc = JsonDocument.Parse(line);
            if (lineNo == 1 && doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("version", out var v)
                && v.ValueKind == JsonValueKind.Number)
            {
                version = v.GetInt32();
            }
            foreach (var e in s_schema.Value.Validate(doc.RootElement, DefinitionFor(file, lineNo, version)))
            {
                errors.Add($"{file}:{lineNo}: {e}");
            }
            if (lineNo <= 2)
            {
                // The root schema (anyOf the four line kinds) accepts them too.
                Assert.Empty(s_schema.Value.Validate(doc.RootElement));
            }
            if (errors.Count > 20)
            {
                break;
            }
        }
        Assert.True(lineNo > 0, file + " is empty");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    // Every other file of data/ is a README or one of the raw text companions the trace READMEs describe
    // (ftrace, strace, bufinfo and the ARM kernel text under raw/): nothing JSON-like escapes the schema test.
    [Fact]
    public void DataHoldsOnlyJsonlReadmesAndTextCompanions()
    {
        foreach (var f in Directory.EnumerateFiles(DataDir, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(DataDir, f).Replace('\\', '/');
            bool known = rel.EndsWith(".jsonl", StringComparison.Ordinal) || rel.EndsWith("README.md", StringComparison.Ordinal)
                || rel.EndsWith(".txt", StringComparison.Ordinal);
            Assert.True(known, $"data/{rel}: not a trace, a vector file, a README or a text companion; describe it in docs/trace-format.md and the schema test");
        }
    }

    [Theory]
    [InlineData("event", """{"i":0,"op":"","args":{},"result":{}}""", "shorter than 1")]
    [InlineData("event", """{"i":0,"op":"close","args":{},"result":{"ret":"0xZZ"}}""", "does not match")]
    [InlineData("event", """{"i":0,"op":"close","args":{},"result":{"unlogged_after":[{"call":"reboot"}]}}""", "is not one of")]
    [InlineData("event", """{"i":0,"op":"close","args":{}}""", "missing \"result\"")]
    [InlineData("event", """{"i":-1,"op":"close","args":{},"result":{}}""", "below 0")]
    [InlineData("header", """{"format":"dmabuf-trace","version":3}""", "is not one of")]
    [InlineData("eventV2", """{"i":0,"op":"close","tid":7,"args":{},"result":{}}""", "missing \"pid\"")]
    [InlineData("eventV2", """{"i":0,"op":"close","pid":0,"tid":7,"args":{},"result":{}}""", "below 1")]
    [InlineData("eventV2", """{"i":0,"op":"sendmsg","pid":7,"tid":7,"args":{"scm_rights":[{"fd":5}]},"result":{}}""", "missing \"ino\"")]
    [InlineData("header", """{"format":"dmabuf-trace","version":1,"machine_config":{"arch":"riscv"}}""", "is not one of")]
    [InlineData("header", """{"format":"dmabuf-trace","version":1,"machine_config":{"arch":"arm","ramsize":1}}""", "property not in the schema")]
    [InlineData("sgTrimVector", """{"id":"x","sg":[{"dma_address":1,"dma_length":4294967296}],"address":0,"length":1,"page_size":4096,"expect":{"first_sg":0,"first_sg_offset":0,"last_sg":0,"last_sg_trim":0,"nmap":1,"trimmed":[]}}""", "above 4294967295")]
    [InlineData("sgPagesVector", """{"id":"x","pfns":[true],"offset":0,"size":1,"max_segment":4096,"page_size":4096,"expect":{"ret":0}}""", "$.pfns[0]: true where")]
    public void TheValidatorRejectsBrokenLines(string def, string json, string expected)
    {
        using var doc = JsonDocument.Parse(json);
        var errors = s_schema.Value.Validate(doc.RootElement, def);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}
