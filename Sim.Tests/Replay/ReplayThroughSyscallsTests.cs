using System.Reflection;
using System.Text.RegularExpressions;
using Sim.Core;
using Sim.Core.Kernel;
using Xunit;

namespace Sim.Tests.Replay;

/// <summary>
/// Replay reaches the models' ioctls only through the syscall layer: no replay handler (the files of the
/// Replay/ folders and every *ReplayOps.cs) calls a model's ioctl function (every member whose [Kernel] name
/// contains "ioctl": drm_ioctl, dma_buf_ioctl, vgem_fence_attach_ioctl, ...) other than
/// <see cref="Syscalls.Ioctl"/> (ksys_ioctl).
/// </summary>
public class ReplayThroughSyscallsTests
{
    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Simulator.sln")))
        {
            dir = dir.Parent;
        }
        return dir!.FullName;
    }

    // The syscall layer's own entry points: Syscalls (ksys_ioctl, ...) and the per-process front door
    // Process.Ioctl(fd, cmd, UserArg) that forwards to it.
    private static readonly HashSet<string> SyscallEntryNames =
        typeof(Syscalls).GetMethods().Concat(typeof(Sim.Core.Kernel.Process).GetMethods()).Select(m => m.Name).ToHashSet();

    private static IEnumerable<(string Type, string Method)> ModelIoctlMethods()
    {
        foreach (string name in new[] { "Sim.Core", "Sim.DmaBuf", "Sim.Drm", "Sim.RdmaUmem" })
        {
            foreach (var t in Assembly.Load(name).GetTypes())
            {
                if (t == typeof(Syscalls))
                {
                    continue;
                }
                foreach (var m in t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
                {
                    if (m.GetCustomAttributes<KernelAttribute>().Any(k => k.Name.Contains("ioctl", StringComparison.Ordinal)))
                    {
                        yield return (t.Name, m.Name);
                    }
                }
            }
        }
    }

    private static IEnumerable<string> ReplayHandlerFiles(string root) =>
        Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal)
                && !f.Contains("Sim.Tests", StringComparison.Ordinal)
                && (f.Contains("/Replay/", StringComparison.Ordinal) || f.EndsWith("ReplayOps.cs", StringComparison.Ordinal)));

    // stress and the FsCheck model properties (the command objects and their driver), and difftest's simulator side
    // (the runner that replays the real kernel's answers on the models).
    private static IEnumerable<string> StressAndDifftestFiles(string root) =>
        Directory.EnumerateFiles(Path.Combine(root, "Sim.Reliability", "Use"), "*.cs", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "Sim.Reliability"), "RandomUse*.cs"))
            .Append(Path.Combine(root, "Sim.Reliability", "StressRun.cs"))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "Sim.RealKernel", "DiffTest"), "*.cs"))
            .Append(Path.Combine(root, "Sim.RealKernel", "DiffTestRun.cs"));

    [Fact]
    public void No_replay_handler_calls_a_model_ioctl_function() => AssertNoModelIoctlCalls(ReplayHandlerFiles(RepoRoot()).ToList(), 8);

    [Fact]
    public void Stress_and_difftest_reach_the_models_only_through_the_syscall_layer() =>
        AssertNoModelIoctlCalls(StressAndDifftestFiles(RepoRoot()).ToList(), 20);

    private static void AssertNoModelIoctlCalls(List<string> files, int atLeast)
    {
        var methods = ModelIoctlMethods().Distinct().ToList();
        Assert.True(methods.Count >= 10, "model ioctl functions found: " + string.Join(", ", methods));
        Assert.Contains(("DrmIoctl", "Ioctl"), methods);
        string root = RepoRoot();
        Assert.True(files.Count >= atLeast, "files found: " + files.Count);
        Assert.All(files, f => Assert.True(File.Exists(f), f));
        var calls = new List<string>();
        foreach (string f in files)
        {
            string text = File.ReadAllText(f);
            foreach (var (type, m) in methods)
            {
                // A call through any receiver except the syscall layer (ctx.Syscalls.Ioctl, Syscalls.Ioctl). A model
                // function that shares its name with a syscall entry (drm_ioctl is DrmIoctl.Ioctl, like Process.Ioctl)
                // is recognised by its type's name as the receiver.
                bool shared = SyscallEntryNames.Contains(m);
                foreach (Match hit in Regex.Matches(text, @"(\w+)\s*\.\s*" + Regex.Escape(m) + @"\s*[\(<]"))
                {
                    if (hit.Groups[1].Value != "Syscalls" && (!shared || hit.Groups[1].Value == type))
                    {
                        calls.Add($"{Path.GetRelativePath(root, f)}: {hit.Value}");
                    }
                }
            }
        }
        Assert.Empty(calls);
    }

    [Fact]
    public void Replay_handlers_reach_the_models_through_the_typed_session()
    {
        // ReplaySession.Get<T> is what the typed members (ReplaySession's, Sim.DmaBuf's DmaBufReplaySession) are
        // made of; the handlers use those members, not the service locator.
        string root = RepoRoot();
        var uses = ReplayHandlerFiles(root)
            .Where(f => !f.EndsWith("/ReplaySession.cs", StringComparison.Ordinal) && !f.EndsWith("/DmaBufReplaySession.cs", StringComparison.Ordinal))
            .SelectMany(f => Regex.Matches(File.ReadAllText(f), @"\.Get<\w+>\(\)").Select(m => Path.GetRelativePath(root, f) + ": " + m.Value))
            .ToList();
        Assert.Empty(uses);
    }
}
