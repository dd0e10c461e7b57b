// dmabufsim run --check end to end: programs that plant one leak or misuse each (tools/dmabufsim-run/tests/check_*.c,
// compiled with -g -O0), a fork whose child leaves inherited objects to its exit, and the clean programs of
// RunTests. What is expected comes from what each program does (the line marked PLANTED in its source), not from
// the report's own output.
using Sim.Run;
using Xunit;

namespace Sim.Tests.RunVerb;

public sealed class CheckTests(RunPrograms programs) : IClassFixture<RunPrograms>
{
    private (int Status, string Stdout, string Report) Check(string? machine, string program, params string[] args)
    {
        var stdout = new StringWriter();
        var report = new StringWriter();
        using var h = RunHost.Create(machine, report, check: true);
        int status = h.Execute(new RunOptions
        {
            Program = program,
            Arguments = args,
            TimeoutSeconds = 600,
            ProgramStdout = stdout,
            ProgramStderr = TextWriter.Null,
        }, programs.Preload);
        return (status, stdout.ToString(), report.ToString());
    }

    // The 1-based line of the source that holds the marker.
    private int LineOf(string name, string marker)
    {
        var lines = File.ReadAllLines(Path.Combine(programs.Repo, "tools", "dmabufsim-run", "tests", name + ".c"));
        int k = Array.FindIndex(lines, l => l.Contains(marker, StringComparison.Ordinal));
        Assert.True(k >= 0, $"{marker} in {name}.c");
        return k + 1;
    }

    // The report's lines from the item that starts with `what` to the item's blank separator line.
    private static string[] Item(string report, string what)
    {
        var lines = report.Split('\n');
        int k = Array.FindIndex(lines, l => l.Contains(what, StringComparison.Ordinal));
        Assert.True(k >= 0, $"'{what}' in the report:\n{report}");
        int end = Array.FindIndex(lines, k + 1, l => l.TrimEnd().EndsWith("==", StringComparison.Ordinal));
        return lines[k..(end < 0 ? lines.Length : end)];
    }

    [Theory]
    [InlineData("check_leak_gem", "GEM object: vgem gem object of 4096 bytes: its last handle was closed by the exit", "make_buffer")]
    [InlineData("check_leak_dmabuf", "dma-buf: dma-buf ino 1 drm 16384 bytes: its last fd or mapping was dropped by the exit", "share")]
    [InlineData("check_leak_syncfile", "sync_file: sync_file: its last fd was closed by the exit", "fence_at")]
    [InlineData("check_leak_mapping", "mapping of /dev/dri/card0 at ", "map_buffer")]
    public void APlantedLeakIsFoundWithTheBacktraceLineOfTheLeakingCall(string name, string leak, string function)
    {
        var (status, _, report) = Check(null, programs.OwnDebug(name));
        var item = Item(report, "leak: " + (name == "check_leak_mapping" ? "mapping: " : "") + leak);
        // The first frame is the program's own call that made the object: its function and the PLANTED line.
        Assert.Matches($@"created at 0x[0-9a-f]+: {function} \({name}\.c:{LineOf(name, "PLANTED")}\)$", item[1].TrimEnd());
        Assert.Matches(@"by 0x[0-9a-f]+: main \(" + name + @"\.c:\d+\)$", item[^1].TrimEnd());
        Assert.Contains("==dmabufsim== 1 leaks, 0 warnings, 0 misuses (1 processes)\n", report, StringComparison.Ordinal);
        Assert.Equal(99, status);
    }

    [Fact]
    public void SyncEndWithoutStartIsAMisuseAndABadHandleANote()
    {
        var (status, stdout, report) = Check(null, programs.OwnDebug("check_misuse"));
        // GEM_CLOSE of a handle that names nothing: drm_gem_handle_delete's -EINVAL.
        Assert.Equal("GEM_CLOSE of handle 101: -1 Invalid argument\n", stdout);
        var misuse = Item(report, "misuse: DMA_BUF_IOCTL_SYNC END without a START on this dma-buf (dma_buf_ioctl)");
        Assert.Matches($@"called at 0x[0-9a-f]+: end_access \(check_misuse\.c:{LineOf("check_misuse", "PLANTED misuse")}\)$", misuse[1].TrimEnd());
        // DRM_IOCTL_GEM_CLOSE (_IOW('d', 0x09, struct drm_gem_close)) on the card (fd 3), named as the uAPI names it.
        var note = Item(report, "note: ioctl(fd 3, DRM_IOCTL_GEM_CLOSE) failed with EINVAL");
        Assert.Matches($@"called at 0x[0-9a-f]+: close_handle \(check_misuse\.c:{LineOf("check_misuse", "PLANTED note")}\)$", note[1].TrimEnd());
        Assert.Contains("exited: 0 leaks, 0 warnings, 1 misuse, 1 note\n", report, StringComparison.Ordinal);
        Assert.Contains("==dmabufsim== 1 note: ", report, StringComparison.Ordinal);
        Assert.Contains("==dmabufsim== 0 leaks, 0 warnings, 1 misuses (1 processes)\n", report, StringComparison.Ordinal);
        Assert.Equal(99, status);
    }

    [Fact]
    public void AWarnOfTheKernelIsReportedWithTheFunctionThatWarnedAndTheProgramsLine()
    {
        // udmabuf_create's kmalloc_array of 4 GiB / 4 KiB = 1 Mi page pointers (8 MiB) on 6.1: __alloc_pages'
        // WARN_ON_ONCE_GFP(order >= MAX_ORDER) (mm/page_alloc.c:5634 in 6.1.192), then -ENOMEM.
        var (status, stdout, report) = Check("udmabuf udmabuf.size_limit_mb=4096", programs.OwnDebug("check_warn"));
        Assert.Equal("UDMABUF_CREATE of 4 GiB: -1 Cannot allocate memory\n", stdout);
        var warn = Item(report, "warning: WARN in __alloc_pages");
        Assert.Matches($@"called at 0x[0-9a-f]+: create \(check_warn\.c:{LineOf("check_warn", "PLANTED warning")}\)$", warn[1].TrimEnd());
        Assert.Matches(@"by 0x[0-9a-f]+: main \(check_warn\.c:\d+\)$", warn[^1].TrimEnd());
        Assert.Contains("exited: 0 leaks, 1 warning, 0 misuses, 0 notes\n", report, StringComparison.Ordinal);
        Assert.Contains("==dmabufsim== 0 leaks, 1 warnings, 0 misuses (1 processes)\n", report, StringComparison.Ordinal);
        Assert.Equal(99, status);
    }

    [Fact]
    public void AChildLeavingInheritedObjectsToItsExitWhileTheParentHoldsThemLeaksNothing()
    {
        var (status, stdout, report) = Check(null, programs.OwnDebug("check_fork"));
        Assert.Equal("parent reads: from the child (child exit 0)\n", stdout);
        Assert.Equal(2, report.Split('\n').Count(l => l.EndsWith("exited: 0 leaks, 0 warnings, 0 misuses, 0 notes", StringComparison.Ordinal)));
        Assert.EndsWith("==dmabufsim== 0 leaks, 0 warnings, 0 misuses (2 processes)\n", report, StringComparison.Ordinal);
        Assert.Equal(0, status);
    }

    [Fact]
    public void KernelSyncSelftestsLeakTheFirstOfTwoChainedMerges()
    {
        // sync_fence.c's test_fence_one_timeline_merge does `d = sync_merge(.., b, a); d = sync_merge(.., c, d);`
        // and sync_wait.c's test_fence_multi_timeline_wait the same with `merged`: the first merged sync_file's fd
        // is overwritten, never closed, and each test's child process exits with it open.
        var test = programs.SyncTest(debug: true);
        var (status, stdout, report) = Check(null, test);
        Assert.Contains("# Totals: pass:10 fail:0 xfail:0 xpass:0 skip:0 error:0", stdout, StringComparison.Ordinal);
        var dir = Path.Combine(Path.GetDirectoryName(test)!, "selftests", "sync");
        int Line(string file, string text) => Array.FindIndex(File.ReadAllLines(Path.Combine(dir, file)), l => l.Contains(text, StringComparison.Ordinal)) + 1;
        int ioctl = Line("sync.c", "err = ioctl(fd1, SYNC_IOC_MERGE, &data);");
        var leaks = report.Split('\n').Select((l, k) => (l, k)).Where(x => x.l.Contains("leak: sync_file: sync_file: its last fd was closed by the exit", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, leaks.Length);
        var lines = report.Split('\n');
        foreach (var (test1, file, text) in new[]
        {
            ("test_fence_one_timeline_merge", "sync_fence.c", "d = sync_merge(\"mergeFence\", b, a);"),
            ("test_fence_multi_timeline_wait", "sync_wait.c", "merged = sync_merge(\"mergeFence\", fenceB, fenceA);"),
        })
        {
            Assert.Contains(leaks, x => lines[x.k + 1].TrimEnd().EndsWith($": sync_merge (sync.c:{ioctl})", StringComparison.Ordinal) &&
                lines[x.k + 2].TrimEnd().EndsWith($": {test1} ({file}:{Line(file, text)})", StringComparison.Ordinal));
        }
        Assert.Contains("==dmabufsim== 2 leaks, 0 warnings, 0 misuses (", report, StringComparison.Ordinal);
        Assert.Equal(99, status);
    }

    [Fact]
    public void KernelDmaBufHeapSelftestIsClean()
    {
        var (status, stdout, report) = Check("dma_heap", programs.DmaHeapTest());
        Assert.EndsWith("  Testing expected error cases:  OK\n", stdout, StringComparison.Ordinal);
        Assert.Contains("==dmabufsim== 0 leaks, 0 warnings, 0 misuses (1 processes)\n", report, StringComparison.Ordinal);
        Assert.Equal(0, status);
    }

    [Fact]
    public void LookingGlassTestLeavesTheMappingOfLine99ToItsExit()
    {
        // test.c maps the page-offset dma-buf into `bytes` and then calls munmap(mem, page_size) (mem was already
        // unmapped) before close(dmaFd): the `bytes` mapping is still there at exit, and it held the dma-buf's last
        // reference, which its teardown releases (indirectly lost).
        var test = programs.KvmfrTest(debug: true);
        var (status, stdout, report) = Check("kvmfr kvmfr.static_size_mb=1,1,1,1,1,1,1,1,1,1", test);
        Assert.Contains("Index 1027: 0xaaaa0021\n", stdout, StringComparison.Ordinal);
        var source = File.ReadAllLines(Path.Combine(Path.GetDirectoryName(test)!, "looking-glass", "test.c"));
        int line = Array.FindIndex(source, l => l.Contains("char *bytes = mmap(", StringComparison.Ordinal)) + 1;
        var item = Item(report, "leak: mapping: mapping of dmabuf: at ");
        Assert.Contains("(4096 bytes, pgoff 0x1): still mapped at exit", item[0], StringComparison.Ordinal);
        Assert.Matches($@"created at 0x[0-9a-f]+: main \(test\.c:{line}\)$", item[1].TrimEnd());
        Assert.Contains("which also released (indirectly lost): dma-buf: dma-buf ino ", item[2], StringComparison.Ordinal);
        Assert.Contains("==dmabufsim== 1 leaks, 0 warnings, 0 misuses (1 processes)\n", report, StringComparison.Ordinal);
        Assert.Equal(99, status);
    }
}
