using Sim.Tests.Infrastructure;
using System.Text;
using System.Text.Json;
using Sim.Core.Boot;
using Sim.Machine;
using Sim.RealKernel.DiffTest;
using Sim.RealKernel;
using Xunit;

namespace Sim.Tests.Cli;

/// <summary>
/// The differential test without QEMU: the real kernel's answers come from a recorded answer set
/// (<c>Cli/Data/difftest-bpp-limit.answers.jsonl</c>, recorded from Linux 6.1.0-56-amd64 under QEMU with
/// <c>dmabufsim difftest --seed 1 --from 141 --count 142 --length 10 --families dumb --fault bpp-limit
/// --shrink-budget 30 --record FILE</c>): every script the campaign and its shrinking ask is in it.
/// </summary>
public sealed class DiffTestTests
{
    private static string AnswersPath()
    {
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");
        return Path.Combine(Path.GetDirectoryName(data)!, "Sim.Tests", "Cli", "Data", "difftest-bpp-limit.answers.jsonl");
    }

    private static DiffTestRun.Settings Recorded(string? fault = null) => new()
    {
        Fault = fault,
        Seed = 1,
        From = 141,
        Count = 142,
        Length = 10,
        Families = CallFamilies.Dumb,
        ShrinkBudget = 30,
    };

    [Fact]
    public void BrokenBppLimitIsFoundAndShrunkToAtMostThreeCalls()
    {
        var oracle = new RecordedOracle(AnswersPath());
        var o = new StringWriter();
        var result = DiffTestRun.Campaign(Recorded("bpp-limit"), oracle, o);
        Assert.True(result.Differences > 0, o.ToString());
        var (_, cmp) = Assert.Single(result.Minimal);
        Assert.InRange(cmp.Lines.Count, 1, 3);
        // The minimal sequence ends in a CREATE_DUMB whose bpp is above U32_MAX - 8, which Linux rejects with
        // -EINVAL (drm_mode_create_dumb) and the broken model does not.
        var last = cmp.Trace.TrimEnd('\n').Split('\n')[^1];
        using var ev = JsonDocument.Parse(last);
        Assert.Equal("DRM_IOCTL_MODE_CREATE_DUMB", ev.RootElement.GetProperty("op").GetString());
        Assert.True(ev.RootElement.GetProperty("args").GetProperty("bpp").GetUInt64() > 0xFFFFFFF7UL);
        Assert.Equal(-22, ev.RootElement.GetProperty("result").GetProperty("ret").GetInt32());
        Assert.EndsWith($"{result.Sequences} sequences, {result.Calls} calls, {result.Differences} differences{Environment.NewLine}", o.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void UnbrokenSimulatorAgreesWithTheRecordedKernel()
    {
        var oracle = new RecordedOracle(AnswersPath());
        var o = new StringWriter();
        var result = DiffTestRun.Campaign(Recorded(), oracle, o);
        Assert.Equal(0, result.Differences);
        Assert.Equal(1, result.Sequences);
        Assert.Contains("1 sequences, 6 calls, 0 differences", o.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ShardsWithJsonPrintOneObjectPerSequenceOfTheirPart()
    {
        var lines = new List<string>();
        for (int k = 1; k <= 2; k++)
        {
            var o = new StringWriter();
            var settings = Recorded();
            var r = DiffTestRun.Campaign(new DiffTestRun.Settings
            {
                Seed = settings.Seed, From = settings.From, Count = settings.Count, Length = settings.Length,
                Families = settings.Families, ShrinkBudget = settings.ShrinkBudget, Json = true, Shard = new Shard(k, 2),
            }, new RecordedOracle(AnswersPath()), o);
            var output = o.ToString().TrimEnd('\n').Split('\n');
            // The closing summary is the last JSON object (JSON Lines throughout): passed/failed count sequences.
            using (var summary = JsonDocument.Parse(output[^1]))
            {
                Assert.Equal(r.Sequences, summary.RootElement.GetProperty("passed").GetInt32());
                Assert.Equal(0, summary.RootElement.GetProperty("failed").GetInt32());
                Assert.Equal(r.Calls, summary.RootElement.GetProperty("calls").GetInt64());
            }
            lines.AddRange(output[..^1]);
        }
        // Only sequence 141 is drawn and run (From = 141): it belongs to shard 2 of 2 (141 mod 2 = 1).
        var line = Assert.Single(lines);
        using var doc = JsonDocument.Parse(line);
        Assert.Equal("seed1-seq141", doc.RootElement.GetProperty("case").GetString());
        Assert.Equal(6, doc.RootElement.GetProperty("calls").GetInt32());
        Assert.Equal(0, doc.RootElement.GetProperty("differences").GetInt32());
    }

    [Fact]
    public void MutationBelongsToTheMachineItWasComposedWith()
    {
        // drm_mode_create_dumb rejects bpp > U32_MAX - 8 with -EINVAL; the machine built with "bpp-limit" does
        // not, and the unmutated machine beside it in the same process still does.
        using var broken = TestMachine.WithDrm(Mutations.Parse("bpp-limit"), "vgem");
        using var sound = TestMachine.WithDrm("vgem");
        int bfd = broken.Open("/dev/dri/card0");
        int sfd = sound.Open("/dev/dri/card0");
        Assert.Equal(-22, sound.CreateDumb(sfd, 1, 1, 0xFFFFFFF8u).Ret);
        Assert.NotEqual(-22, broken.CreateDumb(bfd, 1, 1, 0xFFFFFFF8u).Ret);
        Assert.Equal(-22, sound.CreateDumb(sfd, 1, 1, 0xFFFFFFF8u).Ret);
        Assert.Throws<ArgumentException>(() => Mutations.Parse("no-such-fault"));
        Assert.False(new MachineOptions().Mutations.Any);
    }

    [Fact]
    public void MappingCallsNameTheLineOfAnEarlierMmapAndAreDroppedWithoutOne()
    {
        Call Op(string op, int pick = -1) => new(op, [new("fd", "4")], pick);
        var seq = new[] { Op("munmap", 0), Op("openat"), Op("mmap"), Op("mmap"), Op("mem_read", 3), Op("munmap", 0) };
        var lines = CallGen.Render(seq);
        // the first munmap has no mmap before it: left out; mmaps are on lines 1 and 2; pick 3 mod 2 = 1 -> line 2
        Assert.Equal(["openat fd=4", "mmap fd=4", "mmap fd=4", "mem_read fd=4 mapping=2", "munmap fd=4 mapping=1"], lines);
    }

    [Fact]
    public void DrawIsDeterministicPerSeedAndStartsWithOpeningCard0()
    {
        var a = CallGen.Draw(CallFamilies.All, 20, 7, 5);
        var b = CallGen.Draw(CallFamilies.All, 20, 7, 5);
        Assert.Equal(5, a.Length);
        for (int k = 0; k < a.Length; k++)
        {
            Assert.Equal(CallGen.Render(a[k]), CallGen.Render(b[k]));
            Assert.Equal("openat path=/dev/dri/card0 flags=524290", CallGen.Render(a[k])[0]);
            Assert.InRange(a[k].Length, 2, 20);
        }
    }

    /// <summary>
    /// A bad-input campaign answered by Linux 6.1.0-57-amd64 (Debian 6.1.192-3) under QEMU, recorded with
    /// <c>dmabufsim difftest --families badinput --seed 2612 --count 200 --shrink-budget 60 --record FILE</c> (the
    /// first 40 sequences kept). Its prologue opens every fd kind of the 6.1 guest (card0, a dma-buf, a sync_file, the
    /// render node, a memfd); the calls include MAP_FIXED / MAP_FIXED_NOREPLACE at address 0, MAP_SHARED_VALIDATE with
    /// each flag of LEGACY_MAP_MASK and without, and drm_version with NULL and unmapped string pointers. When
    /// recorded it found write and SEEK_DATA / SEEK_HOLE on a memfd differing (sequences 32 and 36 among these).
    /// An earlier set (seed 7) found drm_ioctl's table dispatch and copy_from_user of 0 bytes through NULL.
    /// </summary>
    [Fact]
    public void BadInputCampaignAgreesWithTheRecordedKernel()
    {
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");
        var oracle = new RecordedOracle(Path.Combine(Path.GetDirectoryName(data)!, "Sim.Tests", "Cli", "Data", "difftest-badinput-seed2612.answers.jsonl"));
        var o = new StringWriter();
        var result = DiffTestRun.Campaign(new DiffTestRun.Settings { Seed = 2612, Count = 40, Families = CallFamilies.BadInput, ShrinkBudget = 0 }, oracle, o);
        Assert.True(result.Differences == 0, o.ToString());
        Assert.Equal(40, result.Sequences);
        Assert.True(result.Calls > 600, o.ToString());
    }

    /// <summary>
    /// The heap and udmabuf families against Debian's real 6.12.118 (<c>dmabufsim difftest --kernel 6.12 --families
    /// heap,udmabuf --seed 1 --count 300 --record</c>, its first 80 scripts): the simulator's kernel=6.12 machine (the
    /// traces' kernel_release picks the profile) gives every recorded answer.
    /// </summary>
    [Fact]
    public void HeapAndUdmabufCampaignAgreesWithTheRecorded612Kernel()
    {
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");
        var oracle = new RecordedOracle(Path.Combine(Path.GetDirectoryName(data)!, "Sim.Tests", "Cli", "Data", "difftest-heap-udmabuf-6.12-seed1.answers.jsonl"));
        var o = new StringWriter();
        var families = DiffTestRun.ParseFamilies("heap,udmabuf", "6.12");
        var result = DiffTestRun.Campaign(new DiffTestRun.Settings { Seed = 1, Count = 80, Families = families, ShrinkBudget = 0, Kernel = "6.12" }, oracle, o);
        Assert.True(result.Differences == 0, o.ToString());
        Assert.Equal(80, result.Sequences);
        Assert.True(result.Calls > 1000, o.ToString());
    }

    [Fact]
    public void AllMeansEveryFamilyTheBootedKernelSupports()
    {
        Assert.Equal(CallFamilies.All, DiffTestRun.ParseFamilies("all", "6.1"));
        Assert.Equal(CallFamilies.All | CallFamilies.Heap | CallFamilies.Udmabuf, DiffTestRun.ParseFamilies("all", "6.12"));
        // Debian's 6.1 builds neither the DMA-BUF heaps nor udmabuf
        Assert.Throws<ArgumentException>(() => DiffTestRun.ParseFamilies("heap", "6.1"));
        Assert.Throws<ArgumentException>(() => DiffTestRun.ParseFamilies("all612", "6.12"));
    }

    [Fact]
    public void HeapAndUdmabufSequencesNeverTouchTheAgentsOwnFds()
    {
        foreach (var seq in CallGen.Draw(CallFamilies.Heap | CallFamilies.Udmabuf, 30, 3, 200))
        {
            foreach (var line in CallGen.Render(seq))
            {
                var words = line.Split(' ');
                var fd = words.Skip(1).Select(w => w.Split('=')).Where(kv => kv[0] is "fd" or "on").Select(kv => long.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault(-1);
                Assert.False(fd is >= 0 and <= 3, line);
            }
        }
    }

    [Fact]
    public void CopyOfZeroBytesSucceedsWhateverThePointer()
    {
        // copy_from_user / copy_to_user of 0 bytes touch no user memory (drm_ioctl with in_size or out_size 0).
        var nullArg = new Sim.Core.Fs.UserArg(0);
        Assert.Equal(0, nullArg.CopyFromUser(Span<byte>.Empty));
        Assert.Equal(0, nullArg.CopyToUser(ReadOnlySpan<byte>.Empty));
        Assert.Equal(-14, nullArg.CopyFromUser(new byte[1]));
        Assert.Equal(-14, nullArg.CopyToUser(new byte[1]));
    }

    [Fact]
    public void BadInputNeverTouchesTheAgentsOwnFdsNorReadsWhereItCouldBlock()
    {
        // The agent's fds 0-2 are the console and 3 its channel: a bad call on them would break the session; a read
        // of a DRM fd (or of fd 5, a dup of card0 when nothing was exported) waits for an event that never comes.
        foreach (var seq in CallGen.Draw(CallFamilies.BadInput, 30, 11, 200))
        {
            foreach (var line in CallGen.Render(seq))
            {
                var words = line.Split(' ');
                var fd = words.Skip(1).Select(w => w.Split('=')).Where(kv => kv[0] is "fd" or "on").Select(kv => long.Parse(kv[1], System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault(-1);
                if (words[0] == "openat")
                {
                    continue;
                }
                Assert.False(fd is >= 0 and <= 3, line);
                if (words[0] == "read")
                {
                    Assert.True(fd is < 0 or >= 1023, line);
                }
            }
        }
    }

    [Fact]
    public void BadInputRequestsAreKnownOnesOrTheirNeighbours()
    {
        var known = CallGen.KnownRequests.ToHashSet();
        int neighbours = 0;
        foreach (var seq in CallGen.Draw(CallFamilies.BadInput, 30, 12, 100))
        {
            foreach (var c in seq.Where(c => c.Op == "ioctl"))
            {
                uint rq = (uint)long.Parse(c.Args.Single(a => a.Key == "request").Value, System.Globalization.CultureInfo.InvariantCulture);
                if (known.Contains(rq))
                {
                    continue;
                }
                neighbours++;
                // a neighbour differs from some known request in exactly one of size, direction, nr or type
                Assert.Contains(known, k =>
                    new[] { Sim.Drm.Uapi.Ioctl._IOC_SIZE(k) != Sim.Drm.Uapi.Ioctl._IOC_SIZE(rq), Sim.Drm.Uapi.Ioctl._IOC_DIR(k) != Sim.Drm.Uapi.Ioctl._IOC_DIR(rq),
                        Sim.Drm.Uapi.Ioctl._IOC_NR(k) != Sim.Drm.Uapi.Ioctl._IOC_NR(rq), Sim.Drm.Uapi.Ioctl._IOC_TYPE(k) != Sim.Drm.Uapi.Ioctl._IOC_TYPE(rq) }.Count(d => d) == 1);
            }
        }
        Assert.True(neighbours > 10);
    }

    [Fact]
    public void ScriptFilesParseWithMappingsAndCommentsAndNameTheLineOfAnError()
    {
        var dir = Directory.CreateTempSubdirectory("dmabufsim-script");
        try
        {
            var ok = Path.Combine(dir.FullName, "ok.txt");
            File.WriteAllText(ok, "# a comment\nopenat path=/dev/dri/card0 flags=524290\n\nmmap fd=4 length=4096 prot=3 flags=1 offset=0\nmem_read offset=0 length=4 mapping=0\n");
            var calls = DiffTestRun.ParseScript(ok);
            Assert.Equal(3, calls.Length);
            Assert.Equal(0, calls[2].MapPick);
            // rendered, the mapping names the script line of the mmap (line 1 of the calls)
            Assert.Equal("mem_read offset=0 length=4 mapping=1", CallGen.Render(calls)[2]);
            var bad = Path.Combine(dir.FullName, "bad.txt");
            File.WriteAllText(bad, "openat path=/dev/dri/card0\nclose fd\n");
            var e = Assert.Throws<ArgumentException>(() => DiffTestRun.ParseScript(bad));
            Assert.Contains("bad.txt:2:", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void FamiliesParse()
    {
        Assert.Equal(CallFamilies.Dumb | CallFamilies.Gem, DiffTestRun.ParseFamilies("dumb, GEM"));
        Assert.Equal(CallFamilies.All, DiffTestRun.ParseFamilies("all"));
        Assert.Equal(CallFamilies.BadInput, DiffTestRun.ParseFamilies("badinput"));
        Assert.Throws<ArgumentException>(() => DiffTestRun.ParseFamilies("dumb,nope"));
    }
}

public sealed class RealKernelImageTests
{
    [Fact]
    public void CpioNewcEntryMatchesTheFormat()
    {
        using var ms = new MemoryStream();
        var w = new CpioWriter(ms);
        w.File("/init", "ab"u8.ToArray(), 0x1ED);
        w.Finish();
        var text = Encoding.ASCII.GetString(ms.ToArray());
        // magic, ino 1, mode 0100755, uid, gid, nlink 1, mtime, filesize 2, 4 device numbers, namesize 5 ("init\0"), check
        Assert.StartsWith("070701" + "00000001" + "000081ed" + "00000000" + "00000000" + "00000001" + "00000000" + "00000002"
            + "00000000" + "00000000" + "00000000" + "00000000" + "00000005" + "00000000" + "init\0", text, StringComparison.Ordinal);
        // 110-byte header + 5-byte name = 115, padded to 116; data "ab" padded to 4; then the trailer
        Assert.Equal("ab\0\0070701", text.Substring(116, 10));
        Assert.Contains("TRAILER!!!\0", text, StringComparison.Ordinal);
        Assert.Equal(0, ms.Length % 4);
    }

    [Fact]
    public void ModuleDependsComeFromModinfo()
    {
        var path = Path.Combine(Path.GetTempPath(), $"dmabufsim-test-{Guid.NewGuid():N}.ko");
        File.WriteAllBytes(path, [.. "\x7fELF junk\0license=GPL\0depends=drm,drm_shmem_helper\0name=vgem\0"u8]);
        try
        {
            Assert.Equal(["drm", "drm_shmem_helper"], RealKernelImage.Depends(path));
            File.WriteAllBytes(path, [.. "\x7fELF\0license=GPL\0depends=\0name=drm\0"u8]);
            Assert.Empty(RealKernelImage.Depends(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
