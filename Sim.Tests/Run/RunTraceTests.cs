// dmabufsim run --trace (issue 15): the program and its child processes, written by the real-kernel tracer stacked in
// front of the preload library, in trace format version 2; the trace replays and equals a capture of the same
// program on the real kernel (data/traces/linux-6.1-multiprocess, recorded by `dmabufsim capture --program`).
using Sim.Core.Replay;
using Sim.Machine;
using Sim.Run;
using Xunit;

namespace Sim.Tests.RunVerb;

public sealed class RunTraceTests(RunPrograms programs) : IClassFixture<RunPrograms>
{
    private (int Status, string Stdout, string Stderr, string Host) RunTraced(string program, string trace)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var host = new StringWriter();
        using var h = RunHost.Create(null, host);
        int status = h.Execute(new RunOptions
        {
            Program = program,
            TimeoutSeconds = 120,
            Trace = trace,
            ProgramStdout = stdout,
            ProgramStderr = stderr,
        }, programs.Preload);
        return (status, stdout.ToString(), stderr.ToString(), host.ToString());
    }

    [Fact]
    public void TwoProcessesSharingADumbBufferGiveTheRealKernelsOutputAndTrace()
    {
        var exe = programs.Own("share_dumb");
        var trace = Path.Combine(programs.Dir, "share_dumb.run.jsonl");
        var (status, stdout, stderr, host) = RunTraced(exe, trace);
        Assert.True(status == 0, $"status {status}\n{stderr}\n{host}");
        // The program's output on the real kernel (the capture's stdout, bundled beside it).
        Assert.Equal(File.ReadAllText(Capture("share-dumb.stdout.txt")), stdout);

        // Version 2: both processes, the fork, the fd passing and both exits.
        using (var reader = new TraceReader(trace))
        {
            Assert.Equal(2, reader.Version);
            var events = reader.Events().Select(e => (e.Op, e.Pid)).ToList();
            Assert.Equal(2, events.Select(e => e.Pid).Distinct().Count());
            foreach (var op in new[] { "socketpair", "fork", "sendmsg", "recvmsg" })
            {
                Assert.Single(events, e => e.Op == op);
            }
            Assert.Equal(2, events.Count(e => e.Op == "exit"));
        }

        // It replays on a fresh machine.
        var replay = new ReplayEngine(Composition.BuildMachine).ReplayFile(trace);
        Assert.True(replay.FormatError is null && replay.Totals.Failed == 0 && replay.Totals.Skipped == 0,
            replay.FormatError + string.Join("\n", replay.Differences) + string.Join("\n", replay.SkipReasons));

        // And it is the real kernel's trace by `dmabufsim diff`'s rules (pids, inodes and timings by their patterns).
        var diff = TraceDiff.Compare(trace, Capture("share-dumb.jsonl"));
        Assert.True(diff.Differences.Count == 0, string.Join("\n", diff.Differences));
        Assert.Equal(23, diff.EventsA);
        Assert.Equal(diff.EventsA, diff.EventsB);
    }

    private string Capture(string name) => Path.Combine(programs.Repo, "data", "traces", "linux-6.1-multiprocess", name);

    [Fact]
    public void TheForkedChildAndTheReceivedFdAreTraced()
    {
        // fork_scm.c: the child receives the dma-buf at its lowest free fd; the trace numbers every event of both
        // processes from one counter and replays.
        var exe = programs.Own("fork_scm");
        var trace = Path.Combine(programs.Dir, "fork_scm.run.jsonl");
        var (status, stdout, _, host) = RunTraced(exe, trace);
        Assert.True(status == 0, host);
        Assert.Contains("parent reads: written by the child", stdout, StringComparison.Ordinal);
        var replay = new ReplayEngine(Composition.BuildMachine).ReplayFile(trace);
        Assert.True(replay.FormatError is null && replay.Totals.Failed == 0, replay.FormatError + string.Join("\n", replay.Differences));
    }
}
