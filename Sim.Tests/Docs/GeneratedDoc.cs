using Xunit;

namespace Sim.Tests.Docs;

/// <summary>
/// A file under <c>docs/</c> that a test generates from the code: the test compares it with what is committed and
/// fails when they differ, or rewrites it when <c>DMABUFSIM_REGEN_DOCS=1</c> is set.
/// </summary>
public static class GeneratedDoc
{
    /// <summary>The environment variable that makes the doc tests rewrite the generated files.</summary>
    public const string RegenVariable = "DMABUFSIM_REGEN_DOCS";

    /// <summary>The repository root: the first folder holding <c>Simulator.sln</c> above the test assembly.</summary>
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Simulator.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("Simulator.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Checks that <paramref name="relativePath"/> (from the repository root) holds <paramref name="generated"/>;
    /// with <see cref="RegenVariable"/>=1 writes it instead. <paramref name="testName"/> names the test to rerun.
    /// </summary>
    public static void Check(string relativePath, string generated, string testName)
    {
        string path = Path.Combine(RepoRoot(), relativePath);
        if (Environment.GetEnvironmentVariable(RegenVariable) == "1")
        {
            File.WriteAllText(path, generated);
            return;
        }
        string committed = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";
        if (committed == generated)
        {
            return;
        }
        string[] a = committed.Split('\n');
        string[] b = generated.Split('\n');
        int line = 0;
        while (line < a.Length && line < b.Length && a[line] == b[line])
        {
            line++;
        }
        Assert.Fail(
            $"{relativePath} is stale (first difference at line {line + 1}:\n  committed: {(line < a.Length ? a[line] : "<end>")}\n  generated: {(line < b.Length ? b[line] : "<end>")}).\n" +
            $"Regenerate it: {RegenVariable}=1 dotnet test Sim.Tests --filter \"FullyQualifiedName~{testName}\", then commit it.");
    }
}
