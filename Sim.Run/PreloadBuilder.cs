// Builds libdmabufsim-run.so from the source embedded in this assembly (tools/dmabufsim-run) with the system C
// compiler, once, into the cache folder (as capture builds the tracer); `make -C tools/dmabufsim-run` builds the same.
// `run --trace` also builds the real-kernel tracer (tools/dmabufsim-trace) the same way.
using System.Diagnostics;
using System.Security.Cryptography;

namespace Sim.Run;

/// <summary>The preload library of <c>dmabufsim run</c>, built on first use.</summary>
public static class PreloadBuilder
{
    /// <summary>The cache folder: <c>$DMABUFSIM_CACHE</c> or <c>~/.cache/dmabufsim</c>.</summary>
    public static string CacheDir
    {
        get
        {
            var cache = Environment.GetEnvironmentVariable("DMABUFSIM_CACHE");
            return string.IsNullOrEmpty(cache)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "dmabufsim")
                : cache;
        }
    }

    /// <summary>The built library's path (built now when the cache has no build of this source).</summary>
    public static string Ensure(TextWriter log) =>
        Build(log, "run", "libdmabufsim-run.so", ["dmabufsim_run.c", "dmabufsim_run_proto.h"], ["dmabufsim_run.c"]);

    /// <summary>
    /// The LD_PRELOAD tracer <c>libdmabufsim-trace.so</c> (tools/dmabufsim-trace, the one <c>capture</c> runs on the
    /// real kernel), built now when the cache has no build of this source.
    /// </summary>
    public static string EnsureTracer(TextWriter log) =>
        Build(log, "trace", "libdmabufsim-trace.so", ["dmabufsim_trace.c", "trace_fmt.c", "trace_fmt.h", "dmabufsim_uapi.h"],
            ["dmabufsim_trace.c", "trace_fmt.c"]);

    private static string Build(TextWriter log, string kind, string libName, string[] files, string[] sources)
    {
        ArgumentNullException.ThrowIfNull(log);
        var bytes = files.Select(Resource).ToArray();
        var hash = Convert.ToHexStringLower(SHA256.HashData([.. bytes.SelectMany(b => b)]))[..16];
        var dir = Path.Combine(CacheDir, kind + "-" + hash);
        var lib = Path.Combine(dir, libName);
        if (File.Exists(lib))
        {
            return lib;
        }
        var cc = Which("gcc") ?? Which("cc")
            ?? throw new RunException($"dmabufsim run: no C compiler to build {libName}: install gcc (apt-get install gcc libc6-dev)");
        Directory.CreateDirectory(dir);
        for (int k = 0; k < files.Length; k++)
        {
            File.WriteAllBytes(Path.Combine(dir, files[k]), bytes[k]);
        }
        var tmp = lib + "." + Environment.ProcessId + ".tmp";
        var psi = new ProcessStartInfo(cc) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-O2", "-Wall", "-std=gnu11", "-fPIC", "-shared", "-o", tmp }.Concat(sources.Select(f => Path.Combine(dir, f))).Concat(["-ldl", "-lpthread"]))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new RunException($"dmabufsim run: building {libName} with {cc} failed:\n{output}{err.Result}");
        }
        File.Move(tmp, lib, overwrite: true);
        log.WriteLine($"dmabufsim run: built {lib}");
        return lib;
    }

    private static byte[] Resource(string name)
    {
        using var s = typeof(PreloadBuilder).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"embedded {name} missing");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    private static string? Which(string name)
    {
        foreach (var d in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = Path.Combine(d, name);
            if (File.Exists(f))
            {
                return f;
            }
        }
        return null;
    }
}
