// dmabufsim run end to end: real programs, compiled here with the system gcc, on the simulated kernel.
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Debug;
using Sim.Machine;
using Sim.Run;
using Xunit;

namespace Sim.Tests.RunVerb;

/// <summary>Builds the preload library and the test programs once for the class.</summary>
public sealed class RunPrograms : IDisposable
{
    public RunPrograms()
    {
        Dir = Directory.CreateTempSubdirectory("dmabufsim-run-tests-").FullName;
        Preload = PreloadBuilder.Ensure(TextWriter.Null);
        var data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");
        Repo = Path.GetDirectoryName(data)!;
    }

    public string Dir { get; }

    public string Preload { get; }

    public string Repo { get; }

    /// <summary>Runs <paramref name="program"/> under a fresh <c>run</c> host: its status, stdout, stderr and the host's messages.</summary>
    public (int Status, string Stdout, string Stderr, string Host) Run(string? machine, string program, int timeoutSeconds, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var host = new StringWriter();
        using var h = RunHost.Create(machine, host);
        int status = h.Execute(new RunOptions
        {
            Program = program,
            Arguments = args,
            TimeoutSeconds = timeoutSeconds,
            ProgramStdout = stdout,
            ProgramStderr = stderr,
        }, Preload);
        return (status, stdout.ToString(), stderr.ToString(), host.ToString());
    }

    /// <summary>Compiles one of tools/dmabufsim-run/tests/*.c (with the tracer's uAPI header).</summary>
    public string Own(string name) => Compile(Path.Combine(Repo, "tools", "dmabufsim-run", "tests", name + ".c"), name,
        "-I", Path.Combine(Repo, "tools", "dmabufsim-trace"));

    /// <summary>Compiles one of tools/dmabufsim-run/tests/*.c with debug info and no optimisation (the --check programs).</summary>
    public string OwnDebug(string name) => CompileWith(Path.Combine(Repo, "tools", "dmabufsim-run", "tests", name + ".c"), name,
        ["-g", "-O0"], "-I", Path.Combine(Repo, "tools", "dmabufsim-trace"));

    /// <summary>Compiles a C file with gcc into the temp folder.</summary>
    public string Compile(string source, string name, params string[] extra) => CompileWith(source, name, ["-O2"], extra);

    /// <summary>Compiles a C file with gcc and <paramref name="flags"/> (after <paramref name="extra"/>) into the temp folder.</summary>
    public string CompileWith(string source, string name, string[] flags, params string[] extra)
    {
        var output = Path.Combine(Dir, name);
        lock (this)
        {
            if (File.Exists(output))
            {
                return output;
            }
            var psi = new ProcessStartInfo("gcc") { UseShellExecute = false, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(source)! };
            foreach (var a in extra.Concat(flags).Concat(["-o", output, source]))
            {
                psi.ArgumentList.Add(a);
            }
            Process p;
            try
            {
                p = Process.Start(psi)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("these tests compile C programs: install gcc (apt-get install gcc libc6-dev): " + e.Message);
            }
            using (p)
            {
                var err = p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, $"gcc {source}: {err}");
            }
            return output;
        }
    }

    /// <summary>Looking Glass's module/test.c, copied from ../shared/thirdparty (never committed) and compiled as is (<paramref name="debug"/>: with -g).</summary>
    public string KvmfrTest(bool debug = false)
    {
        string? dir = null;
        for (var d = new DirectoryInfo(Repo); d is not null; d = d.Parent)
        {
            var c = Path.Combine(d.FullName, "shared", "thirdparty", "looking-glass-kvmfr");
            if (File.Exists(Path.Combine(c, "test.c")))
            {
                dir = c;
                break;
            }
        }
        if (dir is null)
        {
            throw new InvalidOperationException("shared/thirdparty/looking-glass-kvmfr/test.c not found above the repository");
        }
        var copy = Path.Combine(Dir, "looking-glass");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(dir, "test.c"), Path.Combine(copy, "test.c"), overwrite: true);
        File.Copy(Path.Combine(dir, "kvmfr.h"), Path.Combine(copy, "kvmfr.h"), overwrite: true);
        return debug ? CompileWith(Path.Combine(copy, "test.c"), "test-g", ["-g", "-O0"]) : Compile(Path.Combine(copy, "test.c"), "test");
    }

    /// <summary>
    /// The kernel's tools/testing/selftests/sync (sync_test), copied from the unpacked 6.1 (or
    /// <paramref name="version"/>) source (<c>$DMABUFSIM_LINUX_SRC</c>, or src/linux-source-VERSION above the
    /// repository) and compiled unmodified.
    /// </summary>
    public string SyncTest(bool debug = false, string version = "6.1")
    {
        var src = LinuxSource(version);
        var selftests = Path.Combine(src, "tools", "testing", "selftests");
        string suffix = version == "6.1" ? "" : "-" + version;
        var copy = Path.Combine(Dir, "selftests" + suffix);
        Directory.CreateDirectory(Path.Combine(copy, "sync"));
        File.Copy(Path.Combine(selftests, "kselftest.h"), Path.Combine(copy, "kselftest.h"), overwrite: true);
        foreach (var f in Directory.GetFiles(Path.Combine(selftests, "sync")))
        {
            File.Copy(f, Path.Combine(copy, "sync", Path.GetFileName(f)), overwrite: true);
        }
        var dir = Path.Combine(copy, "sync");
        string[] units = ["sync.c", "sync_alloc.c", "sync_fence.c", "sync_merge.c", "sync_wait.c", "sync_stress_parallelism.c",
            "sync_stress_consumer.c", "sync_stress_merge.c"];
        return CompileWith(Path.Combine(dir, "sync_test.c"), (debug ? "sync_test-g" : "sync_test") + suffix, debug ? ["-g", "-O2"] : ["-O2"],
            [.. units.Select(u => Path.Combine(dir, u)), "-I", copy, "-pthread"]);
    }

    /// <summary>tools/testing/selftests/dmabuf-heaps/dmabuf-heap.c, compiled unmodified against the 6.1 uAPI headers.</summary>
    public string DmaHeapTest()
    {
        var src = LinuxSource();
        var inc = Path.Combine(Dir, "uapi-include");
        Directory.CreateDirectory(Path.Combine(inc, "drm"));
        foreach (var h in new[] { "drm.h", "drm_mode.h" })
        {
            File.Copy(Path.Combine(src, "include", "uapi", "drm", h), Path.Combine(inc, "drm", h), overwrite: true);
        }
        var copy = Path.Combine(Dir, "dmabuf-heap.c");
        File.Copy(Path.Combine(src, "tools", "testing", "selftests", "dmabuf-heaps", "dmabuf-heap.c"), copy, overwrite: true);
        // -D__user=: what headers_install strips from the uAPI headers.
        return Compile(copy, "dmabuf-heap", "-D__user=", "-I", inc);
    }

    /// <summary>
    /// A 6.12 selftest (<c>dmabuf-heaps/dmabuf-heap.c</c> or <c>drivers/dma-buf/udmabuf.c</c>) compiled unmodified as
    /// its Makefile does, with the 6.12 uAPI headers in place of headers_install's (KHDR_INCLUDES; <c>-D__user=</c>
    /// is what headers_install strips), linked dynamically.
    /// </summary>
    public string Selftest612(string relative)
    {
        var src = LinuxSource("6.12");
        var root = Path.Combine(Dir, "src-6.12");
        var inc = Path.Combine(root, "usr-include");
        Directory.CreateDirectory(Path.Combine(inc, "drm"));
        Directory.CreateDirectory(Path.Combine(inc, "linux"));
        foreach (var h in new[] { "drm.h", "drm_mode.h" })
        {
            File.Copy(Path.Combine(src, "include", "uapi", "drm", h), Path.Combine(inc, "drm", h), overwrite: true);
        }
        foreach (var h in new[] { "dma-buf.h", "dma-heap.h", "udmabuf.h", "memfd.h" })
        {
            File.Copy(Path.Combine(src, "include", "uapi", "linux", h), Path.Combine(inc, "linux", h), overwrite: true);
        }
        // the test and kselftest.h keep their places relative to each other ("../kselftest.h", "../../kselftest.h")
        var selftests = Path.Combine(root, "selftests");
        var target = Path.Combine(selftests, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(Path.Combine(src, "tools", "testing", "selftests", "kselftest.h"), Path.Combine(selftests, "kselftest.h"), overwrite: true);
        File.Copy(Path.Combine(src, "tools", "testing", "selftests", relative), target, overwrite: true);
        return Compile(target, Path.GetFileNameWithoutExtension(relative) + "-6.12", "-D__user=", "-isystem", inc);
    }

    // The unpacked source of VERSION (6.1 or 6.12): $DMABUFSIM_LINUX_SRC (6.1), src/linux-source-VERSION above the
    // repository, or the parts the tests use (tools/testing/selftests, include/uapi/drm, include/uapi/linux) extracted
    // once from Debian's linux-source-VERSION package (/usr/src/linux-source-VERSION.tar.xz; .ci/run installs it) into
    // ~/.cache/dmabufsim.
    private string LinuxSource(string version = "6.1")
    {
        var src = version == "6.1" ? Environment.GetEnvironmentVariable("DMABUFSIM_LINUX_SRC") : null;
        for (var d = new DirectoryInfo(Repo); string.IsNullOrEmpty(src) && d is not null; d = d.Parent)
        {
            var c = Path.Combine(d.FullName, "src", "linux-source-" + version);
            if (Directory.Exists(Path.Combine(c, "tools", "testing", "selftests", "sync")))
            {
                src = c;
            }
        }
        if (string.IsNullOrEmpty(src))
        {
            src = ExtractFromPackage(version);
        }
        return string.IsNullOrEmpty(src)
            ? throw new InvalidOperationException($"the Linux {version} source (tools/testing/selftests) was not found: set DMABUFSIM_LINUX_SRC, or install Debian's linux-source-{version} package (/usr/src/linux-source-{version}.tar.xz)")
            : src;
    }

    private static string? ExtractFromPackage(string version)
    {
        string tarball = $"/usr/src/linux-source-{version}.tar.xz";
        var cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "dmabufsim");
        var root = Path.Combine(cache, "linux-source-" + version);
        var done = Path.Combine(cache, $"linux-source-{version}.extracted");
        if (File.Exists(done))
        {
            return root;
        }
        if (!File.Exists(tarball))
        {
            return null;
        }
        Directory.CreateDirectory(cache);
        var psi = new System.Diagnostics.ProcessStartInfo("tar")
        {
            WorkingDirectory = cache,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-xJf", tarball, $"linux-source-{version}/tools/testing/selftests", $"linux-source-{version}/include/uapi/drm",
            $"linux-source-{version}/include/uapi/linux" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"tar -xJf {tarball} failed ({p.ExitCode}): {err}");
        }
        File.WriteAllText(done, tarball + "\n");
        return root;
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public sealed class RunTests(RunPrograms programs) : IClassFixture<RunPrograms>
{
    private (int Status, string Stdout, string Stderr, string Host) Run(string? machine, string program, params string[] args) =>
        programs.Run(machine, program, 600, args);

    [Fact]
    public void LookingGlassTestWithStaticDevicesPrintsTheDesignNotesSecondTranscript()
    {
        var test = programs.KvmfrTest();
        var (status, stdout, stderr, host) = Run("kvmfr kvmfr.static_size_mb=1,1,1,1,1,1,1,1,1,1", test);
        // ../shared/design/000_d40481ddbb9543c1.txt, "insmod kvmfr.ko static_size_mb=1,1,1,1,1,1,1,1,1,1" then ./test
        Assert.Equal(
            "Size: 1 MiB\n" +
            "Read string: Hello, world!\n" +
            "Read string: Hello, world!\n" +
            "Read string: Hello, world!\n" +
            "Index 1024: 0x6c6c6548\n" +
            "Index 1025: 0x77202c6f\n" +
            "Index 1026: 0x646c726f\n" +
            "Index 1027: 0xaaaa0021\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal("", host);
        Assert.Equal(0, status);
    }

    [Fact]
    public void LookingGlassTestAfterMknodWithoutStaticDevicesPrintsTheFirstTranscript()
    {
        var test = programs.KvmfrTest();
        // As the notes do: the major from /proc/devices, mknod /dev/kvmfr0 c MAJOR 0, then ./test (sh, awk and
        // mknod are real programs of the same tree, forked and exec'd on the same simulated machine).
        var script = Path.Combine(programs.Dir, "mknod-then-test.sh");
        File.WriteAllText(script, "major=$(awk '$2 == \"kvmfr\" { print $1 }' /proc/devices)\nmknod /dev/kvmfr0 c \"$major\" 0 && exec " + test + "\n");
        var (status, stdout, stderr, _) = Run("kvmfr", "/bin/sh", script);
        Assert.Equal("Size: 17592186044415 MiB\n", stdout);
        Assert.Equal("ioctl: Invalid argument\n", stderr);
        Assert.Equal(255, status);
        Assert.False(File.Exists("/dev/kvmfr0"), "the node is the simulated machine's, not the host's");
    }

    [Fact]
    public void KernelSyncSelftestsPassIncludingThePthreadStressTests()
    {
        // sw_sync at /sys/kernel/debug/sync/sw_sync (default machine), SYNC_IOC_MERGE/FILE_INFO, poll on sync_files,
        // threads waiting in poll for fences other threads signal, fork per test.
        var (status, stdout, stderr, _) = Run(null, programs.SyncTest());
        Assert.Contains("1..10\n", stdout, StringComparison.Ordinal);
        Assert.Contains("# Totals: pass:10 fail:0 xfail:0 xpass:0 skip:0 error:0", stdout, StringComparison.Ordinal);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void KernelDmaBufHeapSelftestPassesOnTheSystemHeap()
    {
        var (status, stdout, stderr, _) = Run("dma_heap", programs.DmaHeapTest());
        Assert.Equal(
            "Testing heap: system\n" +
            "=======================================\n" +
            "  Testing allocation and importing:   OK\n" +
            "  Testing alloced 4k buffers are zeroed:  OK\n" +
            "  Testing alloced 1024k buffers are zeroed:  OK\n" +
            "  Testing (theoretical)older alloc compat:  OK\n" +
            "  Testing (theoretical)newer alloc compat:  OK\n" +
            "  Testing expected error cases:  OK\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void LsOfDevDriListsTheMachinesNodes()
    {
        var (status, stdout, _, _) = Run(null, "/bin/ls", "/dev/dri");
        Assert.Equal("card0\nrenderD128\n", stdout);
        Assert.Equal(0, status);
    }

    [Fact]
    public void DumbBufferWrittenThroughGemAndReadThroughThePrimeDmaBuf()
    {
        var (status, stdout, stderr, _) = Run(null, programs.Own("prime_mmap"));
        Assert.Equal(
            "card0 fd 3 driver vgem\n" +
            // 64x64x32: pitch 256, size 16384 (drm_mode_create_dumb: pitch = width * cpp, size = PAGE_ALIGN(pitch * height)).
            "dumb handle 1 pitch 256 size 16384\n" +
            // the lowest free fd of the real process, with DRM_CLOEXEC -> O_CLOEXEC
            "dma-buf fd 4 cloexec 1\n" +
            "read through the dma-buf: Hello through PRIME\n" +
            "same page: X, size by lseek 16384\n" +
            // both simulated fds closed: the real placeholders went with them
            "next fd 3\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void ForkedChildWritesABufferItReceivedWithScmRights()
    {
        var (status, stdout, stderr, _) = Run(null, programs.Own("fork_scm"));
        Assert.Equal("parent reads: written by the child (child exit 0)\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void BadPointersDoubleCloseAndASegfaultGetLinuxAnswersAndLeaveTheMachineConsistent()
    {
        var host = new StringWriter();
        using var h = RunHost.Create(null, host);
        var live = h.Machine.GetRequiredService<LiveObjects>();
        int before = live.Alive().Count;
        var stdout = new StringWriter();
        int status = h.Execute(new RunOptions
        {
            Program = programs.Own("bad_input"),
            Arguments = ["segv"],
            TimeoutSeconds = 60,
            ProgramStdout = stdout,
            ProgramStderr = TextWriter.Null,
        }, programs.Preload);
        Assert.Equal(
            "create_dumb(16): -1 Bad address\n" +
            "version(name=8): -1 Bad address\n" +
            "munmap half: 0\n" +
            "dup: 4\n" +
            "close: 0\n" +
            "close again: -1 Bad file descriptor\n" +
            "ioctl on closed: -1 Bad file descriptor\n", stdout.ToString());
        Assert.Equal(128 + 11, status);
        // The dead process's exit closed its files and mappings: the dumb buffer and the DRM file are gone.
        Assert.Equal(before, live.Alive().Count);
        // The next program on the same machine runs.
        var again = new StringWriter();
        Assert.Equal(0, h.Execute(new RunOptions { Program = programs.Own("prime_mmap"), TimeoutSeconds = 60, ProgramStdout = again, ProgramStderr = TextWriter.Null }, programs.Preload));
        Assert.Contains("read through the dma-buf: Hello through PRIME", again.ToString(), StringComparison.Ordinal);
        Assert.Equal(before, live.Alive().Count);
    }

    [Fact]
    public void MalformedMessagesEndOnlyTheirSessionAndTheNextProcessRuns()
    {
        var host = new StringWriter();
        using var h = RunHost.Create(null, host);
        var live = h.Machine.GetRequiredService<LiveObjects>();
        int before = live.Alive().Count;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int status = h.Execute(new RunOptions { Program = programs.Own("bad_proto"), TimeoutSeconds = 120, ProgramStdout = stdout, ProgramStderr = stderr }, programs.Preload);
        Assert.Equal(
            "attach of a non-channel: session ended\n" +
            "short packet: session ended\n" +
            "oversized payload length: session ended\n" +
            "packet longer than its region: session ended\n" +
            "origin of 33 frames: session ended\n" +
            "hello: 1\n" +
            "poll of 1.5 descriptors: session ended\n" +
            "hello: 1\n" +
            "callback reply outside a callback: session ended\n" +
            "hello: 1\n" +
            // copy_from_user of drm_version from an unmapped address: -EFAULT; close of a descriptor never opened: -EBADF
            "wild pointer: answered, ret -14\n" +
            "then close(1000): answered, ret -9\n" +
            "the program's own DRM_IOCTL_VERSION: 0\n", stdout.ToString());
        Assert.Equal("", stderr.ToString());
        Assert.Equal(0, status);
        // Each broken session is named with what was wrong (RUN_CHAN_REGION is RUN_MAX_PAYLOAD + 8192 bytes, its
        // packet area 128 bytes less).
        var ended = host.ToString().Split('\n').Where(l => l.Contains("malformed message", StringComparison.Ordinal)).ToArray();
        Assert.Equal(7, ended.Length);
        foreach (var why in new[]
        {
            "(channel descriptor 0 is ", "(a message of 10 bytes (a header is 64))", "(payload of 1048577 bytes (limit 1048576))",
            $"(a packet of {(1 << 20) + 8192} bytes (limit {(1 << 20) + 8192 - 128}))", "(an origin of 264 bytes)",
            "(poll payload of 12 bytes)", "(a callback reply outside a callback)",
        })
        {
            Assert.Contains(ended, l => l.Contains(why, StringComparison.Ordinal) && l.EndsWith("): session ended", StringComparison.Ordinal));
        }
        // The machine is as before, and the next program on it runs.
        Assert.Equal(before, live.Alive().Count);
        var again = new StringWriter();
        Assert.Equal(0, h.Execute(new RunOptions { Program = programs.Own("prime_mmap"), TimeoutSeconds = 60, ProgramStdout = again, ProgramStderr = TextWriter.Null }, programs.Preload));
        Assert.Contains("read through the dma-buf: Hello through PRIME", again.ToString(), StringComparison.Ordinal);
    }
}
