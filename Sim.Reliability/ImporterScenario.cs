using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.DmaBufs.Uapi;
using Sim.Drm.Uapi;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// The importer test at the uAPI: a vgem buffer exported (PRIME_HANDLE_TO_FD), imported on a second device
/// (attach + map), mapped and written through the dma-buf, CPU access bracketed with DMA_BUF_IOCTL_SYNC, a vgem
/// fence attached and signalled, a sync_file exported, then every handle and descriptor closed; then a virtio-gpu
/// dumb buffer dropped with its file.
/// </summary>
public sealed class ImporterScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "prime-import (vgem, vgem, virtio-gpu)";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var o = new MachineOptions();
        o.AddDrmDevice("vgem");
        o.AddDrmDevice("vgem");
        o.AddDrmDevice("virtio_gpu");
        var m = Composition.BuildMachine(o);
        Composition.Boot(m);
        m.GetRequiredService<ProcessTable>().Spawn("importer");
        return m;
    }

    private static long Io(Process p, int fd, uint cmd, byte[] b) => p.Ioctl(fd, cmd, new UserArg(0x10000, b));

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var pt = machine.GetRequiredService<ProcessTable>();
        var p = pt.Processes[^1].Exited ? pt.Spawn("importer") : pt.Processes[^1];
        int a = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        if (a < 0)
        {
            return (a, "open card0");
        }
        int b = p.Openat("/dev/dri/card1", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        if (b < 0)
        {
            return (b, "open card1");
        }
        var c = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(c, 64);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4), 64);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(8), 32);
        long r = Io(p, a, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, c);
        if (r != 0)
        {
            return (r, "MODE_CREATE_DUMB");
        }
        uint h = BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(16));
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(c.AsSpan(24));
        var e = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(e, h);
        BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR);
        r = Io(p, a, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, e);
        if (r != 0)
        {
            return (r, "PRIME_HANDLE_TO_FD");
        }
        int dfd = BinaryPrimitives.ReadInt32LittleEndian(e.AsSpan(8));
        var i = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(i.AsSpan(8), dfd);
        r = Io(p, b, DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, i);
        if (r != 0)
        {
            return (r, "PRIME_FD_TO_HANDLE");
        }
        uint h2 = BinaryPrimitives.ReadUInt32LittleEndian(i);
        var s = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(s, DmaBufUapi.DMA_BUF_SYNC_START | DmaBufUapi.DMA_BUF_SYNC_RW);
        r = Io(p, dfd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, s);
        if (r != 0)
        {
            return (r, "DMA_BUF_IOCTL_SYNC start");
        }
        long addr = p.Mmap(size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, dfd, 0);
        if (addr < 0 && addr >= -4095)
        {
            return (addr, "mmap dma-buf");
        }
        _ = p.Store((ulong)addr, "importer"u8);
        BinaryPrimitives.WriteUInt64LittleEndian(s, DmaBufUapi.DMA_BUF_SYNC_END | DmaBufUapi.DMA_BUF_SYNC_RW);
        r = Io(p, dfd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, s);
        if (r != 0)
        {
            return (r, "DMA_BUF_IOCTL_SYNC end");
        }
        var fa = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(fa, h2);
        BinaryPrimitives.WriteUInt32LittleEndian(fa.AsSpan(4), VgemDrmH.VGEM_FENCE_WRITE);
        r = Io(p, b, VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, fa);
        if (r != 0)
        {
            return (r, "VGEM_FENCE_ATTACH");
        }
        var x = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(x, DmaBufUapi.DMA_BUF_SYNC_READ is var rd ? (uint)rd : 0);
        r = Io(p, dfd, DmaBufUapi.DMA_BUF_IOCTL_EXPORT_SYNC_FILE, x);
        if (r != 0)
        {
            return (r, "DMA_BUF_IOCTL_EXPORT_SYNC_FILE");
        }
        int sfd = BinaryPrimitives.ReadInt32LittleEndian(x.AsSpan(4));
        var sig = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(sig, BinaryPrimitives.ReadUInt32LittleEndian(fa.AsSpan(8)));
        r = Io(p, b, VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, sig);
        if (r != 0)
        {
            return (r, "VGEM_FENCE_SIGNAL");
        }
        int u = p.Munmap((ulong)addr, size);
        if (u != 0)
        {
            return (u, "munmap");
        }
        var gc = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(gc, h2);
        r = Io(p, b, DrmH.DRM_IOCTL_GEM_CLOSE, gc);
        if (r != 0)
        {
            return (r, "GEM_CLOSE importer");
        }
        foreach (int fd in new[] { sfd, dfd, b, a })
        {
            int cr = p.Close(fd);
            if (cr != 0)
            {
                return (cr, "close");
            }
        }
        // A virtio-gpu dumb buffer (its own GEM object allocation), dropped with its file.
        int v = p.Openat("/dev/dri/card2", OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        if (v < 0)
        {
            return (v, "open card2");
        }
        r = Io(p, v, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, c);
        if (r != 0)
        {
            return (r, "MODE_CREATE_DUMB virtio-gpu");
        }
        int vc = p.Close(v);
        return (vc, vc == 0 ? "" : "close card2");
    }
}
