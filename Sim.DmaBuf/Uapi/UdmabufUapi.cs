// Models include/uapi/linux/udmabuf.h (Linux 6.1 = 6.12), C spelling.
using System.Buffers.Binary;

namespace Sim.DmaBufs.Uapi;

/// <summary><c>struct udmabuf_create { __u32 memfd; __u32 flags; __u64 offset; __u64 size; }</c> (24 bytes).</summary>
public struct udmabuf_create
{
    /// <summary>sizeof.</summary>
    public const int Size = 24;
    /// <summary><c>memfd</c>.</summary>
    public uint memfd;
    /// <summary><c>flags</c>: UDMABUF_FLAGS_CLOEXEC.</summary>
    public uint flags;
    /// <summary><c>offset</c> in the memfd.</summary>
    public ulong offset;
    /// <summary><c>size</c>.</summary>
    public ulong size;

    /// <summary>The user bytes.</summary>
    public readonly byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(b, memfd);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), offset);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), size);
        return b;
    }
}

/// <summary><c>struct udmabuf_create_item { __u32 memfd; __u32 __pad; __u64 offset; __u64 size; }</c> (24 bytes).</summary>
public struct udmabuf_create_item
{
    /// <summary>sizeof.</summary>
    public const int Size = 24;
    /// <summary><c>memfd</c>.</summary>
    public uint memfd;
    /// <summary><c>offset</c>.</summary>
    public ulong offset;
    /// <summary><c>size</c>.</summary>
    public ulong size;

    /// <summary>Reads one item.</summary>
    public static udmabuf_create_item Read(ReadOnlySpan<byte> b) => new()
    {
        memfd = BinaryPrimitives.ReadUInt32LittleEndian(b),
        offset = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
        size = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
    };
}

/// <summary>The constants of include/uapi/linux/udmabuf.h.</summary>
public static class UdmabufUapi
{
    /// <summary>UDMABUF_FLAGS_CLOEXEC.</summary>
    public const uint UDMABUF_FLAGS_CLOEXEC = 0x01;
    /// <summary>UDMABUF_CREATE = _IOW('u', 0x42, struct udmabuf_create).</summary>
    public const uint UDMABUF_CREATE = 0x40187542;
    /// <summary>UDMABUF_CREATE_LIST = _IOW('u', 0x43, struct udmabuf_create_list) (8 bytes: flags, count; the items follow).</summary>
    public const uint UDMABUF_CREATE_LIST = 0x40087543;

    /// <summary>The bytes of a <c>struct udmabuf_create_list</c> with its items.</summary>
    public static byte[] CreateList(uint flags, params (uint Memfd, ulong Offset, ulong Size)[] items)
    {
        ArgumentNullException.ThrowIfNull(items);
        var b = new byte[8 + items.Length * udmabuf_create_item.Size];
        BinaryPrimitives.WriteUInt32LittleEndian(b, flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)items.Length);
        for (int i = 0; i < items.Length; i++)
        {
            var s = b.AsSpan(8 + i * udmabuf_create_item.Size);
            BinaryPrimitives.WriteUInt32LittleEndian(s, items[i].Memfd);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], items[i].Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(s[16..], items[i].Size);
        }
        return b;
    }
}
