// Backtraces of a program's calls for `run --check`: return addresses from the preload library become (object,
// file offset) while the process is alive (its /proc/PID/maps), and function and file:line at report time
// (addr2line on the object, after the object's file offset is turned into its link-time address with the ELF
// program headers).
using System.Buffers.Binary;
using System.Globalization;
using ProcessStartInfo = System.Diagnostics.ProcessStartInfo;

namespace Sim.Run;

/// <summary>One frame of a program's backtrace: the address, and where it lies in which mapped object.</summary>
internal readonly record struct Frame(ulong Address, string? Object, ulong FileOffset);

/// <summary>A frame with its symbol: function ("??" when unknown) and source position (null when unknown).</summary>
internal readonly record struct SymbolizedFrame(Frame Frame, string Function, string? Source);

/// <summary>Resolves and symbolises return addresses of the processes of one run.</summary>
internal sealed class Symbolizer
{
    private readonly Dictionary<int, List<(ulong Start, ulong End, ulong Offset, string Path)>> _maps = [];
    private readonly Dictionary<(string, ulong), (string Function, string? Source)> _symbols = [];

    /// <summary>Where <paramref name="address"/> lies in process <paramref name="pid"/> (rereads its maps on a miss).</summary>
    public Frame Resolve(int pid, ulong address)
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (attempt == 1 || !_maps.TryGetValue(pid, out var maps))
            {
                maps = ReadMaps(pid);
                _maps[pid] = maps;
            }
            foreach (var m in maps)
            {
                if (address >= m.Start && address < m.End)
                {
                    return new Frame(address, m.Path, address - m.Start + m.Offset);
                }
            }
        }
        return new Frame(address, null, 0);
    }

    /// <summary>Forgets a process's maps (after exec or exit).</summary>
    public void Forget(int pid) => _maps.Remove(pid);

    /// <summary>Function and file:line of each frame (one addr2line per object for the frames not seen yet).</summary>
    public List<SymbolizedFrame> Symbolize(IReadOnlyList<Frame> frames)
    {
        var wanted = new Dictionary<string, List<ulong>>(StringComparer.Ordinal);
        foreach (var f in frames)
        {
            if (f.Object is { } o && !_symbols.ContainsKey((o, f.FileOffset)))
            {
                if (!wanted.TryGetValue(o, out var list))
                {
                    wanted[o] = list = [];
                }
                list.Add(f.FileOffset);
            }
        }
        foreach (var (obj, offsets) in wanted)
        {
            Addr2Line(obj, offsets);
        }
        var result = new List<SymbolizedFrame>(frames.Count);
        foreach (var f in frames)
        {
            var (fn, src) = f.Object is { } o && _symbols.TryGetValue((o, f.FileOffset), out var s) ? s : ("??", null);
            result.Add(new SymbolizedFrame(f, fn, src));
        }
        return result;
    }

    private static List<(ulong, ulong, ulong, string)> ReadMaps(int pid)
    {
        var list = new List<(ulong, ulong, ulong, string)>();
        string[] lines;
        try
        {
            lines = File.ReadAllLines($"/proc/{pid}/maps");
        }
        catch (IOException)
        {
            return list;
        }
        catch (UnauthorizedAccessException)
        {
            return list;
        }
        foreach (var line in lines)
        {
            // start-end perms offset dev inode path
            var parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 6 || !parts[5].StartsWith('/'))
            {
                continue;
            }
            var range = parts[0].Split('-');
            if (range.Length != 2 ||
                !ulong.TryParse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start) ||
                !ulong.TryParse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end) ||
                !ulong.TryParse(parts[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong offset))
            {
                continue;
            }
            list.Add((start, end, offset, parts[5].Trim()));
        }
        return list;
    }

    // addr2line -f -C on the link-time addresses of the return addresses minus one (the call instruction's line).
    private void Addr2Line(string obj, List<ulong> offsets)
    {
        var loads = ProgramHeaders(obj);
        var vaddrs = new List<(ulong Offset, ulong Vaddr)>();
        foreach (ulong off in offsets.Distinct())
        {
            _symbols[(obj, off)] = ("??", null);
            foreach (var (pOffset, pVaddr, pFilesz) in loads)
            {
                if (off >= pOffset && off < pOffset + pFilesz)
                {
                    vaddrs.Add((off, off - pOffset + pVaddr));
                    break;
                }
            }
        }
        if (vaddrs.Count == 0)
        {
            return;
        }
        var psi = new ProcessStartInfo("addr2line") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-f", "-C", "-e", obj })
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (_, v) in vaddrs)
        {
            psi.ArgumentList.Add("0x" + (v - 1).ToString("x", CultureInfo.InvariantCulture));
        }
        string[] output;
        try
        {
            using var p = System.Diagnostics.Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            output = p.StandardOutput.ReadToEnd().Split('\n');
            p.WaitForExit();
            _ = err.Result;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return; // no binutils: functions stay unknown, the objects are still named
        }
        for (int k = 0; k < vaddrs.Count && 2 * k + 1 < output.Length; k++)
        {
            string fn = output[2 * k].Trim();
            string src = output[2 * k + 1].Trim();
            // "file:line (discriminator N)" -> "file:line"; "??:0" / "??:?" unknown
            int disc = src.IndexOf(" (", StringComparison.Ordinal);
            if (disc >= 0)
            {
                src = src[..disc];
            }
            string? source = src.StartsWith("??", StringComparison.Ordinal) || src.EndsWith(":?", StringComparison.Ordinal) || src.EndsWith(":0", StringComparison.Ordinal)
                ? null : Path.GetFileName(src);
            _symbols[(obj, vaddrs[k].Offset)] = (fn.Length == 0 ? "??" : fn, source);
        }
    }

    // The PT_LOAD segments (p_offset, p_vaddr, p_filesz) of a 64-bit little-endian ELF file; empty when it is not one.
    private static List<(ulong Offset, ulong Vaddr, ulong Filesz)> ProgramHeaders(string path)
    {
        var list = new List<(ulong, ulong, ulong)>();
        try
        {
            using var f = File.OpenRead(path);
            Span<byte> eh = stackalloc byte[64];
            if (f.Read(eh) != 64 || eh[0] != 0x7f || eh[1] != (byte)'E' || eh[2] != (byte)'L' || eh[3] != (byte)'F' || eh[4] != 2 || eh[5] != 1)
            {
                return list;
            }
            ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(eh[0x20..]);
            int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(eh[0x36..]);
            int phnum = BinaryPrimitives.ReadUInt16LittleEndian(eh[0x38..]);
            if (phentsize < 56 || phnum > 256)
            {
                return list;
            }
            var ph = new byte[phentsize];
            for (int k = 0; k < phnum; k++)
            {
                f.Position = (long)phoff + (long)k * phentsize;
                if (f.Read(ph) != phentsize)
                {
                    break;
                }
                if (BinaryPrimitives.ReadUInt32LittleEndian(ph) == 1) // PT_LOAD
                {
                    list.Add((BinaryPrimitives.ReadUInt64LittleEndian(ph.AsSpan(8)), BinaryPrimitives.ReadUInt64LittleEndian(ph.AsSpan(16)),
                        BinaryPrimitives.ReadUInt64LittleEndian(ph.AsSpan(32))));
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return list;
    }
}
