// The kvmfr uAPI (Looking Glass module/kvmfr.h, MODULE_VERSION 0.0.12): ioctl numbers and the CREATE struct.
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Sim.DmaBufs.Kvmfr;

/// <summary>kvmfr.h constants.</summary>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Justification = "uAPI names keep their C spelling")]
public static class KvmfrUapi
{
    /// <summary>KVMFR_DMABUF_FLAG_CLOEXEC.</summary>
    public const byte KVMFR_DMABUF_FLAG_CLOEXEC = 0x1;

    /// <summary>KVMFR_DMABUF_GETSIZE = _IO('u', 0x44).</summary>
    public const uint KVMFR_DMABUF_GETSIZE = 0x7544;

    /// <summary>KVMFR_DMABUF_CREATE = _IOW('u', 0x42, struct kvmfr_dmabuf_create) (24 bytes).</summary>
    public const uint KVMFR_DMABUF_CREATE = 0x40187542;
}

/// <summary>
/// <c>struct kvmfr_dmabuf_create { __u8 flags; __u64 offset; __u64 size; }</c>: 24 bytes on x86_64, with 7
/// padding bytes after <c>flags</c> (bytes 1..7) that the driver never looks at.
/// </summary>
[SuppressMessage("Naming", "CA1707:Identifiers should not contain underscores", Justification = "uAPI names keep their C spelling")]
[SuppressMessage("Style", "IDE1006:Naming Styles", Justification = "uAPI names keep their C spelling")]
public struct kvmfr_dmabuf_create
{
    /// <summary>sizeof(struct kvmfr_dmabuf_create).</summary>
    public const int Size = 24;

    /// <summary><c>flags</c>.</summary>
    public byte flags;

    /// <summary><c>offset</c>.</summary>
    public ulong offset;

    /// <summary><c>size</c>.</summary>
    public ulong size;

    /// <summary>Reads the struct from its 24 user bytes (little-endian).</summary>
    public static kvmfr_dmabuf_create Read(ReadOnlySpan<byte> b) => new()
    {
        flags = b[0],
        offset = BinaryPrimitives.ReadUInt64LittleEndian(b[8..]),
        size = BinaryPrimitives.ReadUInt64LittleEndian(b[16..]),
    };

    /// <summary>Its user bytes (padding as given, zero by default).</summary>
    public readonly byte[] ToBytes(ReadOnlySpan<byte> pad = default)
    {
        var b = new byte[Size];
        b[0] = flags;
        pad[..Math.Min(pad.Length, 7)].CopyTo(b.AsSpan(1));
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), offset);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), size);
        return b;
    }
}
