using System.Reflection;
using Sim.Core;

namespace Sim.Teaching;

/// <summary>One C# member that carries a <see cref="KernelAttribute"/>.</summary>
/// <param name="Member">Type.Member.</param>
/// <param name="File">The kernel source file the attribute names, or null.</param>
/// <param name="CName">The C name the attribute carries.</param>
/// <param name="SourceFile">The C# file the member is written in, relative to the repository (<c>Sim.Core/Lib/Idr.cs</c>).</param>
public sealed record XrefEntry(string Member, string? File, string CName, string SourceFile);

/// <summary>
/// The C name -&gt; C# member cross-reference, read from the <c>[Kernel]</c> attributes of the model assemblies:
/// the tour names kernel functions by the names the code carries and shows where each is modelled.
/// </summary>
public static class KernelXref
{
    private static readonly Lazy<Dictionary<string, List<XrefEntry>>> Map = new(Collect);

    /// <summary>The assemblies whose types model the kernel.</summary>
    public static IEnumerable<Assembly> ModelAssemblies() =>
    [
        typeof(KernelAttribute).Assembly,
        typeof(Sim.DmaBufs.ServiceCollectionExtensions).Assembly,
        typeof(Sim.Drm.ServiceCollectionExtensions).Assembly,
        typeof(Sim.RdmaUmem.ServiceCollectionExtensions).Assembly,
    ];

    /// <summary>Every tagged member, by C name (ordinal), then C# file and member.</summary>
    public static IReadOnlyList<XrefEntry> All()
    {
        var all = new List<XrefEntry>();
        foreach (var list in Map.Value.Values)
        {
            all.AddRange(list);
        }
        all.Sort((a, b) =>
        {
            int c = string.CompareOrdinal(a.CName, b.CName);
            c = c != 0 ? c : string.CompareOrdinal(a.SourceFile, b.SourceFile);
            return c != 0 ? c : string.CompareOrdinal(a.Member, b.Member);
        });
        return all;
    }

    /// <summary>The members modelling <paramref name="cName"/> (empty when nothing carries that name).</summary>
    public static IReadOnlyList<XrefEntry> Find(string cName) =>
        Map.Value.TryGetValue(cName, out var l) ? l : [];

    /// <summary>True when some member carries <paramref name="cName"/>.</summary>
    public static bool IsModelled(string cName) => Map.Value.ContainsKey(cName);

    /// <summary>The kernel source file of <paramref name="cName"/> as the attributes name it, or null.</summary>
    public static string? SourceFile(string cName)
    {
        foreach (var e in Find(cName))
        {
            if (e.File is not null)
            {
                return e.File;
            }
        }
        return null;
    }

    private static Dictionary<string, List<XrefEntry>> Collect()
    {
        var map = new Dictionary<string, List<XrefEntry>>(StringComparer.Ordinal);
        foreach (var asm in ModelAssemblies())
        {
            foreach (var t in asm.GetTypes())
            {
                string project = asm.GetName().Name!;
                Add(map, t, t.Name, project);
                foreach (var m in t.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
                {
                    Add(map, m, t.Name + "." + (m is ConstructorInfo ? "ctor" : m.Name), project);
                }
            }
        }
        return map;
    }

    // The compiler's path of the file (absolute, or /_/... when path-mapped) from the project folder on, which is
    // named after the assembly: ".../Sim.Core/Lib/Idr.cs" -> "Sim.Core/Lib/Idr.cs".
    private static string RelativeSource(string path, string project)
    {
        path = path.Replace('\\', '/');
        int at = path.LastIndexOf("/" + project + "/", StringComparison.Ordinal);
        return at >= 0 ? path[(at + 1)..] : Path.GetFileName(path);
    }

    private static void Add(Dictionary<string, List<XrefEntry>> map, MemberInfo m, string where, string project)
    {
        foreach (var k in m.GetCustomAttributes<KernelAttribute>(false))
        {
            if (!map.TryGetValue(k.Name, out var list))
            {
                list = [];
                map.Add(k.Name, list);
            }
            list.Add(new XrefEntry(where, k.File, k.Name, RelativeSource(k.SourcePath, project)));
        }
    }
}
