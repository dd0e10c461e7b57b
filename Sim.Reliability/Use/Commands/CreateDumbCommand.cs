using System.Buffers.Binary;
using Sim.Core.Uapi;
using Sim.Drm;
using Sim.Drm.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>
/// DRM_IOCTL_MODE_CREATE_DUMB with a valid size (5 in 6) or random width/height/bpp, flags now and then: a new
/// object under the lowest free handle, or -EINVAL/-ENOMEM (vgem takes every valid size; virtio-gpu only bpp 32).
/// </summary>
public sealed class CreateDumbCommand : UseCommand
{
    private int _fd;
    private bool _valid;
    private uint _w, _h, _bpp, _flags;
    private readonly byte[] _b = new byte[32];

    /// <inheritdoc/>
    public override string Name => "MODE_CREATE_DUMB";

    /// <inheritdoc/>
    public override void DrawTarget(UseState s) => _fd = s.RandomFdOf(P(s), drm: true);

    /// <inheritdoc/>
    public override bool Pre(UseState s) => s.ModelOf(P(s), _fd) is not { } m || m.Handles.Count < UseState.MaxHandles;

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        var rng = s.Rng;
        _valid = rng.Next(6) != 0;
        _w = _valid ? (uint)rng.Next(1, 200) : (uint)rng.NextInt64(0, 1L << 32);
        _h = _valid ? (uint)rng.Next(1, 100) : (uint)rng.NextInt64(0, 1L << 32);
        _bpp = _valid ? (uint)(8 << rng.Next(3)) : (uint)rng.Next(0, 70);
        _flags = rng.Next(10) == 0 ? (uint)rng.Next() : 0;
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        Array.Clear(_b);
        BinaryPrimitives.WriteUInt32LittleEndian(_b, _h);
        BinaryPrimitives.WriteUInt32LittleEndian(_b.AsSpan(4), _w);
        BinaryPrimitives.WriteUInt32LittleEndian(_b.AsSpan(8), _bpp);
        BinaryPrimitives.WriteUInt32LittleEndian(_b.AsSpan(12), _flags);
        return UseState.Ioctl(P(s), _fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, _b);
    }

    // virtio_gpu_mode_dumb_create takes only bpp 32 (-EINVAL otherwise); vgem's drm_gem_shmem_dumb_create any.
    private static bool IsVgem(UseProc pr, int fd) => pr.Fds.TryGetValue(fd, out var f) && f.PrivateData is DrmFile df && df.Dev.Driver.Name == "vgem";

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        var m = s.ModelOf(P(s), _fd);
        if (m is null && ret >= 0)
        {
            s.Violation($"CREATE_DUMB on fd {_fd} (not a DRM file) returned {ret}");
        }
        if (ret == 0 && m is not null)
        {
            return; // the handle is checked by the update
        }
        if (_valid && _flags == 0 && m is not null && ret != 0 && IsVgem(P(s), _fd))
        {
            s.Violation($"CREATE_DUMB {_w}x{_h}x{_bpp} returned {ret}");
        }
        else if (ret != 0 && m is not null && ret != -(long)Errno.EINVAL && ret != -(long)Errno.ENOMEM)
        {
            s.Violation($"CREATE_DUMB {_w}x{_h}x{_bpp} flags 0x{_flags:x} returned {ret}, not 0, -EINVAL or -ENOMEM");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        if (ret == 0 && s.ModelOf(P(s), _fd) is { } m)
        {
            s.NewHandle(m, BinaryPrimitives.ReadUInt32LittleEndian(_b.AsSpan(16)), new GemModel(), "CREATE_DUMB", mayExist: false);
        }
    }

    /// <inheritdoc/>
    public override bool Succeeded(long ret) => ret >= 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: MODE_CREATE_DUMB(fd {_fd}, {_w}x{_h}x{_bpp}, flags 0x{_flags:x})";
}
