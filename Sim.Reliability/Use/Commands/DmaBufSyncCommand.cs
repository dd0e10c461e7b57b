using System.Buffers.Binary;
using Sim.Core.Uapi;
using Sim.DmaBuf.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>DMA_BUF_IOCTL_SYNC with valid or random flags: invalid flags on a dma-buf give -EINVAL.</summary>
public sealed class DmaBufSyncCommand : UseCommand
{
    private int _fd;
    private ulong _flags;

    /// <inheritdoc/>
    public override string Name => "DMA_BUF_IOCTL_SYNC";

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: false);
        _flags = s.Rng.Next(6) == 0 ? (ulong)s.Rng.NextInt64() : (ulong)s.Rng.Next(0, 8);
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, _flags);
        return UseState.Ioctl(P(s), _fd, DmaBufUapi.DMA_BUF_IOCTL_SYNC, b);
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (UseState.FileOf(P(s), _fd) is { } f && Sim.DmaBuf.DmaBuf.IsDmaBufFile(f))
        {
            bool ok = (_flags & ~DmaBufUapi.DMA_BUF_SYNC_VALID_FLAGS_MASK) == 0 && (_flags & DmaBufUapi.DMA_BUF_SYNC_RW) != 0;
            if (!ok && ret != -(long)Errno.EINVAL)
            {
                s.Violation($"DMA_BUF_IOCTL_SYNC(0x{_flags:x}) returned {ret}, expected -EINVAL");
            }
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: DMA_BUF_IOCTL_SYNC(fd {_fd}, 0x{_flags:x})";
}
