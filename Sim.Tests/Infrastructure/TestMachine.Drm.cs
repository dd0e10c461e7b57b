using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Drm;
using Sim.Drm.Uapi;

namespace Sim.Tests.Infrastructure;

/// <summary>The DRM uAPI calls of the test machine, made as libdrm makes them.</summary>
public sealed partial class TestMachine
{
    /// <summary>DRM_IOCTL_VGEM_FENCE_ATTACH: (ret, out_fence).</summary>
    public (long Ret, uint Fence) FenceAttach(int fd, uint handle, uint flags, uint pad = 0)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), pad);
        long r = Ioctl(fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, b);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8)));
    }

    /// <summary>DRM_IOCTL_PRIME_HANDLE_TO_FD: (ret, fd).</summary>
    public (long Ret, int Fd) HandleToFd(int fd, uint handle, uint flags)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), flags);
        long r = Ioctl(fd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, b);
        return (r, BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(8)));
    }

    /// <summary>DRM_IOCTL_PRIME_FD_TO_HANDLE: (ret, handle).</summary>
    public (long Ret, uint Handle) FdToHandle(int fd, int primeFd)
    {
        var b = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), primeFd);
        long r = Ioctl(fd, DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, b);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b));
    }

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> MAP_SHARED read/write.</summary>
    public long MapShared(int fd, ulong length, ulong offset = 0) =>
        Process.Mmap(length, Sim.Core.Mm.Mman.PROT_READ | Sim.Core.Mm.Mman.PROT_WRITE, Sim.Core.Mm.Mman.MAP_SHARED, fd, offset);

    /// <summary>DRM_IOCTL_VGEM_FENCE_SIGNAL.</summary>
    public long FenceSignal(int fd, uint fence, uint flags = 0)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, fence);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), flags);
        return Ioctl(fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, b);
    }

    public int Open(string path) => Process.Openat(path, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);

    public long Ioctl(int fd, uint cmd, byte[] buf) => Process.Ioctl(fd, cmd, new UserArg(0x1000, buf));

    public (long Ret, uint Handle, uint Pitch, ulong Size) CreateDumb(int fd, uint width, uint height, uint bpp, uint flags = 0)
    {
        var b = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(b, height);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), width);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), bpp);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), flags);
        long r = Ioctl(fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, b);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(24)));
    }

    public (long Ret, ulong Offset) MapDumb(int fd, uint handle)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        long r = Ioctl(fd, DrmH.DRM_IOCTL_MODE_MAP_DUMB, b);
        return (r, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)));
    }

    public long DestroyDumb(int fd, uint handle)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        return Ioctl(fd, DrmH.DRM_IOCTL_MODE_DESTROY_DUMB, b);
    }

    public long GemClose(int fd, uint handle, uint pad = 0)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), pad);
        return Ioctl(fd, DrmH.DRM_IOCTL_GEM_CLOSE, b);
    }

    public (long Ret, uint Name) Flink(int fd, uint handle)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, handle);
        long r = Ioctl(fd, DrmH.DRM_IOCTL_GEM_FLINK, b);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)));
    }

    public (long Ret, uint Handle, ulong Size) GemOpen(int fd, uint name)
    {
        var b = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(b, name);
        long r = Ioctl(fd, DrmH.DRM_IOCTL_GEM_OPEN, b);
        return (r, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8)));
    }

    public (long Ret, string Name, ulong NameLen, int Major) Version(int fd, int nameBuf)
    {
        var b = new byte[64];
        var name = new byte[nameBuf];
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(16), (ulong)nameBuf);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(24), nameBuf == 0 ? 0 : 0x5000UL);
        long r = Process.Ioctl(fd, DrmH.DRM_IOCTL_VERSION(false), new UserArg(0x1000, b) { Pointees = new Dictionary<ulong, byte[]> { [0x5000] = name } });
        return (r, Encoding.ASCII.GetString(name).TrimEnd('\0'), BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(16)), BinaryPrimitives.ReadInt32LittleEndian(b));
    }

    /// <summary>A new process of the machine (<paramref name="euid"/> 0 is root).</summary>
    public Process Spawn(string comm, int euid = 0)
    {
        var p = Get<ProcessTable>().Spawn(comm);
        p.Euid = euid;
        return p;
    }

    /// <summary><c>ioctl(fd, cmd, buf)</c> made by <paramref name="p"/>.</summary>
    public static long Ioctl(Process p, int fd, uint cmd, byte[] buf)
    {
        ArgumentNullException.ThrowIfNull(p);
        return p.Ioctl(fd, cmd, new UserArg(0x1000, buf));
    }
}
