// The byte layout of a uAPI struct declared in a project's Uapi/ folder (C spelling, LayoutKind.Sequential): its
// fields with offset, size and signedness, as the C compiler lays the struct out for the ABI the type was declared
// for. The replayer builds an ioctl's bytes from a trace event with it and reads back what the kernel copied out,
// so no struct layout is written twice.
using System.Buffers.Binary;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Sim.Core.Uapi;

/// <summary>One field of a uAPI struct.</summary>
/// <param name="Name">The C field name.</param>
/// <param name="Offset"><c>offsetof</c>.</param>
/// <param name="Size"><c>sizeof</c> of the field (1, 2, 4 or 8).</param>
/// <param name="Signed">Whether the C type is signed (<c>int</c>, <c>__s64</c>).</param>
public readonly record struct UapiField(string Name, int Offset, int Size, bool Signed)
{
    /// <summary>Stores <paramref name="value"/> (truncated to the field's size, little endian) into <paramref name="buffer"/>.</summary>
    public void Write(Span<byte> buffer, ulong value)
    {
        var at = buffer.Slice(Offset, Size);
        switch (Size)
        {
            case 1: at[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(at, (uint)value); break;
            default: BinaryPrimitives.WriteUInt64LittleEndian(at, value); break;
        }
    }

    /// <summary>The field's value in <paramref name="buffer"/>, sign-extended when the C type is signed.</summary>
    public long ReadSigned(ReadOnlySpan<byte> buffer)
    {
        var at = buffer.Slice(Offset, Size);
        return Size switch
        {
            1 => Signed ? (sbyte)at[0] : at[0],
            2 => Signed ? BinaryPrimitives.ReadInt16LittleEndian(at) : BinaryPrimitives.ReadUInt16LittleEndian(at),
            4 => Signed ? BinaryPrimitives.ReadInt32LittleEndian(at) : BinaryPrimitives.ReadUInt32LittleEndian(at),
            _ => BinaryPrimitives.ReadInt64LittleEndian(at),
        };
    }

    /// <summary>The field's value in <paramref name="buffer"/>, zero-extended.</summary>
    public ulong ReadUnsigned(ReadOnlySpan<byte> buffer)
    {
        var at = buffer.Slice(Offset, Size);
        return Size switch
        {
            1 => at[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(at),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(at),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(at),
        };
    }
}

/// <summary>Layouts of the uAPI structs (<c>offsetof</c>/<c>sizeof</c> read from the one C# declaration).</summary>
public static class UapiLayout
{
    /// <summary>The public fields of <paramref name="type"/> in offset order (the struct's named members; private padding is left out).</summary>
    public static UapiField[] Fields(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return [.. type.GetFields(BindingFlags.Public | BindingFlags.Instance)
            .Select(f => new UapiField(f.Name, (int)Marshal.OffsetOf(type, f.Name), Marshal.SizeOf(f.FieldType),
                f.FieldType == typeof(int) || f.FieldType == typeof(long) || f.FieldType == typeof(short) || f.FieldType == typeof(sbyte)))
            .OrderBy(f => f.Offset)];
    }

    /// <summary>The field <paramref name="name"/> of <paramref name="type"/>.</summary>
    public static UapiField Field(Type type, string name) =>
        Array.Find(Fields(type), f => f.Name == name) is { Name: not null } f ? f : throw new ArgumentException($"{type.Name} has no field {name}", nameof(name));

    /// <summary><c>sizeof</c> of <paramref name="type"/>.</summary>
    public static int SizeOf(Type type) => Marshal.SizeOf(type);
}
