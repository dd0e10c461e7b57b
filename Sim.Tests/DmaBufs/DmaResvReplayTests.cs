using Sim.Machine;
using Sim.Core.Replay;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>The real-kernel dma_resv/dma_fence traces (linux-6.1-sg resv_*) replay without a difference or a skip.</summary>
public sealed class DmaResvReplayTests
{
    [Theory]
    [InlineData("resv_script.jsonl", 303)]
    [InlineData("resv_random_seed31.jsonl", 243)]
    [InlineData("resv_random_seed32.jsonl", 200)]
    public void ResvTraceReplaysClean(string file, long counted)
    {
        string data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");
        var engine = new ReplayEngine(Composition.BuildMachine);
        var result = engine.ReplayFile(Path.Combine(data, "traces", "linux-6.1-sg", file));
        Assert.Null(result.FormatError);
        Assert.Empty(result.Differences);
        Assert.Equal(0, result.Totals.Skipped);
        // Every event but the informational replacement_case lines, plus the end-of-file fini/leak check.
        Assert.Equal(counted, result.Totals.Passed);
        Assert.Equal(1, result.Ops["exit"].Passed);
    }
}
