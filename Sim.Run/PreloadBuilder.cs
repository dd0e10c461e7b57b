// Builds libdmabufsim-run.so from the source embedded in this assembly (tools/dmabufsim-run) with the system C
// compiler, once, into the cache folder (as capture builds the tracer); `make -C tools/dmabufsim-run` builds the same.
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
    public static string Ensure(TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var c = Resource("dmabufsim_run.c");
        var h = Resource("dmabufsim_run_proto.h");
        var hash = Convert.ToHexStringLower(SHA256.HashData([.. c, .. h]))[..16];
        var dir = Path.Combine(CacheDir, "run-" + hash);
        var lib = Path.Combine(dir, "libdmabufsim-run.so");
        if (File.Exists(lib))
        {
            return lib;
        }
        var cc = Which("gcc") ?? Which("cc")
            ?? throw new RunException("dmabufsim run: no C compiler to build the preload library: install gcc (apt-get install gcc libc6-dev)");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "dmabufsim_run.c"), c);
        File.WriteAllBytes(Path.Combine(dir, "dmabufsim_run_proto.h"), h);
        var tmp = lib + "." + Environment.ProcessId + ".tmp";
        var psi = new ProcessStartInfo(cc) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { "-O2", "-Wall", "-std=gnu11", "-fPIC", "-shared", "-o", tmp, Path.Combine(dir, "dmabufsim_run.c"), "-ldl", "-lpthread" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new RunException($"dmabufsim run: building the preload library with {cc} failed:\n{output}{err.Result}");
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
