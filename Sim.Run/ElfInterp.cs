// The one check before exec: does the program have a dynamic loader? The preload library works through
// LD_PRELOAD, which only ld.so honours; a statically linked program (an ELF without PT_INTERP) would run on the real
// kernel unnoticed, so it is refused.
using System.Buffers.Binary;

namespace Sim.Run;

/// <summary>Reads an ELF file's program headers for a <c>PT_INTERP</c> entry (elf(5)).</summary>
public static class ElfInterp
{
    private const uint PT_INTERP = 3;

    /// <summary>
    /// True when <paramref name="path"/> is an ELF executable without <c>PT_INTERP</c> (statically linked, static-pie
    /// included); false for dynamically linked ELF files and for anything that is not ELF (scripts run their
    /// interpreter, which is checked by nobody: the kernel picks it).
    /// </summary>
    public static bool IsStatic(string path)
    {
        byte[] head;
        using (var f = File.OpenRead(path))
        {
            head = new byte[Math.Min(f.Length, 1 << 16)];
            f.ReadExactly(head);
        }
        if (head.Length < 52 || head[0] != 0x7f || head[1] != (byte)'E' || head[2] != (byte)'L' || head[3] != (byte)'F')
        {
            return false;
        }
        bool is64 = head[4] == 2;
        bool little = head[5] == 1;
        ulong U(int at, int size) => size == 8
            ? (little ? BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(at)) : BinaryPrimitives.ReadUInt64BigEndian(head.AsSpan(at)))
            : size == 4
                ? (little ? BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(head.AsSpan(at)))
                : (little ? BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(at)) : BinaryPrimitives.ReadUInt16BigEndian(head.AsSpan(at)));
        ulong phoff = is64 ? U(32, 8) : U(28, 4);
        int phentsize = (int)(is64 ? U(54, 2) : U(42, 2));
        int phnum = (int)(is64 ? U(56, 2) : U(44, 2));
        for (int k = 0; k < phnum; k++)
        {
            ulong at = phoff + (ulong)(k * phentsize);
            if (at + 4 > (ulong)head.Length)
            {
                return false; // headers past what was read: not judged, exec decides
            }
            if (U((int)at, 4) == PT_INTERP)
            {
                return false;
            }
        }
        return true;
    }
}
