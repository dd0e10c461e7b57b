using System.Buffers.Binary;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DRM_IOCTL_MODE_MAP_DUMB of a handle and, when it gives an offset, mmap of 1-4 pages there and a write.
/// Succeeds when MAP_DUMB does. The length is drawn after MAP_DUMB succeeded (as stress always drew it).
/// </summary>
public sealed class MapDumbMmapCommand : UseCommand
{
    private int _fd;
    private uint _h;
    private ulong _len;

    /// <inheritdoc/>
    public override string Name => "MAP_DUMB+mmap";

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: true);
        _h = s.RandomHandle(P(s), _fd);
        _len = 0;
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        var pr = P(s);
        var b = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(b, _h);
        long r = UseState.Ioctl(pr, _fd, DrmH.DRM_IOCTL_MODE_MAP_DUMB, b);
        if (r == 0 && pr.Maps.Count < 16)
        {
            ulong off = BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(8));
            _len = (ulong)s.Rng.Next(1, 5) * 4096;
            UseState.MapInto(pr, _fd, _len, off);
        }
        return r;
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: MODE_MAP_DUMB(fd {_fd}, handle {_h}) + mmap({_len})";
}
