// Models include/uapi/linux/dma-heap.h (Linux 6.1 = 6.12 but for the type of DMA_HEAP_VALID_HEAP_FLAGS), C spelling.
using System.Buffers.Binary;
using Sim.Core.Fs;

namespace Sim.DmaBufs.Uapi;

/// <summary>
/// <c>struct dma_heap_allocation_data { __u64 len; __u32 fd; __u32 fd_flags; __u64 heap_flags; }</c> (24 bytes):
/// the length and flags in, the new dma-buf's fd out.
/// </summary>
public struct dma_heap_allocation_data
{
    /// <summary>sizeof.</summary>
    public const int Size = 24;
    /// <summary><c>len</c>.</summary>
    public ulong len;
    /// <summary><c>fd</c>: must be 0 on entry; the dma-buf's fd on return.</summary>
    public uint fd;
    /// <summary><c>fd_flags</c>: O_CLOEXEC and the access mode.</summary>
    public uint fd_flags;
    /// <summary><c>heap_flags</c>: none are defined.</summary>
    public ulong heap_flags;

    /// <summary>The user bytes.</summary>
    public readonly byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteUInt64LittleEndian(b, len);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), fd);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), fd_flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), heap_flags);
        return b;
    }

    /// <summary>Reads the struct from user bytes (missing bytes read as zero).</summary>
    public static dma_heap_allocation_data Read(ReadOnlySpan<byte> b)
    {
        Span<byte> k = stackalloc byte[Size];
        b[..Math.Min(b.Length, Size)].CopyTo(k);
        return new()
        {
            len = BinaryPrimitives.ReadUInt64LittleEndian(k),
            fd = BinaryPrimitives.ReadUInt32LittleEndian(k[8..]),
            fd_flags = BinaryPrimitives.ReadUInt32LittleEndian(k[12..]),
            heap_flags = BinaryPrimitives.ReadUInt64LittleEndian(k[16..]),
        };
    }
}

/// <summary>The constants of include/uapi/linux/dma-heap.h.</summary>
public static class DmaHeapUapi
{
    /// <summary>DMA_HEAP_IOC_MAGIC ('H').</summary>
    public const uint DMA_HEAP_IOC_MAGIC = 'H';
    /// <summary>DMA_HEAP_IOCTL_ALLOC = _IOWR('H', 0x0, struct dma_heap_allocation_data).</summary>
    public const uint DMA_HEAP_IOCTL_ALLOC = 0xC0184800;
    /// <summary>DMA_HEAP_VALID_FD_FLAGS (O_CLOEXEC | O_ACCMODE).</summary>
    public const uint DMA_HEAP_VALID_FD_FLAGS = OpenFlags.O_CLOEXEC | OpenFlags.O_ACCMODE;
    /// <summary>DMA_HEAP_VALID_HEAP_FLAGS (0; 0ULL on 6.12).</summary>
    public const ulong DMA_HEAP_VALID_HEAP_FLAGS = 0;
    /// <summary>The dma_heap class's device node folder.</summary>
    public const string DevDir = "/dev/dma_heap";

    /// <summary>The user bytes of an allocation request.</summary>
    public static byte[] Alloc(ulong len, uint fdFlags, ulong heapFlags = 0, uint fd = 0) =>
        new dma_heap_allocation_data { len = len, fd = fd, fd_flags = fdFlags, heap_flags = heapFlags }.ToBytes();
}
