using System.Buffers.Binary;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DRM_IOCTL_GEM_OPEN of a small name: a name of the device gives a new handle (the lowest free) to its object;
/// any other name -ENOENT.
/// </summary>
public sealed class GemOpenCommand : UseCommand
{
    private int _fd;
    private uint _name;
    private readonly byte[] _b = new byte[16];

    /// <inheritdoc/>
    public override string Name => "GEM_OPEN";

    /// <inheritdoc/>
    public override void DrawTarget(UseState s) => _fd = s.RandomFdOf(P(s), drm: true);

    /// <inheritdoc/>
    public override bool Pre(UseState s) => s.ModelOf(P(s), _fd) is not { } m || m.Handles.Count < UseState.MaxHandles;

    /// <inheritdoc/>
    public override void Draw(UseState s) => _name = (uint)s.Rng.Next(0, 12);

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        Array.Clear(_b);
        BinaryPrimitives.WriteUInt32LittleEndian(_b, _name);
        return UseState.Ioctl(P(s), _fd, DrmH.DRM_IOCTL_GEM_OPEN, _b);
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (s.ModelOf(P(s), _fd) is not { } m)
        {
            return;
        }
        bool named = s.NamesOf(m.Dev).ContainsKey(_name);
        if (ret == 0 && !named)
        {
            s.Violation($"GEM_OPEN of name {_name}, never handed out, succeeded");
        }
        else if (ret != 0 && (named || ret != -(long)Errno.ENOENT))
        {
            s.Violation($"GEM_OPEN({_name}) returned {ret}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (ret == 0 && s.ModelOf(P(s), _fd) is { } m)
        {
            var obj = s.NamesOf(m.Dev).GetValueOrDefault(_name) ?? new GemModel();
            s.NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(_b.AsSpan(4)), obj, "GEM_OPEN", mayExist: false);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: GEM_OPEN(fd {_fd}, name {_name})";
}
