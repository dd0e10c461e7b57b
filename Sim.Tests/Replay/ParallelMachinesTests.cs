using System.Globalization;
using System.Text;
using Sim.Machine;
using Sim.Core.Replay;
using Xunit;

namespace Sim.Tests.Replay;

/// <summary>
/// Machines built in one process share nothing: two threads, each building and driving its own machines, replay every
/// bundled trace and vector file (one in file order, one in reverse order, so different files run side by side) and
/// get exactly the results of replaying the files one at a time.
/// </summary>
public class ParallelMachinesTests
{
    private static string Summary(FileResult r)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"{r.File}: {r.Totals.Passed}/{r.Totals.Failed}/{r.Totals.Skipped} {r.FormatError}\n");
        foreach (var (op, c) in r.Ops)
        {
            s.Append(CultureInfo.InvariantCulture, $"  {op} {c.Passed}/{c.Failed}/{c.Skipped}\n");
        }
        foreach (var d in r.Differences)
        {
            s.Append("  ").Append(d).Append('\n');
        }
        return s.ToString();
    }

    private static Dictionary<string, string> ReplayAll(IEnumerable<string> files)
    {
        var engine = new ReplayEngine(Composition.BuildMachine);
        return files.ToDictionary(f => f, f => Summary(engine.ReplayFile(f, DataLocator.DisplayName(f))));
    }

    [Fact]
    public void TwoMachinesOnTwoThreadsReplayTheBundledDataAsOneAtATime()
    {
        string data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("no data directory");
        var files = ReplayEngine.ExpandPaths(DataLocator.DefaultReplayPaths(data));
        Assert.True(files.Count > 40, $"only {files.Count} files");

        var alone = ReplayAll(files);

        Dictionary<string, string>? forward = null, backward = null;
        var t1 = new Thread(() => forward = ReplayAll(files), 16 << 20);
        var t2 = new Thread(() => backward = ReplayAll(Enumerable.Reverse(files)), 16 << 20);
        t1.Start();
        t2.Start();
        t1.Join();
        t2.Join();

        foreach (var f in files)
        {
            Assert.Equal(alone[f], forward![f]);
            Assert.Equal(alone[f], backward![f]);
        }
    }
}
