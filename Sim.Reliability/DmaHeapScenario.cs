using Sim.DmaBufs;
using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.DmaBufs.Uapi;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// The DMA-BUF heaps at the uAPI (6.12 with both heaps and a CMA area): from each of /dev/dma_heap/system and
/// /dev/dma_heap/reserved a buffer is allocated (DMA_HEAP_IOCTL_ALLOC), mapped shared and written, attached and
/// mapped by a kernel importer, bracketed with DMA_BUF_IOCTL_SYNC, then every descriptor closed; last, one
/// allocation through a 200-byte (newer, larger) struct, which dma_heap_ioctl copies into a kmalloc'd buffer.
/// </summary>
public sealed class DmaHeapScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "dma-heap";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var m = Composition.BuildBootedMachine(Composition.ParseMachine("kernel=6.12 dma_heap cma=16M"));
        m.GetRequiredService<ProcessTable>().Spawn("dma-heap");
        return m;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var pt = machine.GetRequiredService<ProcessTable>();
        var p = pt.Processes[^1].Exited ? pt.Spawn("dma-heap") : pt.Processes[^1];
        var importer = machine.GetRequiredService<DmaMapping>().CreateDevice("heap-importer");
        var fds = new List<int>();
        var maps = new List<ulong>();
        try
        {
            foreach (var (heap, len) in new[] { ("system", (1UL << 20) + 0x11000UL), ("reserved", 0x5000UL) })
            {
                int dev = p.Openat(DmaHeapUapi.DevDir + "/" + heap, OpenFlags.O_RDONLY | OpenFlags.O_CLOEXEC);
                if (dev < 0)
                {
                    return (dev, "open " + heap);
                }
                fds.Add(dev);
                var b = DmaHeapUapi.Alloc(len, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
                long r = p.Ioctl(dev, DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC, new UserArg(0x1000, b));
                if (r < 0)
                {
                    return (r, "DMA_HEAP_IOCTL_ALLOC " + heap);
                }
                int fd = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
                fds.Add(fd);
                ulong size = (len + 4095) & ~4095UL;
                long addr = p.Mmap(size, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, fd, 0);
                if (addr < 0 && addr > -4096)
                {
                    return (addr, "mmap " + heap);
                }
                maps.Add((ulong)addr);
                maps.Add(size);
                _ = p.Store((ulong)addr, "heap"u8);
                var buf = (DmaBuf)p.Fget(fd)!.PrivateData!;
                var (at, err) = buf.Attach(importer);
                if (at is null)
                {
                    return (err, "dma_buf_attach " + heap);
                }
                var (sgt, mapErr) = DmaBuf.MapAttachmentUnlocked(at, DmaDataDirection.DMA_BIDIRECTIONAL);
                if (sgt is null)
                {
                    buf.Detach(at);
                    return (mapErr, "dma_buf_map_attachment " + heap);
                }
                var sync = new byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(sync, DmaBufUapi.DMA_BUF_SYNC_RW | DmaBufUapi.DMA_BUF_SYNC_START);
                r = p.Ioctl(fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x2000, sync));
                if (r == 0)
                {
                    BinaryPrimitives.WriteUInt64LittleEndian(sync, DmaBufUapi.DMA_BUF_SYNC_RW | DmaBufUapi.DMA_BUF_SYNC_END);
                    r = p.Ioctl(fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x2000, sync));
                }
                // No vmap here: a failing vmap is dma_buf_vmap's WARN_ON_ONCE(ret) in Linux too (the unit tests cover vmap).
                DmaBuf.UnmapAttachmentUnlocked(at, sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
                buf.Detach(at);
                if (r < 0)
                {
                    return (r, "DMA_BUF_IOCTL_SYNC " + heap);
                }
            }
            int sys = fds[0];
            var big = new byte[200];
            DmaHeapUapi.Alloc(4096, OpenFlags.O_RDWR).CopyTo(big, 0);
            long rb = p.Ioctl(sys, 0xC0C84800 /* _IOWR('H', 0, 200 bytes) */, new UserArg(0x1000, big));
            if (rb < 0)
            {
                return (rb, "DMA_HEAP_IOCTL_ALLOC (200-byte struct)");
            }
            fds.Add((int)BinaryPrimitives.ReadUInt32LittleEndian(big.AsSpan(8)));
            return (0, "");
        }
        finally
        {
            for (int k = 0; k < maps.Count; k += 2)
            {
                p.Munmap(maps[k], maps[k + 1]);
            }
            foreach (int fd in fds)
            {
                p.Close(fd);
            }
        }
    }
}
