// Trace format version 2 (docs/trace-format.md, "Version 2"): several processes in one trace. Version 1 files replay as
// before; a version 2 file keeps one fd table and address space per process (fork copies them, execve closes the
// close-on-exec fds, exit closes everything, an SCM_RIGHTS fd arrives at the receiver's lowest free fd).
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sim.Core.Replay;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.Replay;

public sealed class TraceV2ReplayTests : IDisposable
{
    private const string Header = """{"format":"dmabuf-trace","version":2,"pid":500,"machine_config":{"kernel_release":"6.1.0-56-amd64","drm_devices":[{"node":"/dev/dri/card0","card_minor":0,"render_node":"/dev/dri/renderD128","render_minor":128,"driver":"vgem","mmap_offset_start":4294967296,"mmap_offsets_in_use":[]}],"modules_at_start":[{"name":"vgem","params":null}]}}""";

    private readonly string _dir = Directory.CreateTempSubdirectory("dmabufsim-v2-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    private static FileResult Replay(string path) => new ReplayEngine(Composition.BuildMachine).ReplayFile(path);

    private static string Counts(FileResult r) =>
        string.Join(";", r.Ops.Select(o => $"{o.Key}={o.Value.Passed}/{o.Value.Failed}/{o.Value.Skipped}")) + (r.FormatError ?? "");

    // Two processes share a vgem dumb buffer: the parent exports it with PRIME and sends the dma-buf fd over a
    // socketpair to its forked child, which maps it and writes; the parent reads the words through its dumb mapping.
    // The fd numbers are Linux's: the child closed its copy of fd 3, so the received file lands at 3 (lowest free).
    private static List<string> SharedBuffer(int child = 501) =>
    [
        Header,
        """{"i":0,"pid":500,"tid":500,"op":"socketpair","args":{"domain":1,"type":1},"result":{"ret":0,"fds":[3,4]}}""",
        $$$"""{"i":1,"pid":500,"tid":500,"op":"fork","args":{},"result":{"ret":{{{child}}}}}""",
        $$$"""{"i":2,"pid":{{{child}}},"tid":{{{child}}},"op":"close","fd":3,"args":{},"result":{"ret":0}}""",
        """{"i":3,"pid":500,"tid":500,"op":"close","fd":4,"args":{},"result":{"ret":0}}""",
        """{"i":4,"pid":500,"tid":500,"op":"openat","args":{"path":"/dev/dri/card0","flags":2},"result":{"ret":4}}""",
        """{"i":5,"pid":500,"tid":500,"op":"DRM_IOCTL_MODE_CREATE_DUMB","fd":4,"request":3223348402,"args":{"height":64,"width":64,"bpp":32,"flags":0,"handle":0,"pitch":0,"size":0},"result":{"ret":0,"handle":1,"pitch":256,"size":16384}}""",
        """{"i":6,"pid":500,"tid":500,"op":"DRM_IOCTL_PRIME_HANDLE_TO_FD","fd":4,"request":3222037549,"args":{"handle":1,"flags":2,"fd":-1},"result":{"ret":0,"fd":5}}""",
        """{"i":7,"pid":500,"tid":500,"op":"sendmsg","fd":3,"args":{"flags":0,"scm_rights":[{"fd":5,"ino":9001}]},"result":{"ret":1}}""",
        """{"i":8,"pid":500,"tid":500,"op":"close","fd":5,"args":{},"result":{"ret":0}}""",
        $$$"""{"i":9,"pid":{{{child}}},"tid":{{{child}}},"op":"recvmsg","fd":4,"args":{"flags":0},"result":{"ret":1,"scm_rights":[{"fd":3,"ino":9001}]}}""",
        $$$"""{"i":10,"pid":{{{child}}},"tid":{{{child}}},"op":"mmap","fd":3,"args":{"length":16384,"prot":3,"flags":1,"offset":0},"result":{"ret":0}}""",
        $$$"""{"i":11,"pid":{{{child}}},"tid":{{{child}}},"op":"mem_write","fd":3,"args":{"offset":0,"data":"from the child","length":14,"mapping":10},"result":{"ret":0}}""",
        $$$"""{"i":12,"pid":{{{child}}},"tid":{{{child}}},"op":"munmap","args":{"length":16384,"mapping":10},"result":{"ret":0}}""",
        $$$"""{"i":13,"pid":{{{child}}},"tid":{{{child}}},"op":"close","fd":3,"args":{},"result":{"ret":0}}""",
        $$$"""{"i":14,"pid":{{{child}}},"tid":{{{child}}},"op":"exit","args":{},"result":{"void":true}}""",
        """{"i":15,"pid":500,"tid":500,"op":"DRM_IOCTL_MODE_MAP_DUMB","fd":4,"request":3222299827,"args":{"handle":1,"pad":0,"offset":0},"result":{"ret":0,"offset":4294967296}}""",
        """{"i":16,"pid":500,"tid":500,"op":"mmap","fd":4,"args":{"length":16384,"prot":1,"flags":1,"offset":4294967296},"result":{"ret":0}}""",
        """{"i":17,"pid":500,"tid":500,"op":"mem_read","fd":4,"args":{"offset":0,"length":16,"mapping":16},"result":{"ret":0,"string":"from the child","hex":"66726f6d20746865206368696c640000","u32":[1836020326,1701344288,1768448800,25708]}}""",
        """{"i":18,"pid":500,"tid":500,"op":"exit","args":{},"result":{"void":true}}""",
    ];

    [Fact]
    public void TwoProcessesShareABufferThroughScmRights()
    {
        var r = Replay(Write("shared.jsonl", SharedBuffer()));
        Assert.Null(r.FormatError);
        Assert.True(r.Totals.Failed == 0, string.Join("\n", r.Differences));
        Assert.Equal(0, r.Totals.Skipped);
        // 19 events and the two end-of-file steps (the remaining processes' exit, then the leak check).
        Assert.Equal(21, r.Totals.Passed);
    }

    [Fact]
    public void TheReceivedFdIsTheReceiversLowestFree()
    {
        // Had the child kept fd 3 open, the received dma-buf would land at 5 (0-2 console, 3 and 4 the sockets).
        var lines = SharedBuffer();
        lines.RemoveAt(3); // the child's close of 3
        lines = [.. lines.Select((l, k) => k == 0 ? l : Renumber(l, k - 1))];
        var r = Replay(Write("keeps3.jsonl", lines));
        Assert.Null(r.FormatError);
        Assert.Contains(r.Differences, d => d.Field == "result.scm_rights[0].fd" && d.Expected == "3" && d.Actual == "5");
    }

    [Fact]
    public void AForkedChildInheritsFdsAndExecClosesCloexecOnes()
    {
        string[] lines =
        [
            Header,
            """{"i":0,"pid":500,"tid":500,"op":"openat","args":{"path":"/dev/dri/card0","flags":2},"result":{"ret":3}}""",
            """{"i":1,"pid":500,"tid":500,"op":"openat","args":{"path":"/dev/dri/card0","flags":524290},"result":{"ret":4}}""",
            """{"i":2,"pid":500,"tid":500,"op":"fork","args":{},"result":{"ret":777}}""",
            // the child has both (dup_fd), and a new open is its lowest free: 5
            """{"i":3,"pid":777,"tid":777,"op":"fcntl","fd":4,"args":{"cmd":"F_GETFD","cmd_value":1},"result":{"ret":1,"FD_CLOEXEC":true}}""",
            """{"i":4,"pid":777,"tid":777,"op":"execve","args":{"comm":"prog"},"result":{"ret":0}}""",
            // after exec fd 4 (O_CLOEXEC) is gone and fd 3 stays
            """{"i":5,"pid":777,"tid":777,"op":"fcntl","fd":4,"args":{"cmd":"F_GETFD","cmd_value":1},"result":{"ret":-9,"errno_name":"EBADF"}}""",
            """{"i":6,"pid":777,"tid":777,"op":"openat","args":{"path":"/dev/dri/card0","flags":2},"result":{"ret":4}}""",
            """{"i":7,"pid":777,"tid":777,"op":"exit","args":{},"result":{"void":true}}""",
            // the parent's table is its own: 4 is still open there, so the next open is 5
            """{"i":8,"pid":500,"tid":500,"op":"openat","args":{"path":"/dev/dri/card0","flags":2},"result":{"ret":5}}""",
        ];
        var r = Replay(Write("exec.jsonl", lines));
        Assert.Null(r.FormatError);
        Assert.True(r.Totals.Failed == 0, string.Join("\n", r.Differences));
    }

    [Fact]
    public void AVersion1TraceReplaysAsBeforeAndTheSameEventsAsVersion2Too()
    {
        string data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("no data directory");
        foreach (var name in new[] { "linux-6.1-vgem/vgem-prime.jsonl", "linux-6.1-vgem/vgem-mapdumb.jsonl", "linux-6.1-kvmfr" })
        {
            foreach (var v1 in ReplayEngine.ExpandPaths([Path.Combine(data, "traces", name)]).Take(2))
            {
                var r1 = Replay(v1);
                Assert.True(r1.FormatError is null && r1.Totals.Failed == 0 && r1.Totals.Passed > 0, v1 + ": " + Counts(r1));
                // The same events in one process of a version 2 file: the same counts, op by op.
                var lines = File.ReadAllLines(v1);
                var header = JsonNode.Parse(lines[0])!.AsObject();
                header["version"] = 2;
                var v2 = new List<string> { header.ToJsonString() };
                foreach (var l in lines.Skip(1))
                {
                    var ev = JsonNode.Parse(l)!.AsObject();
                    ev["pid"] = 4242;
                    ev["tid"] = 4242;
                    v2.Add(ev.ToJsonString());
                }
                var r2 = Replay(Write(Path.GetFileName(v1), v2));
                Assert.Equal(Counts(r1), Counts(r2));
            }
        }
    }

    [Theory]
    [InlineData("""{"i":0,"tid":500,"op":"close","fd":3,"args":{},"result":{"ret":-9}}""", "bad.jsonl:2: field 'pid': missing")]
    [InlineData("""{"i":0,"pid":500,"op":"close","fd":3,"args":{},"result":{"ret":-9}}""", "bad.jsonl:2: field 'tid': missing")]
    [InlineData("""{"i":0,"pid":-4,"tid":500,"op":"close","fd":3,"args":{},"result":{"ret":-9}}""", "bad.jsonl:2: field 'pid': not a positive integer")]
    [InlineData("""{"i":0,"pid":500,"tid":500,"op":"sendmsg","fd":3,"args":{"scm_rights":[{"fd":1}]},"result":{"ret":1}}""", "bad.jsonl:2: field 'args.scm_rights[0].ino': missing")]
    public void AMalformedVersion2LineIsNamedByFileAndLine(string line, string expected)
    {
        var r = Replay(Write("bad.jsonl", [Header, line]));
        Assert.NotNull(r.FormatError);
        Assert.StartsWith(Path.Combine(_dir, expected), r.FormatError, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEventOfAnUnknownOrExitedProcessIsAFormatError()
    {
        var unknown = Replay(Write("unknown.jsonl",
        [
            Header,
            """{"i":0,"pid":500,"tid":500,"op":"close","fd":3,"args":{},"result":{"ret":-9,"errno_name":"EBADF"}}""",
            """{"i":1,"pid":600,"tid":600,"op":"close","fd":3,"args":{},"result":{"ret":-9,"errno_name":"EBADF"}}""",
        ]));
        Assert.StartsWith(Path.Combine(_dir, "unknown.jsonl:3: field 'pid': pid 600 is not the traced program's"), unknown.FormatError, StringComparison.Ordinal);
        var exited = Replay(Write("exited.jsonl",
        [
            Header,
            """{"i":0,"pid":500,"tid":500,"op":"exit","args":{},"result":{"void":true}}""",
            """{"i":1,"pid":500,"tid":500,"op":"close","fd":3,"args":{},"result":{"ret":-9,"errno_name":"EBADF"}}""",
        ]));
        Assert.StartsWith(Path.Combine(_dir, "exited.jsonl:3: field 'pid': pid 500 has exited"), exited.FormatError, StringComparison.Ordinal);
    }

    [Fact]
    public void Version3IsRefused()
    {
        var r = Replay(Write("v3.jsonl", [Header.Replace("\"version\":2", "\"version\":3", StringComparison.Ordinal)]));
        Assert.StartsWith(Path.Combine(_dir, "v3.jsonl:1: field 'version': unsupported version 3 (expected 1 or 2)"), r.FormatError, StringComparison.Ordinal);
    }

    private static string Renumber(string line, int i)
    {
        var ev = JsonNode.Parse(line)!.AsObject();
        ev["i"] = i;
        // mapping indices move with the events
        if (ev["args"]?["mapping"] is JsonNode m)
        {
            ev["args"]!["mapping"] = m.GetValue<int>() - 1;
        }
        return ev.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
