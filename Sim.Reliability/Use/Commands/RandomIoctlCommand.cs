using Sim.DmaBufs.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// An ioctl with a random number (any, a DRM one, a dma-buf one; never one that makes descriptors or handles,
/// which the other commands drive) and random bytes on any descriptor: it must not change the fd table.
/// </summary>
public sealed class RandomIoctlCommand : UseCommand
{
    private static readonly uint[] s_modelled =
    [
        0x09, 0x0a, 0x0b, 0x2d, 0x2e, 0xb2, 0xb3, 0xb4, DrmH.DRM_COMMAND_BASE + 1,
    ];

    private int _fd;
    private uint _cmd;
    private byte[] _b = [];
    private int _before, _after;

    /// <inheritdoc/>
    public override string Name => "random ioctl";

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _fd = s.RandomFd(P(s));
        _cmd = RandomCmd(s.Rng);
        if ((_cmd & 0xff) == 0 && UseState.FileOf(P(s), _fd)?.PrivateData is Sim.DmaBufs.DmaHeap)
        {
            _cmd |= 1; // every nr-0 ioctl on a heap is DMA_HEAP_IOCTL_ALLOC, which makes a descriptor
        }
        _b = new byte[Math.Max(8, (int)Ioctl._IOC_SIZE(_cmd))];
        s.Rng.NextBytes(_b);
    }

    private static uint RandomCmd(Random rng)
    {
        while (true)
        {
            uint cmd = rng.Next(3) switch
            {
                0 => (uint)rng.NextInt64(0, 1L << 32),
                1 => Ioctl._IOC((uint)rng.Next(4), DrmH.DRM_IOCTL_BASE, (uint)rng.Next(256), (uint)rng.Next(0, 128)),
                _ => Ioctl._IOC((uint)rng.Next(4), DmaBufUapi.DMA_BUF_BASE, (uint)rng.Next(8), (uint)rng.Next(0, 16)),
            };
            uint type = Ioctl._IOC_TYPE(cmd);
            uint nr = Ioctl._IOC_NR(cmd);
            if (type == DrmH.DRM_IOCTL_BASE && Array.IndexOf(s_modelled, nr) >= 0)
            {
                continue;
            }
            if (type == DmaBufUapi.DMA_BUF_BASE && nr == 2)
            {
                continue; // EXPORT_SYNC_FILE makes a descriptor
            }
            return cmd;
        }
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        var p = P(s).P;
        _before = p.Files.OpenFds().Count();
        long r = UseState.Ioctl(P(s), _fd, _cmd, _b);
        _after = p.Files.OpenFds().Count();
        return r;
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (_after != _before)
        {
            s.Violation($"random ioctl 0x{_cmd:x} changed the fd table");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: ioctl({_fd}, 0x{_cmd:x}, {_b.Length} random bytes)";
}
