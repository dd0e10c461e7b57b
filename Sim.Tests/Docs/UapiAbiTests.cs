using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Sim.Core.Uapi;
using Sim.DmaBufs.Kvmfr;
using Sim.DmaBufs.Uapi;
using Sim.Drm.Uapi;
using Xunit;

namespace Sim.Tests.Docs;

/// <summary>
/// The C tracer's copies of the uAPI structs (tools/dmabufsim-trace/dmabufsim_uapi.h) and the C# declarations in
/// the projects' Uapi/ folders have the same layout on each ABI, field by field (offset and size) and in total.
/// x86_64: gcc compiles a program that prints <c>offsetof</c>/<c>sizeof</c> of every field of the header. 32-bit
/// ARM: no ARM compiler or 32-bit multilib is installed here, so the layout is computed from the header's
/// declarations with the ARM EABI (AAPCS, ILP32) rules stated below, and the same rule engine run with the LP64
/// rules must reproduce gcc's x86_64 figures (which checks the engine and the parse of the header).
/// </summary>
public partial class UapiAbiTests
{
    // The header's struct → the C# declaration on x86_64 and on 32-bit ARM (the same type where the layouts agree).
    private static readonly (string C, Type X64, Type Arm)[] s_structs =
    [
        ("dsim_drm_version", typeof(drm_version), typeof(drm_version32)),
        ("dsim_drm_gem_close", typeof(drm_gem_close), typeof(drm_gem_close)),
        ("dsim_drm_gem_flink", typeof(drm_gem_flink), typeof(drm_gem_flink)),
        ("dsim_drm_gem_open", typeof(drm_gem_open), typeof(drm_gem_open)),
        ("dsim_drm_prime_handle", typeof(drm_prime_handle), typeof(drm_prime_handle)),
        ("dsim_drm_mode_create_dumb", typeof(drm_mode_create_dumb), typeof(drm_mode_create_dumb)),
        ("dsim_drm_mode_map_dumb", typeof(drm_mode_map_dumb), typeof(drm_mode_map_dumb)),
        ("dsim_drm_mode_destroy_dumb", typeof(drm_mode_destroy_dumb), typeof(drm_mode_destroy_dumb)),
        ("dsim_drm_vgem_fence_attach", typeof(drm_vgem_fence_attach), typeof(drm_vgem_fence_attach)),
        ("dsim_drm_vgem_fence_signal", typeof(drm_vgem_fence_signal), typeof(drm_vgem_fence_signal)),
        ("dsim_dma_buf_sync", typeof(dma_buf_sync), typeof(dma_buf_sync)),
        ("dsim_dma_buf_export_sync_file", typeof(dma_buf_export_sync_file), typeof(dma_buf_export_sync_file)),
        ("dsim_dma_buf_import_sync_file", typeof(dma_buf_import_sync_file), typeof(dma_buf_import_sync_file)),
        ("dsim_kvmfr_dmabuf_create", typeof(kvmfr_dmabuf_create), typeof(kvmfr_dmabuf_create)),
        ("dsim_dma_heap_allocation_data", typeof(Sim.DmaBufs.Uapi.dma_heap_allocation_data), typeof(Sim.DmaBufs.Uapi.dma_heap_allocation_data)),
        ("dsim_udmabuf_create", typeof(Sim.DmaBufs.Uapi.udmabuf_create), typeof(Sim.DmaBufs.Uapi.udmabuf_create)),
        ("dsim_udmabuf_create_item", typeof(Sim.DmaBufs.Uapi.udmabuf_create_item), typeof(Sim.DmaBufs.Uapi.udmabuf_create_item)),
    ];

    private sealed record CField(string Type, string Name);

    private sealed record Layout(IReadOnlyList<(string Name, int Offset, int Size)> Fields, int Size);

    [GeneratedRegex(@"struct\s+(dsim_\w+)\s*\{(.*?)\};", RegexOptions.Singleline)]
    private static partial Regex StructRegex();

    private static string Header()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Simulator.sln")))
        {
            dir = dir.Parent;
        }
        return Path.Combine(dir!.FullName, "tools", "dmabufsim-trace", "dmabufsim_uapi.h");
    }

    // The header's structs: every member declaration "type a, *b, c;" split into fields.
    private static Dictionary<string, List<CField>> ParseHeader(string text)
    {
        var structs = new Dictionary<string, List<CField>>(StringComparer.Ordinal);
        foreach (Match m in StructRegex().Matches(text))
        {
            var fields = new List<CField>();
            foreach (string decl in m.Groups[2].Value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var parts = decl.Split(',', StringSplitOptions.TrimEntries);
                var first = Regex.Match(parts[0], @"^(.*?)(\**\s*\w+)$");
                string type = first.Groups[1].Value.Trim();
                foreach (string p in (string[])[first.Groups[2].Value, .. parts[1..]])
                {
                    string name = p.Trim();
                    bool pointer = name.StartsWith('*');
                    fields.Add(new CField(pointer ? type + " *" : type, name.TrimStart('*', ' ')));
                }
            }
            structs[m.Groups[1].Value] = fields;
        }
        return structs;
    }

    // Size (= alignment) of a member type. LP64 (x86_64 SysV): long, size_t and pointers 8. ARM EABI (AAPCS,
    // ILP32): long, size_t and pointers 4, and 64-bit integers 8-byte aligned (unlike i386's 4). Every other type
    // here is a fixed-width or int type of its natural size and alignment on both.
    private static int SizeOf(string type, bool lp64) => type switch
    {
        "uint8_t" or "int8_t" or "char" => 1,
        "uint16_t" or "int16_t" => 2,
        "uint32_t" or "int32_t" or "int" => 4,
        "uint64_t" or "int64_t" => 8,
        "size_t" or "long" or "unsigned long" => lp64 ? 8 : 4,
        _ when type.EndsWith('*') => lp64 ? 8 : 4,
        _ => throw new ArgumentException("no rule for C type " + type),
    };

    private static Layout Compute(List<CField> fields, bool lp64)
    {
        int offset = 0, align = 1;
        var list = new List<(string, int, int)>();
        foreach (var f in fields)
        {
            int size = SizeOf(f.Type, lp64);
            offset = (offset + size - 1) / size * size;
            list.Add((f.Name, offset, size));
            offset += size;
            align = Math.Max(align, size);
        }
        return new Layout(list, (offset + align - 1) / align * align);
    }

    private static Layout OfCSharp(Type t) =>
        new([.. UapiLayout.Fields(t).Select(f => (f.Name, f.Offset, f.Size))], UapiLayout.SizeOf(t));

    // gcc's x86_64 layout of every header struct: "struct field offset size" lines and "struct - - sizeof".
    private static Dictionary<string, Layout> Gcc(Dictionary<string, List<CField>> structs)
    {
        var c = new StringBuilder("#include <stdio.h>\n#include \"").Append(Header()).Append("\"\nint main(void) {\n");
        foreach (var (name, fields) in structs)
        {
            foreach (var f in fields)
            {
                c.Append($"  printf(\"{name} {f.Name} %zu %zu\\n\", offsetof(struct {name}, {f.Name}), sizeof(((struct {name} *)0)->{f.Name}));\n");
            }
            c.Append($"  printf(\"{name} - 0 %zu\\n\", sizeof(struct {name}));\n");
        }
        c.Append("  return 0;\n}\n");
        string dir = Directory.CreateTempSubdirectory("uapi-abi").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "layout.c"), c.ToString());
            Run("gcc", $"-O0 -o {dir}/layout {dir}/layout.c", out string cc);
            Run(Path.Combine(dir, "layout"), "", out string output);
            var result = new Dictionary<string, Layout>(StringComparer.Ordinal);
            foreach (var g in output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).GroupBy(p => p[0]))
            {
                result[g.Key] = new Layout(
                    [.. g.Where(p => p[1] != "-").Select(p => (p[1], int.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(p[3], System.Globalization.CultureInfo.InvariantCulture)))],
                    int.Parse(g.Single(p => p[1] == "-")[3], System.Globalization.CultureInfo.InvariantCulture));
            }
            return result;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Run(string file, string args, out string stdout)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })
            ?? throw new InvalidOperationException("cannot start " + file);
        stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {args} failed ({p.ExitCode}): {stderr}");
    }

    private static string Show(Layout l) => string.Join(", ", l.Fields.Select(f => $"{f.Name}@{f.Offset}:{f.Size}")) + $" (sizeof {l.Size})";

    [Fact]
    public void The_tracer_header_and_the_CSharp_structs_agree_on_x86_64_and_32_bit_arm()
    {
        var structs = ParseHeader(File.ReadAllText(Header()));
        Assert.Equal(s_structs.Select(s => s.C).Order(StringComparer.Ordinal), structs.Keys.Order(StringComparer.Ordinal));
        var gcc = Gcc(structs);
        foreach (var (c, x64, arm) in s_structs)
        {
            var lp64 = Compute(structs[c], lp64: true);
            Assert.True(Show(gcc[c]) == Show(lp64), $"{c}: gcc x86_64 {Show(gcc[c])}, the LP64 rules {Show(lp64)}");
            Assert.True(Show(gcc[c]) == Show(OfCSharp(x64)), $"{c} on x86_64: the header {Show(gcc[c])}, C# {x64.Name} {Show(OfCSharp(x64))}");
            var eabi = Compute(structs[c], lp64: false);
            Assert.True(Show(eabi) == Show(OfCSharp(arm)), $"{c} on 32-bit ARM: the header {Show(eabi)}, C# {arm.Name} {Show(OfCSharp(arm))}");
        }
    }
}
