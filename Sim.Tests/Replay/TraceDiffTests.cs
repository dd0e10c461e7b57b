using System.Text.Json.Nodes;
using Sim.Core.Replay;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.Replay;

/// <summary>
/// <c>dmabufsim diff A B</c> (issue 15): two traces compared event by event with the traces README's rules for
/// nondeterministic fields. The second trace is the first one edited the way another boot or another machine would
/// change it (renumbered inodes, another mnt_id, timestamps, a 10.0 s wait where the capture took 10.2 s) or the way
/// a wrong kernel would (another result, a broken inode pattern, a missing event).
/// </summary>
public sealed class TraceDiffTests : IDisposable
{
    private static readonly string DataDir = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");
    private readonly string _dir = Directory.CreateTempSubdirectory("dmabufsim-diff").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Trace(string name) => Path.Combine(DataDir, "traces", "linux-6.1-vgem", name);

    // A copy of a bundled trace with each line's JSON edited by `edit(lineIndex, node)` (line 0 is the header).
    private string Edited(string name, Action<int, JsonObject> edit, Func<int, bool>? keep = null)
    {
        var lines = File.ReadAllLines(Trace(name));
        var output = new List<string>();
        for (int k = 0; k < lines.Length; k++)
        {
            if (keep is not null && !keep(k))
            {
                continue;
            }
            var node = JsonNode.Parse(lines[k])!.AsObject();
            edit(k, node);
            output.Add(node.ToJsonString());
        }
        string path = Path.Combine(_dir, "b-" + name);
        File.WriteAllLines(path, output);
        return path;
    }

    private static (int Code, string Out, string Err) Diff(string a, string b, bool json = false)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = TraceDiffRun.Run(a, b, 20, json, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void A_trace_matches_itself()
    {
        var (code, output, err) = Diff(Trace("vgem-dmabuf.jsonl"), Trace("vgem-dmabuf.jsonl"));
        Assert.Equal(0, code);
        Assert.Equal("", err);
        Assert.EndsWith("0 differences in 0 events\n", output, StringComparison.Ordinal);
        Assert.Contains(": 78 events;", output, StringComparison.Ordinal); // the README's count of user events of vgem-dmabuf
    }

    [Fact]
    public void Another_boot_renumbers_inodes_and_moves_mnt_id_and_timestamps_without_a_difference()
    {
        string b = Edited("vgem-dmabuf.jsonl", (k, n) =>
        {
            if (k == 0)
            {
                n["captured"] = "2030-01-01T00:00:00Z";
                return;
            }
            if (n["result"]?["st_ino"] is not null)
            {
                n["result"]!["st_ino"] = 1003;
            }
            if (n["result"]?["fields"] is JsonObject f && f["ino"] is not null)
            {
                f["ino"] = 1003;
                f["mnt_id"] = 15;
                n["result"]!["text"] = n["result"]!["text"]!.GetValue<string>().Replace("ino:\t3\n", "ino:\t1003\n", StringComparison.Ordinal)
                    .Replace("mnt_id:\t11\n", "mnt_id:\t15\n", StringComparison.Ordinal);
            }
        });
        Assert.Contains("1003", File.ReadAllText(b), StringComparison.Ordinal);
        var r = TraceDiff.Compare(Trace("vgem-dmabuf.jsonl"), b);
        Assert.Empty(r.Differences);
        Assert.Empty(r.HeaderNotes); // `captured` is when, not what
    }

    [Fact]
    public void Another_result_is_reported_at_its_event_and_field_and_exits_1()
    {
        // i=17 is the fdinfo of the dma-buf; give it -EBADF as a kernel that lost the fd would.
        string b = Edited("vgem-dmabuf.jsonl", (k, n) =>
        {
            if (k == 18)
            {
                Assert.Equal(17, n["i"]!.GetValue<int>());
                n["result"] = new JsonObject { ["ret"] = -9, ["errno_name"] = "EBADF" };
            }
        });
        var r = TraceDiff.Compare(Trace("vgem-dmabuf.jsonl"), b);
        Assert.All(r.Differences, d => Assert.Equal(17, d.I));
        Assert.Contains(r.Differences, d => d.Field == "result.ret" && d.A == "0" && d.B == "-9");
        Assert.Contains(r.Differences, d => d.Field == "result.errno_name" && d.A == "(absent)" && d.B == "\"EBADF\"");
        var (code, output, _) = Diff(Trace("vgem-dmabuf.jsonl"), b);
        Assert.Equal(1, code);
        Assert.Contains("i=17 fdinfo  (", output, StringComparison.Ordinal);
        Assert.Contains("  result.ret: 0 vs -9  [exact]", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_files_seen_as_one_inode_break_the_equality_pattern()
    {
        // Event i=60 reports inode 4 where the capture saw the same dma-buf (inode 3) as before.
        string b = Edited("vgem-dmabuf.jsonl", (k, n) =>
        {
            if (n["i"]?.GetValue<int>() == 60)
            {
                n["result"]!["fields"]!["ino"] = 4;
            }
        });
        var r = TraceDiff.Compare(Trace("vgem-dmabuf.jsonl"), b);
        var d = Assert.Single(r.Differences);
        Assert.Equal((60L, "result.fields.ino", "3", "4"), (d.I, d.Field, d.A, d.B));
        Assert.Equal("equality pattern of inode numbers", d.Rule);
    }

    [Fact]
    public void Waits_compare_by_the_readmes_timing_thresholds()
    {
        // The vgem fence timeout: 10.2 s captured, 10.0 s simulated is the same wait; 0.0 s is not.
        string same = Edited("vgem-fence.jsonl", (k, n) =>
        {
            if (n["result"]?["elapsed_s"] is JsonValue v && v.GetValue<double>() >= 10)
            {
                n["result"]!["elapsed_s"] = 10.0;
            }
        });
        Assert.Empty(TraceDiff.Compare(Trace("vgem-fence.jsonl"), same).Differences);
        string other = Edited("vgem-fence.jsonl", (k, n) =>
        {
            if (n["result"]?["elapsed_s"] is JsonValue v && v.GetValue<double>() >= 10)
            {
                n["result"]!["elapsed_s"] = 0.0;
            }
        });
        var r = TraceDiff.Compare(Trace("vgem-fence.jsonl"), other);
        Assert.Equal(3, r.Differences.Count(d => d.Field == "result.elapsed_s")); // the file's three 10.2 s waits
    }

    [Fact]
    public void A_missing_event_is_one_difference_and_the_counts_say_which_trace_is_longer()
    {
        var lines = File.ReadAllLines(Trace("vgem-dmabuf.jsonl"));
        string b = Edited("vgem-dmabuf.jsonl", (_, _) => { }, keep: k => k < lines.Length - 1);
        var r = TraceDiff.Compare(Trace("vgem-dmabuf.jsonl"), b);
        Assert.Equal((78L, 77L), (r.EventsA, r.EventsB));
        var d = Assert.Single(r.Differences);
        Assert.Equal(("event", "(absent)"), (d.Field, d.B));
        Assert.Equal(77, d.I);
    }

    [Fact]
    public void Another_machine_is_a_header_note_not_a_difference()
    {
        string b = Edited("vgem-dmabuf.jsonl", (k, n) =>
        {
            if (k == 0)
            {
                n["source"] = "dmabufsim run";
            }
        });
        var (code, output, _) = Diff(Trace("vgem-dmabuf.jsonl"), b, json: true);
        Assert.Equal(0, code);
        Assert.Equal("{\"differences\":0,\"events_differing\":0,\"events_a\":78,\"events_b\":78,\"header_notes\":1}\n", output);
    }

    [Fact]
    public void A_malformed_line_names_file_and_line_and_exits_2()
    {
        var lines = File.ReadAllLines(Trace("vgem-dmabuf.jsonl"));
        lines[5] = "{\"i\":4,";
        string b = Path.Combine(_dir, "broken.jsonl");
        File.WriteAllLines(b, lines);
        var (code, output, err) = Diff(Trace("vgem-dmabuf.jsonl"), b);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("dmabufsim diff: ", err, StringComparison.Ordinal);
        Assert.Contains("broken.jsonl:6:", err, StringComparison.Ordinal);
        var (code2, _, err2) = Diff(Trace("vgem-dmabuf.jsonl"), Path.Combine(_dir, "none.jsonl"));
        Assert.Equal(2, code2);
        Assert.Contains("none.jsonl: no such file", err2, StringComparison.Ordinal);
    }
}
