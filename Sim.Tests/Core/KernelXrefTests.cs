using System.Reflection;
using Sim.Core;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>The [Kernel] cross-reference: C names ride along on the C# members that model them.</summary>
public class KernelXrefTests
{
    private static IEnumerable<Assembly> ModelAssemblies() =>
    [
        typeof(KernelAttribute).Assembly,
        typeof(Sim.DmaBufs.ServiceCollectionExtensions).Assembly,
        typeof(Sim.Drm.ServiceCollectionExtensions).Assembly,
        typeof(Sim.RdmaUmem.ServiceCollectionExtensions).Assembly,
    ];

    /// <summary>Every C name mapped to the C# members that carry it.</summary>
    public static SortedDictionary<string, List<string>> Collect()
    {
        var map = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var asm in ModelAssemblies())
        {
            foreach (var t in asm.GetTypes())
            {
                Add(map, t, t.FullName!);
                foreach (var m in t.GetMembers(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
                {
                    Add(map, m, t.FullName + "." + m.Name);
                }
            }
        }
        return map;
    }

    private static void Add(SortedDictionary<string, List<string>> map, MemberInfo m, string where)
    {
        foreach (var k in m.GetCustomAttributes<KernelAttribute>(false))
        {
            if (!map.TryGetValue(k.Name, out var list))
            {
                list = [];
                map.Add(k.Name, list);
            }
            list.Add(where);
        }
    }

    [Fact]
    public void CoreKernelNamesAreTagged()
    {
        var map = Collect();
        foreach (var name in new[] { "sg_next", "sg_alloc_table", "idr_alloc", "kref", "do_mmap", "do_munmap", "fput", "alloc_fd", "register_chrdev", "memparse" })
        {
            Assert.True(map.ContainsKey(name), $"no C# member carries [Kernel(\"{name}\")]");
        }
    }

    [Fact]
    public void KernelNamesAreCNames()
    {
        foreach (var (name, where) in Collect())
        {
            Assert.False(string.IsNullOrWhiteSpace(name), string.Join(", ", where));
            Assert.DoesNotContain("(", name, StringComparison.Ordinal);
        }
    }
}
