using System.Buffers.Binary;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>DRM_IOCTL_VGEM_FENCE_ATTACH of a handle (random flags now and then) or DRM_IOCTL_VGEM_FENCE_SIGNAL of a small fence id.</summary>
public sealed class VgemFenceCommand : UseCommand
{
    private int _fd;
    private bool _attach;
    private uint _a, _flags;

    /// <inheritdoc/>
    public override string Name => "VGEM_FENCE_ATTACH/SIGNAL";

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: true);
        _attach = s.Rng.Next(2) == 0;
        if (_attach)
        {
            _a = s.RandomHandle(P(s), _fd);
            _flags = s.Rng.Next(6) == 0 ? (uint)s.Rng.Next() : (uint)s.Rng.Next(2);
        }
        else
        {
            _a = (uint)s.Rng.Next(0, 6);
        }
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        if (_attach)
        {
            var b = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(b, _a);
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), _flags);
            return UseState.Ioctl(P(s), _fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, b);
        }
        var sig = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(sig, _a);
        return UseState.Ioctl(P(s), _fd, VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, sig);
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
    public override string ToString() => _attach ? $"{Proc}: VGEM_FENCE_ATTACH(fd {_fd}, handle {_a}, flags 0x{_flags:x})" : $"{Proc}: VGEM_FENCE_SIGNAL(fd {_fd}, fence {_a})";
}
