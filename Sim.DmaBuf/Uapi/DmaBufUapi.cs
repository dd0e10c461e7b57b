// Models include/uapi/linux/dma-buf.h and include/uapi/linux/sync_file.h (Linux 6.1), C spelling.
using System.Runtime.InteropServices;

namespace Sim.DmaBufs.Uapi;

/// <summary><c>struct dma_buf_sync</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct dma_buf_sync
{
    /// <summary>DMA_BUF_SYNC_* flags.</summary>
    public ulong flags;
}

/// <summary><c>struct dma_buf_export_sync_file</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct dma_buf_export_sync_file
{
    /// <summary>DMA_BUF_SYNC_READ and/or DMA_BUF_SYNC_WRITE.</summary>
    public uint flags;
    /// <summary>Returned sync_file fd.</summary>
    public int fd;
}

/// <summary><c>struct dma_buf_import_sync_file</c> (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct dma_buf_import_sync_file
{
    /// <summary>DMA_BUF_SYNC_READ and/or DMA_BUF_SYNC_WRITE.</summary>
    public uint flags;
    /// <summary>The sync_file fd to import.</summary>
    public int fd;
}

/// <summary>The constants and ioctl numbers of include/uapi/linux/dma-buf.h.</summary>
public static class DmaBufUapi
{
    /// <summary>DMA_BUF_SYNC_READ.</summary>
    public const ulong DMA_BUF_SYNC_READ = 1 << 0;
    /// <summary>DMA_BUF_SYNC_WRITE.</summary>
    public const ulong DMA_BUF_SYNC_WRITE = 2 << 0;
    /// <summary>DMA_BUF_SYNC_RW.</summary>
    public const ulong DMA_BUF_SYNC_RW = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
    /// <summary>DMA_BUF_SYNC_START.</summary>
    public const ulong DMA_BUF_SYNC_START = 0 << 2;
    /// <summary>DMA_BUF_SYNC_END.</summary>
    public const ulong DMA_BUF_SYNC_END = 1 << 2;
    /// <summary>DMA_BUF_SYNC_VALID_FLAGS_MASK.</summary>
    public const ulong DMA_BUF_SYNC_VALID_FLAGS_MASK = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;
    /// <summary>DMA_BUF_NAME_LEN (including the NUL).</summary>
    public const int DMA_BUF_NAME_LEN = 32;
    /// <summary>DMA_BUF_BASE ('b').</summary>
    public const uint DMA_BUF_BASE = 'b';

    /// <summary>DMA_BUF_IOCTL_SYNC = _IOW('b', 0, struct dma_buf_sync).</summary>
    public const uint DMA_BUF_IOCTL_SYNC = 0x40086200;
    /// <summary>DMA_BUF_SET_NAME_A = _IOW('b', 1, __u32).</summary>
    public const uint DMA_BUF_SET_NAME_A = 0x40046201;
    /// <summary>DMA_BUF_SET_NAME_B = _IOW('b', 1, __u64).</summary>
    public const uint DMA_BUF_SET_NAME_B = 0x40086201;
    /// <summary>DMA_BUF_SET_NAME = _IOW('b', 1, const char *) (the B number on 64-bit, A on 32-bit).</summary>
    public static uint DMA_BUF_SET_NAME(bool is32Bit) => is32Bit ? DMA_BUF_SET_NAME_A : DMA_BUF_SET_NAME_B;
    /// <summary>DMA_BUF_IOCTL_EXPORT_SYNC_FILE = _IOWR('b', 2, struct dma_buf_export_sync_file).</summary>
    public const uint DMA_BUF_IOCTL_EXPORT_SYNC_FILE = 0xC0086202;
    /// <summary>DMA_BUF_IOCTL_IMPORT_SYNC_FILE = _IOW('b', 3, struct dma_buf_import_sync_file).</summary>
    public const uint DMA_BUF_IOCTL_IMPORT_SYNC_FILE = 0x40086203;
}

/// <summary>The _IOC encoding of include/uapi/asm-generic/ioctl.h.</summary>
public static class Ioc
{
    /// <summary>_IOC_WRITE.</summary>
    public const uint _IOC_WRITE = 1;
    /// <summary>_IOC_READ.</summary>
    public const uint _IOC_READ = 2;

    /// <summary>_IOC(dir, type, nr, size).</summary>
    public static uint IOC(uint dir, uint type, uint nr, uint size) => (dir << 30) | (size << 16) | (type << 8) | nr;

    /// <summary>_IOW(type, nr, size).</summary>
    public static uint IOW(uint type, uint nr, uint size) => IOC(_IOC_WRITE, type, nr, size);

    /// <summary>_IOWR(type, nr, size).</summary>
    public static uint IOWR(uint type, uint nr, uint size) => IOC(_IOC_READ | _IOC_WRITE, type, nr, size);
}
