using System.Reflection;
using System.Runtime.CompilerServices;
using Xunit;

namespace Sim.Tests.Infrastructure;

/// <summary>
/// Two machines in one process never see each other: the model and library assemblies hold no static field that
/// can change (every static is readonly or a constant, except the per-thread <c>current</c> pointers, which are
/// [ThreadStatic]), and no static readonly field holds a mutable collection except the listed ones.
/// </summary>
public class ModelStaticsTests
{
    private static readonly string[] s_assemblies =
    [
        "Sim.Core", "Sim.DmaBuf", "Sim.Drm", "Sim.RdmaUmem", "Sim.Machine", "Sim.Reliability", "Sim.Teaching", "Sim.RealKernel", "Sim.Timeline", "Sim.Run",
    ];

    // Shared on purpose: the registry of fault site definitions (names and errnos, code metadata like the kernel's
    // static fault_attr declarations; the arming lives in each task's injector), a weak table keyed by each
    // machine's own sg tables (one machine's tables are never another's keys), and the composition's record of
    // which registration sets were validated once (a cost cache; no machine reads another's state through it).
    private static readonly string[] s_allowed =
    [
        "Sim.Core.Debug.FaultSite.s_sites", "Sim.RdmaUmem.IbUmemDmabuf.Indexes", "Sim.Machine.Composition.s_validated",
    ];

    private static IEnumerable<FieldInfo> Statics()
    {
        foreach (string name in s_assemblies)
        {
            var asm = Assembly.Load(name);
            foreach (var t in asm.GetTypes())
            {
                if (t.IsDefined(typeof(CompilerGeneratedAttribute), false) || t.Name.Contains('<', StringComparison.Ordinal))
                {
                    continue; // lambda caches and the like
                }
                foreach (var f in t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (!f.IsLiteral)
                    {
                        yield return f;
                    }
                }
            }
        }
    }

    [Fact]
    public void No_static_field_of_a_model_or_library_can_change()
    {
        var writable = Statics()
            .Where(f => !f.IsInitOnly && !f.IsDefined(typeof(ThreadStaticAttribute)) && !f.IsDefined(typeof(CompilerGeneratedAttribute)))
            .Select(f => f.DeclaringType!.FullName + "." + f.Name)
            .ToList();
        Assert.Empty(writable);
    }

    [Fact]
    public void No_static_readonly_field_holds_a_mutable_collection()
    {
        static bool Mutable(Type t) => t.IsGenericType && t.GetGenericTypeDefinition() is var g
            && (g == typeof(Dictionary<,>) || g == typeof(List<>) || g == typeof(HashSet<>) || g == typeof(SortedDictionary<,>)
                || g == typeof(Queue<>) || g == typeof(Stack<>) || g == typeof(ConditionalWeakTable<,>)
                || g == typeof(System.Collections.Concurrent.ConcurrentDictionary<,>));
        var found = Statics()
            .Where(f => f.IsInitOnly && Mutable(f.FieldType))
            .Select(f => f.DeclaringType!.FullName + "." + f.Name)
            .Where(n => !s_allowed.Contains(n))
            .ToList();
        Assert.Empty(found);
    }
}
