using Sim.DmaBufs;
using System.Buffers.Binary;
using Sim.Core.Uapi;
using Sim.DmaBufs.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DMA_BUF_IOCTL_SYNC with valid or random flags: invalid flags on a dma-buf give -EINVAL. On a DMA-BUF heap the
/// same number is DMA_HEAP_IOCTL_ALLOC (nr 0): a non-zero length (the flags) allocates a dma-buf under the lowest
/// free descriptor, not copied back (no IOC_OUT); 0 is -EINVAL.
/// </summary>
public sealed class DmaBufSyncCommand : UseCommand
{
    private int _fd;
    private ulong _flags;
    private bool _onHeap;
    private int _lowest;

    /// <inheritdoc/>
    public override string Name => "DMA_BUF_IOCTL_SYNC";

    /// <inheritdoc/>
    public override void DrawTarget(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: false);
        _flags = s.Rng.Next(6) == 0 ? (ulong)s.Rng.NextInt64() : (ulong)s.Rng.Next(0, 8);
        _onHeap = UseState.FileOf(P(s), _fd)?.PrivateData is Sim.DmaBufs.DmaHeap;
        _lowest = UseState.LowestFreeFd(P(s));
    }

    /// <inheritdoc/>
    public override bool Pre(UseState s) => !_onHeap || P(s).Fds.Count < UseState.MaxFds;

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
        if (_onHeap)
        {
            long want = _flags == 0 || _flags > ulong.MaxValue - 4095 ? -(long)Errno.EINVAL : 0;
            if (ret != want && !(want == 0 && ret == -(long)Errno.ENOMEM))
            {
                s.Violation($"DMA_BUF_IOCTL_SYNC(0x{_flags:x}) on a heap returned {ret}, expected {want}");
            }
            return;
        }
        if (UseState.FileOf(P(s), _fd) is { } f && DmaBuf.IsDmaBufFile(f))
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
        if (_onHeap && ret == 0)
        {
            s.NewFd(P(s), _lowest, "DMA_BUF_IOCTL_SYNC on a heap (DMA_HEAP_IOCTL_ALLOC)");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: DMA_BUF_IOCTL_SYNC(fd {_fd}, 0x{_flags:x})";
}
