using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// memfd and udmabuf at the uAPI (machine option <c>udmabuf</c>): a sealed memfd written, a udmabuf made from two
/// ranges of it (UDMABUF_CREATE_LIST), CPU access bracketed with DMA_BUF_IOCTL_SYNC (the device's own table), then
/// every descriptor closed.
/// </summary>
public sealed class UdmabufScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "udmabuf";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var m = Composition.BuildMachine(Composition.ParseMachine("udmabuf"));
        _ = m.GetRequiredService<Udmabuf>();
        m.GetRequiredService<ProcessTable>().Spawn("udmabuf");
        return m;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var pt = machine.GetRequiredService<ProcessTable>();
        var memfds = machine.GetRequiredService<Memfd>();
        var p = pt.Processes[^1].Exited ? pt.Spawn("udmabuf") : pt.Processes[^1];
        var fds = new List<int>();
        try
        {
            int dev = p.Openat(Udmabuf.DevPath, OpenFlags.O_RDWR);
            if (dev < 0)
            {
                return (dev, "open /dev/udmabuf");
            }
            fds.Add(dev);
            int memfd = memfds.Create(p, "sweep", Memfd.MFD_ALLOW_SEALING);
            if (memfd < 0)
            {
                return (memfd, "memfd_create");
            }
            fds.Add(memfd);
            long r = Memfd.Ftruncate(p.Fget(memfd)!, 4 * 4096);
            if (r == 0)
            {
                r = p.Fcntl(memfd, Memfd.F_ADD_SEALS, Memfd.F_SEAL_SHRINK);
            }
            if (r < 0)
            {
                return (r, "ftruncate/F_ADD_SEALS");
            }
            r = memfds.Pwrite(p.Fget(memfd)!, "udmabuf"u8, 4096);
            if (r < 0)
            {
                return (r, "pwrite");
            }
            var list = UdmabufUapi.CreateList(UdmabufUapi.UDMABUF_FLAGS_CLOEXEC, ((uint)memfd, 0, 4096), ((uint)memfd, 8192, 8192));
            long fd = p.Ioctl(dev, UdmabufUapi.UDMABUF_CREATE_LIST, new UserArg(0x1000, list));
            if (fd < 0)
            {
                return (fd, "UDMABUF_CREATE_LIST");
            }
            fds.Add((int)fd);
            var sync = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(sync, DmaBufUapi.DMA_BUF_SYNC_RW | DmaBufUapi.DMA_BUF_SYNC_START);
            r = p.Ioctl((int)fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x2000, sync));
            if (r < 0)
            {
                return (r, "DMA_BUF_IOCTL_SYNC start");
            }
            BinaryPrimitives.WriteUInt64LittleEndian(sync, DmaBufUapi.DMA_BUF_SYNC_RW | DmaBufUapi.DMA_BUF_SYNC_END);
            r = p.Ioctl((int)fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, new UserArg(0x2000, sync));
            return r < 0 ? (r, "DMA_BUF_IOCTL_SYNC end") : (0, "");
        }
        finally
        {
            foreach (int fd in fds)
            {
                p.Close(fd);
            }
        }
    }
}
