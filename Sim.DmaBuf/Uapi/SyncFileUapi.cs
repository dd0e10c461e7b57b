// Models include/uapi/linux/sync_file.h (Linux 6.1; SYNC_IOC_SET_DEADLINE and struct sync_set_deadline from 6.12)
// and the sw_sync debugfs uAPI that drivers/dma-buf/sw_sync.c defines for itself (SW_SYNC_IOC_*), C spelling.
using System.Buffers.Binary;
using System.Text;

namespace Sim.DmaBufs.Uapi;

/// <summary>C string helpers for the fixed <c>char name[N]</c> fields of the uAPI structs.</summary>
public static class CString
{
    /// <summary>The bytes up to the first NUL (or all of them).</summary>
    public static string Read(ReadOnlySpan<byte> field)
    {
        int n = field.IndexOf((byte)0);
        return Encoding.Latin1.GetString(n < 0 ? field : field[..n]);
    }

    /// <summary><c>strscpy(dst, src, sizeof(dst))</c>: at most N-1 bytes and a NUL; the rest of the field zeroed.</summary>
    public static void Write(Span<byte> field, string s)
    {
        field.Clear();
        var b = Encoding.Latin1.GetBytes(s);
        b.AsSpan(0, Math.Min(b.Length, field.Length - 1)).CopyTo(field);
    }
}

/// <summary><c>struct sync_merge_data { char name[32]; __s32 fd2; __s32 fence; __u32 flags; __u32 pad; }</c> (48 bytes).</summary>
public struct sync_merge_data
{
    /// <summary>sizeof.</summary>
    public const int Size = 48;
    /// <summary><c>name</c>: the merged sync_file's name.</summary>
    public string name;
    /// <summary><c>fd2</c>: the other sync_file.</summary>
    public int fd2;
    /// <summary><c>fence</c>: the new fd (out).</summary>
    public int fence;
    /// <summary><c>flags</c>: must be 0.</summary>
    public uint flags;
    /// <summary><c>pad</c>: must be 0.</summary>
    public uint pad;

    /// <summary>Reads the user bytes (<c>name</c> as C reads it after <c>name[31] = '\0'</c>).</summary>
    public static sync_merge_data Read(ReadOnlySpan<byte> b) => new()
    {
        name = CString.Read(b[..31]),
        fd2 = BinaryPrimitives.ReadInt32LittleEndian(b[32..]),
        fence = BinaryPrimitives.ReadInt32LittleEndian(b[36..]),
        flags = BinaryPrimitives.ReadUInt32LittleEndian(b[40..]),
        pad = BinaryPrimitives.ReadUInt32LittleEndian(b[44..]),
    };

    /// <summary>The user bytes.</summary>
    public readonly byte[] ToBytes()
    {
        var b = new byte[Size];
        CString.Write(b.AsSpan(0, 32), name ?? "");
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(32), fd2);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(36), fence);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(40), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(44), pad);
        return b;
    }
}

/// <summary>
/// <c>struct sync_fence_info { char obj_name[32]; char driver_name[32]; __s32 status; __u32 flags; __u64 timestamp_ns; }</c> (80 bytes).
/// </summary>
public struct sync_fence_info
{
    /// <summary>sizeof.</summary>
    public const int Size = 80;
    /// <summary><c>obj_name</c>: the timeline name.</summary>
    public string obj_name;
    /// <summary><c>driver_name</c>.</summary>
    public string driver_name;
    /// <summary><c>status</c>: 1 signalled, 0 active, negative error.</summary>
    public int status;
    /// <summary><c>flags</c>.</summary>
    public uint flags;
    /// <summary><c>timestamp_ns</c>: signal time, 0 while active.</summary>
    public ulong timestamp_ns;

    /// <summary>Reads one element.</summary>
    public static sync_fence_info Read(ReadOnlySpan<byte> b) => new()
    {
        obj_name = CString.Read(b[..32]),
        driver_name = CString.Read(b[32..64]),
        status = BinaryPrimitives.ReadInt32LittleEndian(b[64..]),
        flags = BinaryPrimitives.ReadUInt32LittleEndian(b[68..]),
        timestamp_ns = BinaryPrimitives.ReadUInt64LittleEndian(b[72..]),
    };

    /// <summary>Writes one element.</summary>
    public readonly void Write(Span<byte> b)
    {
        CString.Write(b[..32], obj_name ?? "");
        CString.Write(b[32..64], driver_name ?? "");
        BinaryPrimitives.WriteInt32LittleEndian(b[64..], status);
        BinaryPrimitives.WriteUInt32LittleEndian(b[68..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(b[72..], timestamp_ns);
    }
}

/// <summary>
/// <c>struct sync_file_info { char name[32]; __s32 status; __u32 flags; __u32 num_fences; __u32 pad; __u64 sync_fence_info; }</c> (56 bytes).
/// </summary>
public struct sync_file_info
{
    /// <summary>sizeof.</summary>
    public const int Size = 56;
    /// <summary><c>name</c>.</summary>
    public string name;
    /// <summary><c>status</c>.</summary>
    public int status;
    /// <summary><c>flags</c>: must be 0.</summary>
    public uint flags;
    /// <summary><c>num_fences</c>: in, the array's capacity (0 = just count); out, the count.</summary>
    public uint num_fences;
    /// <summary><c>pad</c>: must be 0.</summary>
    public uint pad;
    /// <summary><c>sync_fence_info</c>: user pointer to the <c>struct sync_fence_info</c> array.</summary>
    public ulong sync_fence_info;

    /// <summary>Reads the user bytes.</summary>
    public static sync_file_info Read(ReadOnlySpan<byte> b) => new()
    {
        name = CString.Read(b[..32]),
        status = BinaryPrimitives.ReadInt32LittleEndian(b[32..]),
        flags = BinaryPrimitives.ReadUInt32LittleEndian(b[36..]),
        num_fences = BinaryPrimitives.ReadUInt32LittleEndian(b[40..]),
        pad = BinaryPrimitives.ReadUInt32LittleEndian(b[44..]),
        sync_fence_info = BinaryPrimitives.ReadUInt64LittleEndian(b[48..]),
    };

    /// <summary>The user bytes.</summary>
    public readonly byte[] ToBytes()
    {
        var b = new byte[Size];
        CString.Write(b.AsSpan(0, 32), name ?? "");
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(32), status);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(36), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(40), num_fences);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(44), pad);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(48), sync_fence_info);
        return b;
    }
}

/// <summary><c>struct sync_set_deadline { __u64 deadline_ns; __u64 pad; }</c> (16 bytes; Linux 6.4+).</summary>
public struct sync_set_deadline
{
    /// <summary>sizeof.</summary>
    public const int Size = 16;
    /// <summary><c>deadline_ns</c> (CLOCK_MONOTONIC).</summary>
    public ulong deadline_ns;
    /// <summary><c>pad</c>: must be 0.</summary>
    public ulong pad;

    /// <summary>The user bytes.</summary>
    public readonly byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteUInt64LittleEndian(b, deadline_ns);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(8), pad);
        return b;
    }
}

/// <summary><c>struct sw_sync_create_fence_data { __u32 value; char name[32]; __s32 fence; }</c> (40 bytes).</summary>
public struct sw_sync_create_fence_data
{
    /// <summary>sizeof.</summary>
    public const int Size = 40;
    /// <summary><c>value</c>: the point's seqno.</summary>
    public uint value;
    /// <summary><c>name</c> (unused by the kernel).</summary>
    public string name;
    /// <summary><c>fence</c>: the new sync_file fd (out).</summary>
    public int fence;

    /// <summary>The user bytes.</summary>
    public readonly byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        CString.Write(b.AsSpan(4, 32), name ?? "");
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(36), fence);
        return b;
    }
}

/// <summary><c>struct sw_sync_get_deadline { __u64 deadline_ns; __u32 pad; __s32 fence_fd; }</c> (16 bytes; 6.12's sw_sync.c).</summary>
public struct sw_sync_get_deadline
{
    /// <summary>sizeof.</summary>
    public const int Size = 16;
    /// <summary><c>deadline_ns</c> (out; must be 0 in).</summary>
    public ulong deadline_ns;
    /// <summary><c>pad</c>.</summary>
    public uint pad;
    /// <summary><c>fence_fd</c>.</summary>
    public int fence_fd;

    /// <summary>The user bytes.</summary>
    public readonly byte[] ToBytes()
    {
        var b = new byte[Size];
        BinaryPrimitives.WriteUInt64LittleEndian(b, deadline_ns);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), pad);
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(12), fence_fd);
        return b;
    }
}

/// <summary>The ioctl numbers of include/uapi/linux/sync_file.h and of sw_sync.c.</summary>
public static class SyncFileUapi
{
    /// <summary>SYNC_IOC_MAGIC ('>').</summary>
    public const uint SYNC_IOC_MAGIC = '>';
    /// <summary>SYNC_IOC_MERGE = _IOWR('>', 3, struct sync_merge_data).</summary>
    public const uint SYNC_IOC_MERGE = 0xC0303E03;
    /// <summary>SYNC_IOC_FILE_INFO = _IOWR('>', 4, struct sync_file_info).</summary>
    public const uint SYNC_IOC_FILE_INFO = 0xC0383E04;
    /// <summary>SYNC_IOC_SET_DEADLINE = _IOW('>', 5, struct sync_set_deadline) (Linux 6.4+).</summary>
    public const uint SYNC_IOC_SET_DEADLINE = 0x40103E05;

    /// <summary>SW_SYNC_IOC_MAGIC ('W').</summary>
    public const uint SW_SYNC_IOC_MAGIC = 'W';
    /// <summary>SW_SYNC_IOC_CREATE_FENCE = _IOWR('W', 0, struct sw_sync_create_fence_data).</summary>
    public const uint SW_SYNC_IOC_CREATE_FENCE = 0xC0285700;
    /// <summary>SW_SYNC_IOC_INC = _IOW('W', 1, __u32).</summary>
    public const uint SW_SYNC_IOC_INC = 0x40045701;
    /// <summary>SW_SYNC_GET_DEADLINE = _IOWR('W', 2, struct sw_sync_get_deadline) (6.12's sw_sync.c).</summary>
    public const uint SW_SYNC_GET_DEADLINE = 0xC0105702;
}
