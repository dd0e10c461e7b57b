namespace Sim.RealKernel;

/// <summary>
/// The kernel's own selftests for what Debian's kernel builds, from Debian's source of the same kernel, compiled here
/// unmodified and dynamically linked (as <c>dmabufsim run</c> runs them) and run in the guest: on 6.12,
/// <c>dmabuf-heaps/dmabuf-heap.c</c> (system heap, imports into vgem) and <c>drivers/dma-buf/udmabuf.c</c> (its
/// test-6 maps a 2 GiB hugetlb memfd: the pool is filled through <c>/proc/sys/vm/nr_hugepages</c> for the test and
/// emptied after it, so the guest needs about 2.5 GiB of RAM, <c>--mem 3072</c>). Debian's 6.1 builds neither
/// feature and neither kernel has sw_sync, so <c>sync/</c> has no real-kernel run.
/// </summary>
public static class GuestSelftests
{
    /// <summary>One selftest: its name, its path under tools/testing/selftests, the result count its plan prints.</summary>
    public sealed record Selftest(string Name, string Relative, int Results, string Before = "", string After = "");

    /// <summary>The huge pages test-6 of the udmabuf selftest maps (MEMFD_SIZE 1024 pages of 2 MiB).</summary>
    public const int UdmabufHugePages = 1024;

    /// <summary>The selftests of <paramref name="kernel"/>'s features Debian builds.</summary>
    public static IReadOnlyList<Selftest> For(string kernel) => kernel == "6.12"
        ?
        [
            new("dmabuf-heap", "dmabuf-heaps/dmabuf-heap.c", 11),
            new("udmabuf", "drivers/dma-buf/udmabuf.c", 6,
                $"echo {UdmabufHugePages} > /proc/sys/vm/nr_hugepages; ", "; s=$?; echo 0 > /proc/sys/vm/nr_hugepages; exit $s"),
        ]
        : [];

    /// <summary>Compiles <paramref name="kernel"/>'s selftests (for the initramfs' /programs): name and binary.</summary>
    public static List<(string Name, string Path)> Build(RealKernelImage image, string kernel, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(image);
        var tests = For(kernel);
        if (tests.Count == 0)
        {
            return [];
        }
        var src = Source(image.RepoDir, kernel);
        var root = Path.Combine(image.BuildDir, "selftests-" + kernel);
        var inc = Path.Combine(root, "usr-include");
        Directory.CreateDirectory(Path.Combine(inc, "drm"));
        Directory.CreateDirectory(Path.Combine(inc, "linux"));
        // headers_install's uAPI headers (KHDR_INCLUDES): the source's include/uapi, __user stripped by -D__user=
        foreach (var h in new[] { "drm.h", "drm_mode.h" })
        {
            File.Copy(Path.Combine(src, "include", "uapi", "drm", h), Path.Combine(inc, "drm", h), overwrite: true);
        }
        foreach (var h in new[] { "dma-buf.h", "dma-heap.h", "udmabuf.h", "memfd.h" })
        {
            File.Copy(Path.Combine(src, "include", "uapi", "linux", h), Path.Combine(inc, "linux", h), overwrite: true);
        }
        var selftests = Path.Combine(root, "selftests");
        Directory.CreateDirectory(selftests);
        File.Copy(Path.Combine(src, "tools", "testing", "selftests", "kselftest.h"), Path.Combine(selftests, "kselftest.h"), overwrite: true);
        var built = new List<(string, string)>();
        foreach (var t in tests)
        {
            var target = Path.Combine(selftests, t.Relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(src, "tools", "testing", "selftests", t.Relative), target, overwrite: true);
            var output = Path.Combine(root, "selftest-" + t.Name);
            RealKernelImage.Run("gcc", ["-O2", "-D__user=", "-isystem", inc, "-o", output, target], null, log);
            built.Add(("selftest-" + t.Name, output));
        }
        return built;
    }

    /// <summary>Runs the selftests built for <paramref name="kernel"/>; one check per test (its TAP totals and exit status).</summary>
    public static void Run(GuestSession guest, string kernel, Action<string, bool, string> check, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(guest);
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(log);
        foreach (var t in For(kernel))
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var (status, output) = guest.Exec($"{t.Before}/programs/selftest-{t.Name}{t.After}");
            log.Write(output);
            string totals = $"# Totals: pass:{t.Results} fail:0 xfail:0 xpass:0 skip:0 error:0";
            bool ok = status == 0 && output.Contains(totals, StringComparison.Ordinal);
            var last = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith("# Totals", StringComparison.Ordinal))
                ?? output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "";
            check("selftest-" + t.Name, ok, $"exit {status}, {last.TrimStart('#', ' ')}, {sw.Elapsed.TotalSeconds:F1} s");
        }
    }

    // The unpacked source: src/linux-source-VERSION above the repository, or the parts the selftests need extracted
    // once from Debian's linux-source-VERSION package (/usr/src/linux-source-VERSION.tar.xz) into ~/.cache/dmabufsim
    // (the place the run tests extract to).
    private static string Source(string repo, string kernel)
    {
        for (var d = new DirectoryInfo(repo); d is not null; d = d.Parent)
        {
            var c = Path.Combine(d.FullName, "src", "linux-source-" + kernel);
            if (Directory.Exists(Path.Combine(c, "tools", "testing", "selftests")) && Directory.Exists(Path.Combine(c, "include", "uapi", "linux")))
            {
                return c;
            }
        }
        string tarball = $"/usr/src/linux-source-{kernel}.tar.xz";
        var cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "dmabufsim");
        var root = Path.Combine(cache, "linux-source-" + kernel);
        var done = Path.Combine(cache, $"linux-source-{kernel}.extracted");
        if (File.Exists(done) && Directory.Exists(Path.Combine(root, "include", "uapi", "linux")))
        {
            return root;
        }
        if (!File.Exists(tarball))
        {
            throw new RealKernelException($"the Linux {kernel} source was not found: install Debian's linux-source-{kernel} package ({tarball})");
        }
        Directory.CreateDirectory(cache);
        RealKernelImage.Run("tar", ["-xJf", tarball, $"linux-source-{kernel}/tools/testing/selftests", $"linux-source-{kernel}/include/uapi/drm",
            $"linux-source-{kernel}/include/uapi/linux"], cache, TextWriter.Null);
        File.WriteAllText(done, tarball + "\n");
        return root;
    }
}
