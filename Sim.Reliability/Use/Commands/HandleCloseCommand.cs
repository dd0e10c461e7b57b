using System.Buffers.Binary;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DRM_IOCTL_MODE_DESTROY_DUMB or DRM_IOCTL_GEM_CLOSE of an open handle (0) or of any number (-EINVAL); the
/// object's flink name dies with its last handle.
/// </summary>
public sealed class HandleCloseCommand(bool destroy) : UseCommand
{
    private int _fd;
    private uint _h;

    /// <summary>MODE_DESTROY_DUMB rather than GEM_CLOSE.</summary>
    public bool Destroy { get; } = destroy;

    /// <inheritdoc/>
    public override string Name => Destroy ? "MODE_DESTROY_DUMB" : "GEM_CLOSE";

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: true);
        _h = s.RandomHandle(P(s), _fd);
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        var b = new byte[Destroy ? 4 : 8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, _h);
        return UseState.Ioctl(P(s), _fd, Destroy ? DrmH.DRM_IOCTL_MODE_DESTROY_DUMB : DrmH.DRM_IOCTL_GEM_CLOSE, b);
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (s.ModelOf(P(s), _fd) is { } m)
        {
            long want = m.Handles.ContainsKey(_h) ? 0 : -(long)Errno.EINVAL;
            if (ret != want)
            {
                s.Violation($"{Name}({_h}) returned {ret}, expected {want}");
            }
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (ret == 0 && s.ModelOf(P(s), _fd) is { } m)
        {
            s.DropHandle(m, _h);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: {Name}(fd {_fd}, handle {_h})";
}
