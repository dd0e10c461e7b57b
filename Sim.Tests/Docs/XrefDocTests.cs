using System.Text;
using Sim.Teaching;
using Xunit;

namespace Sim.Tests.Docs;

/// <summary>
/// docs/xref.md: every <c>[Kernel]</c> attribute of the model assemblies (C name, kernel file, C# member, C# file),
/// read by <see cref="KernelXref"/>. Adding an attribute without regenerating the file fails this test.
/// </summary>
public class XrefDocTests
{
    /// <summary>The content of docs/xref.md.</summary>
    public static string Render()
    {
        var entries = KernelXref.All();
        var sb = new StringBuilder();
        sb.Append("# Kernel cross-reference\n\n");
        sb.Append("Every kernel function, struct, macro and file the simulator models, with the C# member that carries its\n");
        sb.Append("`[Kernel(\"c_name\", \"path/file.c\")]` attribute. Generated from the attributes of Sim.Core, Sim.DmaBuf,\n");
        sb.Append("Sim.Drm and Sim.RdmaUmem by `Sim.Tests/Docs/XrefDocTests.cs`; do not edit by hand. After adding or changing\n");
        sb.Append("an attribute, regenerate it:\n\n");
        sb.Append("```sh\n");
        sb.Append(GeneratedDoc.RegenVariable).Append("=1 dotnet test Sim.Tests --filter \"FullyQualifiedName~XrefDocTests\"\n");
        sb.Append("```\n\n");
        int names = entries.Select(e => e.CName).Distinct(StringComparer.Ordinal).Count();
        sb.Append(names).Append(" kernel names, ").Append(entries.Count).Append(" C# members.\n\n");
        sb.Append("| kernel name | kernel source | C# member | C# file |\n");
        sb.Append("|---|---|---|---|\n");
        foreach (var e in entries)
        {
            sb.Append("| `").Append(Cell(e.CName)).Append("` | ")
              .Append(e.File is null ? "" : Cell(e.File)).Append(" | `")
              .Append(Cell(e.Member)).Append("` | [")
              .Append(e.SourceFile).Append("](../").Append(e.SourceFile).Append(") |\n");
        }
        return sb.ToString();
    }

    private static string Cell(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);

    [Fact]
    public void XrefMdIsCurrent() => GeneratedDoc.Check("docs/xref.md", Render(), nameof(XrefDocTests));

    [Fact]
    public void EveryEntryNamesItsCSharpFile()
    {
        string root = GeneratedDoc.RepoRoot();
        foreach (var e in KernelXref.All())
        {
            Assert.True(File.Exists(Path.Combine(root, e.SourceFile)), $"{e.CName} -> {e.Member}: no file {e.SourceFile}");
        }
    }
}
