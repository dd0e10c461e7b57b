using System.Buffers.Binary;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DRM_IOCTL_PRIME_FD_TO_HANDLE of a descriptor: a dma-buf the file already knows gives its handle back; one the
/// same device exported gives a new handle to the exporting object; any other a new handle to a new object.
/// </summary>
public sealed class PrimeFdToHandleCommand : UseCommand
{
    private int _fd, _dfd;
    private readonly byte[] _b = new byte[12];

    /// <inheritdoc/>
    public override string Name => "PRIME_FD_TO_HANDLE";

    /// <inheritdoc/>
    public override void DrawTarget(UseState s) => _fd = s.RandomFdOf(P(s), drm: true);

    /// <inheritdoc/>
    public override bool Pre(UseState s) => s.ModelOf(P(s), _fd) is not { } m || m.Handles.Count < UseState.MaxHandles;

    /// <inheritdoc/>
    public override void Draw(UseState s) => _dfd = s.RandomFdOf(P(s), drm: false);

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        Array.Clear(_b);
        BinaryPrimitives.WriteInt32LittleEndian(_b.AsSpan(8), _dfd);
        return UseState.Ioctl(P(s), _fd, DrmH.DRM_IOCTL_PRIME_FD_TO_HANDLE, _b);
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (ret == 0 && !P(s).Fds.ContainsKey(_dfd))
        {
            s.Violation($"PRIME_FD_TO_HANDLE of closed fd {_dfd} succeeded");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (ret != 0 || s.ModelOf(P(s), _fd) is not { } m)
        {
            return;
        }
        // drm_gem_prime_import_dev: a dma-buf exported from a GEM object of the same device is that object.
        var obj = UseState.FileOf(P(s), _dfd) is { } f && s.Exports.TryGetValue(f, out var e) && e.Dev == m.Dev ? e.Obj : new GemModel { Imported = true };
        s.NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(_b), obj, "PRIME_FD_TO_HANDLE", mayExist: true);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: PRIME_FD_TO_HANDLE(fd {_fd}, dma-buf fd {_dfd})";
}
