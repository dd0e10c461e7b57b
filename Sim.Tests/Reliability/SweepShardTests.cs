using Sim.Machine;
using Sim.Reliability;
using Xunit;

namespace Sim.Tests.Reliability;

/// <summary><c>sweep --shard K/N --json</c>: the shards' case lines concatenate to the whole sweep's.</summary>
public sealed class SweepShardTests
{
    private static List<string> JsonCases(Shard? shard)
    {
        var report = FailureSweep.Run([new ImporterScenario()], full: false, seed: 1, budget: null, log: null, shard: shard);
        var o = new StringWriter();
        SweepRun.Print(report, 1, o, verbose: false, json: true);
        var lines = o.ToString().TrimEnd('\n').Split('\n');
        // JSON Lines throughout: the closing summary is the last object.
        Assert.Matches(@"^\{""passed"":\d+,""failed"":\d+,""skipped"":\d+,""type"":""summary"",""sites"":\d+", lines[^1]);
        Assert.All(lines[..^1], l => Assert.StartsWith("{\"scenario\":", l, StringComparison.Ordinal));
        return [.. lines[..^1]];
    }

    [Fact]
    public void Three_shards_run_every_case_of_the_importer_sweep_exactly_once()
    {
        var whole = JsonCases(null);
        Assert.True(whole.Count >= 5, $"{whole.Count} cases");
        var parts = new List<string>();
        for (int k = 1; k <= 3; k++)
        {
            parts.AddRange(JsonCases(new Shard(k, 3)));
        }
        Assert.Equal(whole.Order(StringComparer.Ordinal), parts.Order(StringComparer.Ordinal));
    }
}
