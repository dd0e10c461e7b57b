using System.Diagnostics;
using System.Text;
using Sim.Machine;

namespace Sim.RealKernel;

/// <summary>
/// Prepares a bootable genuine Debian Linux for <c>dmabufsim realkernel</c>: the host packages (QEMU, busybox,
/// cpio), the kernel image package (<c>--kernel 6.1</c>: the one named by the dependencies of <c>linux-image-amd64</c>;
/// <c>--kernel 6.12</c>: <c>linux-image-6.12.118+deb12-amd64-unsigned</c> from bookworm-security, the build the
/// simulator's 6.12 profile follows), downloaded and unpacked into a cache outside the repository, the guest agent and
/// the tracer (built with the machine's gcc) and an initramfs holding busybox, the agent, the kernel's own drm /
/// drm_shmem_helper / vgem modules with their dependencies (6.12's are xz-compressed: unpacked on the host), and the
/// C library the tracer needs. Debian's 6.12 builds udmabuf and the system DMA-BUF heap in (CONFIG_UDMABUF=y,
/// CONFIG_DMABUF_HEAPS_SYSTEM=y; no CMA heap, no sw_sync); its 6.1 builds neither.
/// </summary>
public sealed class RealKernelImage
{
    /// <summary>The Debian packages the host needs.</summary>
    public static readonly string[] HostPackages = ["qemu-system-x86", "busybox-static", "cpio"];

    /// <summary>The modules the agent needs; their dependencies are added from the modules' own <c>depends=</c>.</summary>
    public static readonly string[] Modules = ["drm", "drm_shmem_helper", "vgem"];

    /// <summary>The kernels <c>--kernel</c> accepts.</summary>
    public static readonly string[] Kernels = ["6.1", "6.12"];

    /// <summary>The pinned 6.12 image package (the simulator's 6.12 profile is Debian's 6.12.118).</summary>
    public const string Kernel612Package = "linux-image-6.12.118+deb12-amd64-unsigned";

    /// <summary>The virtio-gpu guest's modules: virtio_pci binds QEMU's virtio-gpu-pci, virtio_gpu drives it (card0); vgem is card1.</summary>
    public static readonly string[] VirtioGpuModules = ["drm", "drm_shmem_helper", "virtio_pci", "virtio_gpu", "vgem"];

    /// <summary>The guests: <c>vgem</c> (card0 is vgem) and <c>virtio-gpu</c> (QEMU's virtio-gpu-pci with the real driver).</summary>
    public static readonly string[] Guests = ["vgem", "virtio-gpu"];

    private RealKernelImage(string cache, string repo, string kernel, string guest)
    {
        CacheDir = cache;
        RepoDir = repo;
        Kernel = kernel;
        Guest = guest;
    }

    /// <summary>The guest: <c>vgem</c> or <c>virtio-gpu</c> (QEMU adds <c>-device virtio-gpu-pci</c>).</summary>
    public string Guest { get; }

    /// <summary>The kernel line booted: <c>6.1</c> or <c>6.12</c>.</summary>
    public string Kernel { get; }

    /// <summary>The cache folder (default <c>~/.cache/dmabufsim</c>, or <c>$DMABUFSIM_CACHE</c>).</summary>
    public string CacheDir { get; }

    /// <summary>The repository (parent of <c>data/</c>).</summary>
    public string RepoDir { get; }

    /// <summary>The kernel image package, e.g. <c>linux-image-6.1.0-56-amd64</c>.</summary>
    public string KernelPackage { get; private set; } = "";

    /// <summary>The kernel release, e.g. <c>6.1.0-56-amd64</c>.</summary>
    public string KernelRelease { get; private set; } = "";

    /// <summary>The bzImage.</summary>
    public string KernelPath { get; private set; } = "";

    /// <summary>The initramfs built by <see cref="BuildInitramfs"/>.</summary>
    public string InitramfsPath { get; private set; } = "";

    /// <summary>
    /// Build folder of the C tools (outside the repository), one per clone: two clones sharing the cache never put
    /// each other's agent into their initramfs.
    /// </summary>
    public string BuildDir => Path.Combine(CacheDir, "build-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(RepoDir)))[..12]);

    /// <summary>The static guest agent.</summary>
    public string AgentPath => Path.Combine(BuildDir, "agent", "dmabufsim-agent");

    /// <summary>The LD_PRELOAD tracer.</summary>
    public string TracerPath => Path.Combine(BuildDir, "trace", "libdmabufsim-trace.so");

    /// <summary>The example program recorded under the tracer.</summary>
    public string ExamplePath => Path.Combine(BuildDir, "trace", "dumb_prime");

    /// <summary>Where the QEMU binary is.</summary>
    public static string Qemu => "qemu-system-x86_64";

    /// <summary>Finds the cache and the repository for <paramref name="kernel"/> (<c>6.1</c> or <c>6.12</c>); nothing is downloaded yet.</summary>
    public static RealKernelImage Locate(string kernel = "6.1", string guest = "vgem")
    {
        if (!Guests.Contains(guest, StringComparer.Ordinal))
        {
            throw new RealKernelException($"guest {guest}: expected {string.Join(" or ", Guests)}");
        }
        if (!Kernels.Contains(kernel, StringComparer.Ordinal))
        {
            throw new RealKernelException($"--kernel {kernel}: expected {string.Join(" or ", Kernels)}");
        }
        var cache = Environment.GetEnvironmentVariable("DMABUFSIM_CACHE");
        if (string.IsNullOrEmpty(cache))
        {
            cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "dmabufsim");
        }
        var data = DataLocator.FindDataDir() ?? throw new RealKernelException(DataLocator.NotFoundHint);
        var repo = Path.GetDirectoryName(data)!;
        if (!File.Exists(Path.Combine(repo, "tools", "realkernel", "agent", "agent.c")))
        {
            throw new RealKernelException($"{repo}: tools/realkernel/agent/agent.c not found");
        }
        Directory.CreateDirectory(cache);
        return new RealKernelImage(cache, repo, kernel, guest);
    }

    /// <summary>Everything: host packages, kernel, tools, initramfs. Progress lines go to <paramref name="log"/>.</summary>
    public void Prepare(TextWriter log, IEnumerable<(string Name, string Source)>? programs = null)
    {
        EnsureHostPackages(log);
        EnsureKernel(log);
        BuildTools(log);
        BuildInitramfs(log, programs ?? []);
    }

    /// <summary>Installs the missing host packages with apt-get when running as root; otherwise a clear error.</summary>
    public static void EnsureHostPackages(TextWriter log)
    {
        var missing = new List<string>();
        if (Which(Qemu) is null)
        {
            missing.Add("qemu-system-x86");
        }
        if (!File.Exists("/bin/busybox"))
        {
            missing.Add("busybox-static");
        }
        if (Which("cpio") is null)
        {
            missing.Add("cpio");
        }
        if (Which("gcc") is null || Which("make") is null)
        {
            missing.Add("gcc");
            missing.Add("make");
            missing.Add("libc6-dev");
        }
        if (missing.Count == 0)
        {
            return;
        }
        if (Environment.UserName != "root" && !IsRoot())
        {
            throw new RealKernelException($"missing host packages: {string.Join(' ', missing)} (run as root to install them, or: apt-get install -y {string.Join(' ', missing)})");
        }
        log.WriteLine($"realkernel: installing {string.Join(' ', missing)}");
        Run("apt-get", ["update"], null, log, allowFail: true);
        Run("apt-get", ["install", "-y", "--no-install-recommends", .. missing], null, log, env: ("DEBIAN_FRONTEND", "noninteractive"));
    }

    private static bool IsRoot()
    {
        try
        {
            return File.ReadAllText("/proc/self/status").Split('\n').Any(l => l.StartsWith("Uid:\t0\t", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Resolves the image package (6.1: the current one, <c>apt-cache depends linux-image-amd64</c>; 6.12: the pinned
    /// <see cref="Kernel612Package"/>), downloads and unpacks it.
    /// </summary>
    public void EnsureKernel(TextWriter log)
    {
        if (Kernel == "6.12")
        {
            EnsurePackage(Kernel612Package, log);
            return;
        }
        var marker = Path.Combine(CacheDir, "kernel-package.txt");
        string? pkg = ResolveKernelPackage();
        if (pkg is null && IsRoot())
        {
            log.WriteLine("realkernel: apt-get update (no package lists)");
            Run("apt-get", ["update"], null, log, allowFail: true);
            pkg = ResolveKernelPackage();
        }
        if (pkg is null && File.Exists(marker))
        {
            pkg = File.ReadAllText(marker).Trim(); // apt lists not available: use the last one prepared
        }
        if (pkg is null)
        {
            throw new RealKernelException("apt-cache depends linux-image-amd64 names no linux-image-6.1 package (run apt-get update)");
        }
        EnsurePackage(pkg, log);
        File.WriteAllText(marker, pkg + "\n");
    }

    // Downloads (apt-get download, as any user) and unpacks (dpkg -x) an image package into the cache once.
    private void EnsurePackage(string pkg, TextWriter log)
    {
        KernelPackage = pkg;
        KernelRelease = pkg["linux-image-".Length..];
        if (KernelRelease.EndsWith("-unsigned", StringComparison.Ordinal))
        {
            KernelRelease = KernelRelease[..^"-unsigned".Length];
        }
        var dir = Path.Combine(CacheDir, pkg);
        var root = Path.Combine(dir, "root");
        KernelPath = Path.Combine(root, "boot", $"vmlinuz-{KernelRelease}");
        if (!File.Exists(KernelPath))
        {
            Directory.CreateDirectory(dir);
            if (!Directory.EnumerateFiles(dir, "*.deb").Any())
            {
                log.WriteLine($"realkernel: apt-get download {pkg}");
                Run("apt-get", ["download", pkg], dir, log);
            }
            var deb = Directory.EnumerateFiles(dir, "*.deb").First();
            Directory.CreateDirectory(root);
            Run("dpkg", ["-x", deb, root], dir, log);
            File.Delete(deb);
        }
        if (!File.Exists(KernelPath))
        {
            throw new RealKernelException($"{KernelPath}: not in the package");
        }
    }

    /// <summary>The 6.1 image package <c>linux-image-amd64</c> depends on (<c>apt-cache depends</c>), or null.</summary>
    public static string? ResolveKernelPackage()
    {
        string? pkg = null;
        var deps = RunCapture("apt-cache", ["depends", "linux-image-amd64"], allowFail: true);
        foreach (var line in deps.Split('\n'))
        {
            var t = line.Trim();
            if (t.StartsWith("Depends: linux-image-6.1", StringComparison.Ordinal))
            {
                pkg = t["Depends: ".Length..].Trim();
            }
        }
        return pkg;
    }

    /// <summary>The module files (dependencies first) for <see cref="Modules"/>.</summary>
    public List<string> ModuleFiles()
    {
        var modDir = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(KernelPath)!)!, "lib", "modules", KernelRelease);
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(Path.Combine(modDir, "kernel"), "*.ko*", SearchOption.AllDirectories))
        {
            var n = Path.GetFileName(f);
            if (n.EndsWith(".ko", StringComparison.Ordinal) || n.EndsWith(".ko.xz", StringComparison.Ordinal))
            {
                byName[n[..n.IndexOf(".ko", StringComparison.Ordinal)].Replace('-', '_')] = f;
            }
        }
        var order = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Visit(string name)
        {
            if (!seen.Add(name))
            {
                return;
            }
            if (!byName.TryGetValue(name, out var file))
            {
                throw new RealKernelException($"module {name} not found under {modDir}");
            }
            file = Uncompressed(file);
            foreach (var dep in Depends(file))
            {
                Visit(dep.Replace('-', '_'));
            }
            order.Add(file);
        }
        foreach (var m in Guest == "virtio-gpu" ? VirtioGpuModules : Modules)
        {
            Visit(m);
        }
        return order;
    }

    // A .ko.xz module (6.12: CONFIG_MODULE_COMPRESS_XZ) unpacked once next to the package's root, as a plain .ko
    // (busybox insmod and the agent's finit_module get the plain ELF).
    private string Uncompressed(string file)
    {
        if (!file.EndsWith(".xz", StringComparison.Ordinal))
        {
            return file;
        }
        var dir = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(KernelPath)!)!)!, "modules-unpacked");
        Directory.CreateDirectory(dir);
        var plain = Path.Combine(dir, Path.GetFileName(file)[..^3]);
        if (!File.Exists(plain))
        {
            var bytes = RunCaptureBytes("xz", ["-dc", file]);
            File.WriteAllBytes(plain + ".tmp", bytes);
            File.Move(plain + ".tmp", plain, overwrite: true);
        }
        return plain;
    }

    /// <summary>The <c>depends=</c> list of a module's <c>.modinfo</c> section (what depmod writes to modules.dep).</summary>
    public static List<string> Depends(string koFile)
    {
        var bytes = File.ReadAllBytes(koFile);
        var key = "\0depends="u8.ToArray();
        int at = bytes.AsSpan().IndexOf(key);
        if (at < 0)
        {
            return [];
        }
        int start = at + key.Length;
        int end = Array.IndexOf(bytes, (byte)0, start);
        var text = Encoding.ASCII.GetString(bytes, start, end - start);
        return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>Builds the agent (static) and the tracer with the repository's Makefiles into <see cref="BuildDir"/>.</summary>
    public void BuildTools(TextWriter log)
    {
        var tools = Path.Combine(RepoDir, "tools");
        Run("make", ["-s", "-C", Path.Combine(tools, "realkernel", "agent"), $"BUILD={Path.Combine(BuildDir, "agent")}"], null, log);
        Run("make", ["-s", "-C", Path.Combine(tools, "dmabufsim-trace"), $"BUILD={Path.Combine(BuildDir, "trace")}"], null, log);
    }

    /// <summary>Compiles a C program for the guest (dynamic, so the tracer can be preloaded).</summary>
    public string CompileProgram(string source, TextWriter log)
    {
        var outPath = Path.Combine(BuildDir, "programs", Path.GetFileNameWithoutExtension(source));
        Directory.CreateDirectory(Path.GetDirectoryName(outPath)!);
        Run("gcc", ["-O2", "-Wall", "-Wextra", "-I", Path.Combine(RepoDir, "tools", "dmabufsim-trace"), "-o", outPath, source, "-ldl"], null, log);
        return outPath;
    }

    /// <summary>Writes the initramfs: /init, busybox, the agent, the tracer + libc, the modules, extra programs.</summary>
    public void BuildInitramfs(TextWriter log, IEnumerable<(string Name, string Path)> programs)
    {
        Directory.CreateDirectory(BuildDir);
        InitramfsPath = Path.Combine(BuildDir, Guest == "vgem" ? $"initramfs-{KernelRelease}.cpio" : $"initramfs-{KernelRelease}-{Guest}.cpio");
        var mods = ModuleFiles();
        using var fs = File.Create(InitramfsPath);
        var cpio = new CpioWriter(fs);
        foreach (var d in new[] { "bin", "dev", "proc", "sys", "tmp", "lib", "lib/modules", "lib64", "lib/x86_64-linux-gnu", "programs" })
        {
            cpio.Directory(d);
        }
        cpio.File("bin/busybox", File.ReadAllBytes("/bin/busybox"), 0x1ED);
        cpio.Symlink("bin/sh", "busybox");
        cpio.File("agent", File.ReadAllBytes(AgentPath), 0x1ED);
        cpio.File("tracer.so", File.ReadAllBytes(TracerPath), 0x1ED);
        foreach (var lib in new[] { "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2" })
        {
            cpio.File(lib.TrimStart('/'), File.ReadAllBytes(ResolveLink(lib)), 0x1ED);
        }
        var insmods = new StringBuilder();
        foreach (var m in mods)
        {
            var name = Path.GetFileName(m);
            cpio.File($"lib/modules/{name}", File.ReadAllBytes(m));
            if (!name.Equals("vgem.ko", StringComparison.Ordinal))
            {
                insmods.Append("insmod /lib/modules/").Append(name).Append('\n');
            }
        }
        cpio.File("programs/dumb_prime", File.ReadAllBytes(ExamplePath), 0x1ED);
        foreach (var (name, path) in programs)
        {
            cpio.File($"programs/{name}", File.ReadAllBytes(path), 0x1ED);
        }
        var init = "#!/bin/sh\n" +
            "/bin/busybox --install -s /bin\n" +
            "mount -t proc proc /proc\nmount -t sysfs sys /sys\nmount -t devtmpfs dev /dev\nmount -t tmpfs tmp /tmp\n" +
            insmods +
            "exec /agent /dev/ttyS1 /lib/modules/vgem.ko\n";
        cpio.File("init", Encoding.ASCII.GetBytes(init), 0x1ED);
        cpio.Finish();
        log.WriteLine($"realkernel: initramfs {InitramfsPath} ({fs.Length / 1024} KiB, modules: {string.Join(' ', mods.Select(Path.GetFileName))})");
    }

    private static string ResolveLink(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? path : info.ResolveLinkTarget(true)!.FullName;
    }

    /// <summary>The program on PATH, or null.</summary>
    public static string? Which(string program)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var p = Path.Combine(dir, program);
            if (File.Exists(p))
            {
                return p;
            }
        }
        return null;
    }

    internal static void Run(string exe, string[] args, string? cwd, TextWriter log, bool allowFail = false, (string, string)? env = null)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (cwd is not null)
        {
            psi.WorkingDirectory = cwd;
        }
        if (env is { } e)
        {
            psi.Environment[e.Item1] = e.Item2;
        }
        using var p = Process.Start(psi) ?? throw new RealKernelException($"{exe}: cannot start");
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && !allowFail)
        {
            throw new RealKernelException($"{exe} {string.Join(' ', args)}: exit {p.ExitCode}\n{stdout}{stderr.Result}");
        }
        _ = log;
    }

    private static byte[] RunCaptureBytes(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new RealKernelException($"{exe}: cannot start");
        var stderr = p.StandardError.ReadToEndAsync();
        using var ms = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(ms);
        p.WaitForExit();
        return p.ExitCode == 0 ? ms.ToArray() : throw new RealKernelException($"{exe} {string.Join(' ', args)}: exit {p.ExitCode}: {stderr.Result}");
    }

    internal static string RunCapture(string exe, string[] args, bool allowFail = false)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        try
        {
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 && !allowFail)
            {
                throw new RealKernelException($"{exe}: exit {p.ExitCode}: {stderr.Result}");
            }
            return stdout;
        }
        catch (System.ComponentModel.Win32Exception) when (allowFail)
        {
            return "";
        }
    }
}

/// <summary>Preparing or running the real kernel failed (a message for the user, not a simulator bug).</summary>
public sealed class RealKernelException : Exception
{
    /// <summary>Creates one.</summary>
    public RealKernelException(string message) : base(message)
    {
    }

    /// <summary>Creates one.</summary>
    public RealKernelException()
    {
    }

    /// <summary>Creates one.</summary>
    public RealKernelException(string message, Exception inner) : base(message, inner)
    {
    }
}
