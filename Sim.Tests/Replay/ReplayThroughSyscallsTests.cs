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

    private static IEnumerable<string> ModelIoctlMethods()
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
                        yield return m.Name;
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

    [Fact]
    public void No_replay_handler_calls_a_model_ioctl_function()
    {
        var methods = ModelIoctlMethods().Distinct().ToList();
        Assert.True(methods.Count >= 10, "model ioctl functions found: " + string.Join(", ", methods));
        string root = RepoRoot();
        var files = ReplayHandlerFiles(root).ToList();
        Assert.True(files.Count >= 8, "replay handler files found: " + files.Count);
        var calls = new List<string>();
        foreach (string f in files)
        {
            string text = File.ReadAllText(f);
            foreach (string m in methods)
            {
                // A call through any receiver except the syscall layer (ctx.Syscalls.Ioctl, Syscalls.Ioctl).
                foreach (Match hit in Regex.Matches(text, @"(\w+)\s*\.\s*" + Regex.Escape(m) + @"\s*[\(<]"))
                {
                    if (hit.Groups[1].Value != "Syscalls")
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
