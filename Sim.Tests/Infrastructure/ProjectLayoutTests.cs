using System.Xml.Linq;
using Xunit;

namespace Sim.Tests.Infrastructure;

/// <summary>
/// The size and dependency rules of issue 14, read from the repository's files: nothing references the
/// executable (<c>Sim.Cli</c>), <c>Sim.Cli</c> holds at most 2,000 lines of C# (only the verbs), and no C# file
/// outside <c>Sim.Tests</c> holds more than 700 lines (a big kernel file splits into partial files named for the
/// part, e.g. <c>DmaBuf.Attach.cs</c>).
/// </summary>
public class ProjectLayoutTests
{
    private const int CliLineLimit = 2000;
    private const int FileLineLimit = 700;

    /// <summary>Files over the limit on purpose for now, each with the reason. Keep this list empty.</summary>
    private static readonly Dictionary<string, string> OverLimitForNow = new(StringComparer.Ordinal)
    {
    };

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Simulator.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Simulator.sln not found above " + AppContext.BaseDirectory);
    }

    // The repository's own files: not bin/ or obj/ output, not hidden folders.
    private static IEnumerable<string> SourceFiles(string root, string pattern) =>
        Directory.EnumerateFiles(root, pattern, SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(r => !r.Split('/').Any(part => part is "bin" or "obj" || part.StartsWith('.')))
            .Order(StringComparer.Ordinal);

    private static int Lines(string path) => File.ReadLines(path).Count();

    [Fact]
    public void No_project_references_the_executable()
    {
        var root = RepoRoot();
        var projects = SourceFiles(root, "*.csproj").ToList();
        Assert.Contains("Sim.Cli/Sim.Cli.csproj", projects);
        Assert.Contains("Sim.Tests/Sim.Tests.csproj", projects);
        var offenders = new List<string>();
        foreach (var p in projects)
        {
            foreach (var reference in XDocument.Load(Path.Combine(root, p)).Descendants("ProjectReference"))
            {
                var include = (string?)reference.Attribute("Include") ?? "";
                if (Path.GetFileName(include.Replace('\\', '/')) == "Sim.Cli.csproj")
                {
                    offenders.Add($"{p} -> {include}");
                }
            }
        }
        Assert.Empty(offenders);
    }

    [Fact]
    public void Sim_Cli_holds_only_the_verbs()
    {
        var root = RepoRoot();
        var files = SourceFiles(Path.Combine(root, "Sim.Cli"), "*.cs").ToList();
        Assert.Contains("Program.cs", files);
        int total = files.Sum(f => Lines(Path.Combine(root, "Sim.Cli", f)));
        Assert.True(total <= CliLineLimit, $"Sim.Cli holds {total} lines of C# (at most {CliLineLimit}): {string.Join(", ", files)}");
    }

    [Fact]
    public void No_source_file_outside_the_tests_is_over_700_lines()
    {
        var root = RepoRoot();
        var files = SourceFiles(root, "*.cs").Where(f => !f.StartsWith("Sim.Tests/", StringComparison.Ordinal)).ToList();
        Assert.Contains("Sim.DmaBuf/DmaBuf.cs", files);
        var over = new List<string>();
        foreach (var f in files)
        {
            int n = Lines(Path.Combine(root, f));
            if (n > FileLineLimit && !OverLimitForNow.ContainsKey(f))
            {
                over.Add($"{f}: {n} lines");
            }
        }
        Assert.Empty(over);
    }

    [Fact]
    public void The_over_limit_list_holds_only_files_still_over_the_limit()
    {
        var root = RepoRoot();
        foreach (var f in OverLimitForNow.Keys)
        {
            var path = Path.Combine(root, f);
            Assert.True(File.Exists(path) && Lines(path) > FileLineLimit, $"{f} is no longer over {FileLineLimit} lines: remove it from the list");
        }
    }

    [Fact]
    public void One_name_per_concept_outside_the_tests()
    {
        // Issue 14: PAGE_SIZE/PAGE_SHIFT live in Align only; the type DmaBuf is written plainly (its project's root
        // namespace is Sim.DmaBufs), never as Sim.DmaBuf.DmaBuf or through an alias; no merge markers of old branches.
        var root = RepoRoot();
        var found = new List<string>();
        foreach (var f in SourceFiles(root, "*.cs").Where(f => !f.StartsWith("Sim.Tests/", StringComparison.Ordinal)))
        {
            int n = 0;
            foreach (var line in File.ReadLines(Path.Combine(root, f)))
            {
                n++;
                if ((System.Text.RegularExpressions.Regex.IsMatch(line, @"\bconst\s+\w+\s+PAGE_(SIZE|SHIFT)\s*=\s*\d") && f != "Sim.Core/Lib/Align.cs")
                    || line.Contains("Sim.DmaBuf.", StringComparison.Ordinal)
                    || System.Text.RegularExpressions.Regex.IsMatch(line, @"^using\s+\w+\s*=\s*Sim\.DmaBufs\.DmaBuf;")
                    || line.Contains("// --- end wip/", StringComparison.Ordinal))
                {
                    found.Add($"{f}:{n}: {line.Trim()}");
                }
            }
        }
        Assert.Empty(found);
    }
}
