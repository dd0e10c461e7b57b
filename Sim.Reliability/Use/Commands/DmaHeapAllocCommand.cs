using System.Buffers.Binary;
using Sim.Core.Fs;
using Sim.Core.Uapi;
using Sim.DmaBufs.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DMA_HEAP_IOCTL_ALLOC on a descriptor (mostly a heap): a valid request (5 in 6: a length, O_RDWR with or without
/// O_CLOEXEC) gives a dma-buf under the lowest free descriptor or -ENOMEM; an invalid one (length 0, an fd flag
/// outside O_RDWR|O_CLOEXEC, any heap flag, a non-zero fd field) -EINVAL.
/// </summary>
public sealed class DmaHeapAllocCommand : UseCommand
{
    private int _fd;
    private bool _valid, _isHeap;
    private ulong _len, _heapFlags;
    private uint _fdFlags, _inFd;
    private byte[] _b = [];
    private string _heapName = "";

    /// <inheritdoc/>
    public override string Name => "DMA_HEAP_IOCTL_ALLOC";

    /// <inheritdoc/>
    public override bool Pre(UseState s) => P(s).Fds.Count < UseState.MaxFds;

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        var rng = s.Rng;
        _fd = s.RandomFdOf(P(s), drm: false);
        var f = UseState.FileOf(P(s), _fd);
        _isHeap = f?.PrivateData is Sim.DmaBufs.DmaHeap;
        _heapName = f?.Name ?? "";
        _valid = rng.Next(6) != 0;
        _len = rng.Next(4) switch
        {
            0 => (ulong)rng.Next(1, 1 << 21),
            1 => (ulong)rng.Next(1, 300) * 4096,
            _ => (ulong)rng.Next(1, 17) * 4096,
        };
        _fdFlags = OpenFlags.O_RDWR | (rng.Next(2) == 0 ? OpenFlags.O_CLOEXEC : 0);
        _heapFlags = 0;
        _inFd = 0;
        if (!_valid)
        {
            switch (rng.Next(4))
            {
                case 0:
                    _len = 0;
                    break;
                case 1:
                    _fdFlags |= 1u << rng.Next(2, 31);
                    if ((_fdFlags & ~DmaHeapUapi.DMA_HEAP_VALID_FD_FLAGS) == 0)
                    {
                        _fdFlags |= 0x800;
                    }
                    break;
                case 2:
                    _heapFlags = 1UL << rng.Next(64);
                    break;
                default:
                    _inFd = (uint)rng.Next(1, 100);
                    break;
            }
        }
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        _b = DmaHeapUapi.Alloc(_len, _fdFlags, _heapFlags, _inFd);
        return UseState.Ioctl(P(s), _fd, DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC, _b);
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (_isHeap && !_valid && ret != -(long)Errno.EINVAL)
        {
            s.Violation($"DMA_HEAP_IOCTL_ALLOC(len {_len}, fd_flags 0x{_fdFlags:x}, heap_flags 0x{_heapFlags:x}, fd {_inFd}) returned {ret}, expected -EINVAL");
        }
        if (_isHeap && _valid && ret != 0 && ret != -(long)Errno.ENOMEM)
        {
            s.Violation($"DMA_HEAP_IOCTL_ALLOC(len {_len}) on {_heapName} returned {ret}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (_isHeap && ret == 0)
        {
            s.NewFd(P(s), BinaryPrimitives.ReadUInt32LittleEndian(_b.AsSpan(8)), "DMA_HEAP_IOCTL_ALLOC");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: DMA_HEAP_IOCTL_ALLOC(fd {_fd}, len {_len}, fd_flags 0x{_fdFlags:x}, heap_flags 0x{_heapFlags:x}, fd {_inFd})";
}
