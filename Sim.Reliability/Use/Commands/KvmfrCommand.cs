using Sim.DmaBufs.Kvmfr;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// KVMFR_DMABUF_GETSIZE (one time in three; the device has 4 MiB) or KVMFR_DMABUF_CREATE of a page range in or
/// out of the device: in range gives a dma-buf under the lowest free descriptor, out of range fails.
/// </summary>
public sealed class KvmfrCommand : UseCommand
{
    private int _fd;
    private bool _getSize;
    private ulong _offset, _len;
    private byte _flags;

    /// <inheritdoc/>
    public override string Name => "KVMFR_DMABUF_CREATE/GETSIZE";

    /// <inheritdoc/>
    public override void DrawTarget(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: false);
        _getSize = s.Rng.Next(3) == 0;
    }

    /// <inheritdoc/>
    public override bool Pre(UseState s) => _getSize || P(s).Fds.Count < UseState.MaxFds;

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        if (_getSize)
        {
            return;
        }
        var rng = s.Rng;
        _offset = rng.Next(8) == 0 ? (ulong)rng.NextInt64() : (ulong)rng.Next(0, 1100) * 4096;
        // Size 0 is left out: kvmfr accepts it and the import then reads pages[0] of a ZERO_SIZE_PTR array in
        // sg_alloc_table_from_pages (an oops in Linux 6.1), which the simulator does not model.
        _len = rng.Next(8) == 0 ? (ulong)rng.Next(1, int.MaxValue) : (ulong)rng.Next(1, 64) * 4096;
        _flags = (byte)rng.Next(2);
    }

    private bool IsKvmfr(UseState s) => UseState.FileOf(P(s), _fd) is { } kf && kf.Name.Contains("kvmfr", StringComparison.Ordinal);

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        if (_getSize)
        {
            return UseState.Ioctl(P(s), _fd, KvmfrUapi.KVMFR_DMABUF_GETSIZE, new byte[8]);
        }
        var create = new kvmfr_dmabuf_create { flags = _flags, offset = _offset, size = _len };
        return UseState.Ioctl(P(s), _fd, KvmfrUapi.KVMFR_DMABUF_CREATE, create.ToBytes());
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (!IsKvmfr(s))
        {
            return;
        }
        if (_getSize)
        {
            if (ret != 4L << 20)
            {
                s.Violation($"KVMFR_DMABUF_GETSIZE returned {ret}, the device has 4 MiB");
            }
            return;
        }
        bool ok = _len != 0 && _offset % 4096 == 0 && _len % 4096 == 0 && _offset + _len >= _offset && _offset + _len <= 4UL << 20;
        if (ok && ret < 0)
        {
            s.Violation($"KVMFR_DMABUF_CREATE(offset 0x{_offset:x}, size 0x{_len:x}) returned {ret}");
        }
        if (!ok && _len != 0 && ret >= 0)
        {
            s.Violation($"KVMFR_DMABUF_CREATE(offset 0x{_offset:x}, size 0x{_len:x}) out of range returned fd {ret}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (!_getSize)
        {
            s.NewFd(P(s), ret, "KVMFR_DMABUF_CREATE");
        }
    }

    /// <inheritdoc/>
    public override string ToString() => _getSize
        ? $"{Proc}: KVMFR_DMABUF_GETSIZE(fd {_fd})"
        : $"{Proc}: KVMFR_DMABUF_CREATE(fd {_fd}, offset 0x{_offset:x}, size 0x{_len:x}, flags {_flags})";
}
