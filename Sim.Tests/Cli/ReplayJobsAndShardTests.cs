using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.Cli;

/// <summary><c>replay --jobs N</c> prints what <c>--jobs 1</c> prints; <c>--shard K/N</c> parts cover every file once.</summary>
public sealed class ReplayJobsAndShardTests
{
    private static (int Code, string Out, string Err) Replay(bool json, int jobs, Shard? shard = null)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ReplayRun.Run([], json, verbose: true, allowSkipped: false, machine: null, o, e, jobs, shard);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Jobs_2_prints_exactly_what_jobs_1_prints_on_the_bundled_data()
    {
        var one = Replay(json: true, jobs: 1);
        var two = Replay(json: true, jobs: 2);
        Assert.Equal(0, one.Code);
        Assert.Equal(one, two);
        var table1 = Replay(json: false, jobs: 1);
        var table2 = Replay(json: false, jobs: 2);
        Assert.Equal(table1, table2);
    }

    [Fact]
    public void Shards_of_the_bundled_data_concatenate_to_the_whole_json()
    {
        var whole = Replay(json: true, jobs: 1).Out.TrimEnd('\n').Split('\n');
        var parts = new List<string>();
        for (int k = 1; k <= 3; k++)
        {
            parts.AddRange(Replay(json: true, jobs: 2, new Shard(k, 3)).Out.TrimEnd('\n').Split('\n')[..^1]);
        }
        Assert.Equal(whole[..^1].Order(StringComparer.Ordinal), parts.Order(StringComparer.Ordinal));
    }

    [Property(MaxTest = 200)]
    public Property Shards_cover_every_file_exactly_once(PositiveInt count, PositiveInt shards)
    {
        int items = count.Get % 500;
        int n = 1 + shards.Get % 40;
        var list = Enumerable.Range(0, items).Select(i => $"f{i}.jsonl").ToList();
        var seen = new List<string>();
        var sizes = new List<int>();
        for (int k = 1; k <= n; k++)
        {
            var part = new Shard(k, n).Select(list);
            Assert.All(part, f => Assert.True(new Shard(k, n).Contains(list.IndexOf(f))));
            seen.AddRange(part);
            sizes.Add(part.Count);
        }
        bool once = seen.Order(StringComparer.Ordinal).SequenceEqual(list.Order(StringComparer.Ordinal));
        bool balanced = sizes.Max() - sizes.Min() <= 1;
        return (once && balanced).Label($"{items} items in {n} shards: sizes {string.Join(",", sizes)}");
    }

    [Theory]
    [InlineData("1/1", true)]
    [InlineData("3/4", true)]
    [InlineData("0/4", false)]
    [InlineData("5/4", false)]
    [InlineData("1/0", false)]
    [InlineData("a/b", false)]
    [InlineData("2", false)]
    [InlineData("-1/2", false)]
    public void Shard_parses_K_of_N(string text, bool ok) => Assert.Equal(ok, Shard.TryParse(text, out _, out _));
}
