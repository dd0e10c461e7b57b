using System.Buffers.Binary;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DRM_IOCTL_GEM_FLINK of an open handle: the object's name if it has one, else the lowest free name of the
/// device (drm_gem_flink_ioctl, idr_alloc from 1); -ENOENT for a handle that is not open.
/// </summary>
public sealed class FlinkCommand : UseCommand
{
    private int _fd;
    private uint _h;
    private readonly byte[] _b = new byte[8];

    /// <inheritdoc/>
    public override string Name => "GEM_FLINK";

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: true);
        _h = s.RandomHandle(P(s), _fd);
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        Array.Clear(_b);
        BinaryPrimitives.WriteUInt32LittleEndian(_b, _h);
        return UseState.Ioctl(P(s), _fd, DrmH.DRM_IOCTL_GEM_FLINK, _b);
    }

    private uint Returned => BinaryPrimitives.ReadUInt32LittleEndian(_b.AsSpan(4));

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (s.ModelOf(P(s), _fd) is not { } m)
        {
            return;
        }
        long want = m.Handles.ContainsKey(_h) ? 0 : -(long)Errno.ENOENT;
        if (ret != want)
        {
            s.Violation($"GEM_FLINK({_h}) returned {ret}, expected {want}");
        }
        if (ret == 0 && m.Handles.TryGetValue(_h, out var obj))
        {
            var names = s.NamesOf(m.Dev);
            uint expect = names.FirstOrDefault(kv => kv.Value == obj).Key;
            if (expect == 0)
            {
                expect = UseState.LowestFreeName(names);
            }
            if (Returned != expect)
            {
                s.Violation($"GEM_FLINK({_h}) gave name {Returned}, expected {expect}");
            }
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (ret == 0 && s.ModelOf(P(s), _fd) is { } m && m.Handles.TryGetValue(_h, out var obj))
        {
            s.NamesOf(m.Dev)[Returned] = obj;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: GEM_FLINK(fd {_fd}, handle {_h})";
}
