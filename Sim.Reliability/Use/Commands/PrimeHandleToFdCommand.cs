using System.Buffers.Binary;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DRM_IOCTL_PRIME_HANDLE_TO_FD of a handle with valid or random flags: an open handle and valid flags give a
/// dma-buf under the lowest free descriptor.
/// </summary>
public sealed class PrimeHandleToFdCommand : UseCommand
{
    private int _fd;
    private uint _h, _flags;
    private readonly byte[] _b = new byte[12];

    /// <inheritdoc/>
    public override string Name => "PRIME_HANDLE_TO_FD";

    /// <inheritdoc/>
    public override bool Pre(UseState s) => P(s).Fds.Count < UseState.MaxFds;

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _fd = s.RandomFdOf(P(s), drm: true);
        _h = s.RandomHandle(P(s), _fd);
        _flags = s.Rng.Next(8) switch { 0 => (uint)s.Rng.Next(), 1 => 0, 2 => DrmH.DRM_CLOEXEC, _ => DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR };
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        Array.Clear(_b);
        BinaryPrimitives.WriteUInt32LittleEndian(_b, _h);
        BinaryPrimitives.WriteUInt32LittleEndian(_b.AsSpan(4), _flags);
        return UseState.Ioctl(P(s), _fd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, _b);
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        var m = s.ModelOf(P(s), _fd);
        if (m is not null && ret == 0)
        {
            if (!m.Handles.ContainsKey(_h))
            {
                s.Violation($"PRIME_HANDLE_TO_FD of unknown handle {_h} succeeded");
            }
        }
        else if (m is not null && m.Handles.ContainsKey(_h) && (_flags & ~(DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR)) == 0)
        {
            s.Violation($"PRIME_HANDLE_TO_FD({_h}, 0x{_flags:x}) returned {ret}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (ret != 0 || s.ModelOf(P(s), _fd) is not { } m)
        {
            return;
        }
        var pr = P(s);
        int dfd = BinaryPrimitives.ReadInt32LittleEndian(_b.AsSpan(8));
        s.NewFd(pr, dfd, "PRIME_HANDLE_TO_FD");
        // A dma-buf's exporting object is fixed at export; an imported object hands back the dma-buf it imported.
        if (m.Handles.TryGetValue(_h, out var obj) && !obj.Imported && pr.Fds.TryGetValue(dfd, out var f))
        {
            s.Exports.TryAdd(f, (m.Dev, obj));
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: PRIME_HANDLE_TO_FD(fd {_fd}, handle {_h}, flags 0x{_flags:x})";
}
