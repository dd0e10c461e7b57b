using System.Text;
using Sim.Reliability;
using Xunit;

namespace Sim.Tests.Reliability;

/// <summary>
/// Hostile trace and vector files: every input of the committed fuzz corpus (Fuzz/corpus/) and a few thousand
/// seeded mutations of it read cleanly or end as a TraceFormatException naming the file and the line, never
/// another exception.
/// </summary>
public class FuzzCorpusTests
{
    private static string CorpusDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "Fuzz", "corpus")))
        {
            dir = dir.Parent;
        }
        return dir is null ? throw new DirectoryNotFoundException("Fuzz/corpus not found above " + AppContext.BaseDirectory) : Path.Combine(dir.FullName, "Fuzz", "corpus");
    }

    public static TheoryData<string> CorpusFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(CorpusDir()).OrderBy(f => f, StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_input_reads_cleanly_or_fails_with_file_and_line(string file)
    {
        byte[] bytes = File.ReadAllBytes(Path.Combine(CorpusDir(), file));
        foreach (var name in TraceFuzzTarget.FileNames)
        {
            Assert.Null(TraceFuzzTarget.Check(bytes, name));
        }
    }

    [Fact]
    public void Known_bad_inputs_are_format_errors_on_their_line()
    {
        // Hand-computed: the header is line 1, so the broken event on the third line is reported as line 3.
        string header = "{\"format\":\"dmabuf-trace\",\"version\":1}\n";
        var bad = Encoding.UTF8.GetBytes(header + "{\"i\":0,\"op\":\"x\",\"args\":{},\"result\":{\"ret\":0}}\n{\"i\":1,\"op\":\n");
        var e = Assert.Throws<Sim.Core.Replay.TraceFormatException>(() =>
        {
            using var r = new Sim.Core.Replay.TraceReader(new StringReader(Encoding.UTF8.GetString(bad)), "t.jsonl", "t.jsonl");
            foreach (var _ in r.Events())
            {
            }
        });
        Assert.Equal("t.jsonl", e.File);
        Assert.Equal(3, e.Line);
    }

    [Fact]
    public void Seeded_mutations_of_the_corpus_never_escape_as_other_exceptions()
    {
        var seeds = Directory.GetFiles(CorpusDir()).OrderBy(f => f, StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        var rng = new Random(20261125);
        var failures = new List<string>();
        for (int k = 0; k < 3000 && failures.Count < 5; k++)
        {
            byte[] input = Mutate(seeds[rng.Next(seeds.Length)], rng);
            foreach (var name in TraceFuzzTarget.FileNames)
            {
                var bad = TraceFuzzTarget.Check(input, name);
                if (bad is not null)
                {
                    failures.Add($"{name} <- {Convert.ToBase64String(input)}: {bad.GetType().Name}: {bad.Message}");
                }
            }
        }
        Assert.Empty(failures);
    }

    private static readonly string[] s_tokens =
    [
        "-1", "1e400", "18446744073709551616", "-9223372036854775809", "0.5", "\"x\"", "null", "true", "[]", "{}", "\"0x\"",
        "\"0xffffffffffffffffff\"", "\"-0x1\"", "{\"during\":0}", "\"\\u0000\"", "9007199254740993",
    ];

    private static byte[] Mutate(byte[] seed, Random rng)
    {
        var b = new List<byte>(seed);
        int n = rng.Next(1, 4);
        for (int m = 0; m < n; m++)
        {
            int pos = b.Count == 0 ? 0 : rng.Next(b.Count);
            switch (rng.Next(6))
            {
                case 0 when b.Count > 0:
                    b[pos] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1 when b.Count > 0:
                    b.RemoveRange(pos, Math.Min(b.Count - pos, rng.Next(1, 16)));
                    break;
                case 2:
                    b.InsertRange(pos, Encoding.UTF8.GetBytes(s_tokens[rng.Next(s_tokens.Length)]));
                    break;
                case 3 when b.Count > 0:
                    b.RemoveRange(pos, b.Count - pos); // truncated file
                    break;
                case 4:
                    {
                        // Replace a number with a token.
                        int start = b.FindIndex(pos, x => x is >= (byte)'0' and <= (byte)'9');
                        if (start >= 0)
                        {
                            int end = start;
                            while (end < b.Count && b[end] is >= (byte)'0' and <= (byte)'9')
                            {
                                end++;
                            }
                            b.RemoveRange(start, end - start);
                            b.InsertRange(start, Encoding.UTF8.GetBytes(s_tokens[rng.Next(s_tokens.Length)]));
                        }
                        break;
                    }
                default:
                    b.InsertRange(pos, new[] { (byte)'\n', (byte)rng.Next(256) });
                    break;
            }
        }
        return [.. b];
    }
}
