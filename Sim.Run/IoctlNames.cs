// The C names of ioctl commands, for the reports of `dmabufsim run` (--check notes, the unmodelled summary): taken
// from the one definition of each uAPI in the models, the DRM core table (drm_ioctls) and the constants of the Uapi
// classes (DMA_BUF_IOCTL_SYNC, SYNC_IOC_MERGE, ...), never written out again here.
using System.Collections.Frozen;
using System.Reflection;
using Sim.Drm;

namespace Sim.Run;

/// <summary>Ioctl command numbers to their C names (64-bit layouts, as the host runs).</summary>
public static class IoctlNames
{
    private static readonly FrozenDictionary<uint, string> s_names = Build();

    /// <summary>The C name of <paramref name="cmd"/> (names joined with " or " when two uAPIs share the number), or null.</summary>
    public static string? Of(uint cmd) => s_names.GetValueOrDefault(cmd);

    /// <summary>The C name, else the command spelled as the uAPI headers define one: <c>_IOWR('d', 0xb2, 32)</c>.</summary>
    public static string Describe(uint cmd)
    {
        if (Of(cmd) is { } name)
        {
            return name;
        }
        uint dir = cmd >> 30, size = (cmd >> 16) & 0x3fff, type = (cmd >> 8) & 0xff, nr = cmd & 0xff;
        string t = type is >= 0x20 and < 0x7f ? $"'{(char)type}'" : $"0x{type:x2}";
        string macro = dir switch { 1 => "_IOW", 2 => "_IOR", 3 => "_IOWR", _ => "_IO" };
        return dir == 0 ? $"{macro}({t}, 0x{nr:x2})" : $"{macro}({t}, 0x{nr:x2}, {size})";
    }

    private static FrozenDictionary<uint, string> Build()
    {
        var names = new SortedDictionary<uint, SortedSet<string>>();
        void Add(uint cmd, string name)
        {
            if (!names.TryGetValue(cmd, out var set))
            {
                names[cmd] = set = new SortedSet<string>(StringComparer.Ordinal);
            }
            set.Add(name);
        }
        // drm_ioctls: every slot the kernel's table fills, KMS included (the drivers' own commands are constants of
        // their Uapi classes, DRM_IOCTL_VGEM_FENCE_ATTACH, below).
        foreach (var d in DrmIoctl.CoreTable(false))
        {
            if (d is not null)
            {
                Add(d.Cmd, d.Name);
            }
        }
        // The Uapi classes' command constants: a uint whose type byte is a printable magic ('d', 'b', '>', 'W',
        // 'H', 'u'), named as an ioctl (its C name holds IOC, or ends in the ioctl's verb) and not the magic itself.
        foreach (var asm in new[] { typeof(DrmIoctl).Assembly, typeof(Sim.DmaBufs.DmaBuf).Assembly })
        {
            foreach (var type in asm.GetExportedTypes())
            {
                if (!type.IsAbstract || !type.IsSealed || !(type.Namespace?.EndsWith(".Uapi", StringComparison.Ordinal) == true || type.Name.EndsWith("Uapi", StringComparison.Ordinal) || type.Name.EndsWith("DrmH", StringComparison.Ordinal)))
                {
                    continue;
                }
                foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Static))
                {
                    if (f.FieldType == typeof(uint) && IsCommandName(f.Name) && f.GetValue(null) is uint cmd && ((cmd >> 8) & 0xff) is >= 0x20 and < 0x7f)
                    {
                        Add(cmd, f.Name);
                    }
                }
            }
        }
        return names.ToFrozenDictionary(kv => kv.Key, kv => string.Join(" or ", kv.Value));
    }

    private static bool IsCommandName(string name) =>
        !name.EndsWith("_MAGIC", StringComparison.Ordinal) && !name.EndsWith("_BASE", StringComparison.Ordinal) &&
        (name.Contains("_IOC", StringComparison.Ordinal) || name.Contains("IOCTL", StringComparison.Ordinal) ||
         name.EndsWith("_CREATE", StringComparison.Ordinal) || name.EndsWith("_CREATE_LIST", StringComparison.Ordinal) ||
         name.Contains("_GET", StringComparison.Ordinal) || name.Contains("_SET_", StringComparison.Ordinal));
}
