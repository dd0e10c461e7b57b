namespace Sim.Reliability.Use.Commands;

/// <summary>mmap of 1-4 pages at offset 0-2 pages of a descriptor (mostly a dma-buf) and a write.</summary>
public sealed class MmapDmaBufCommand : UseCommand
{
    private int _fd;
    private ulong _len, _off;

    /// <inheritdoc/>
    public override string Name => "mmap dma-buf";

    /// <inheritdoc/>
    public override void DrawTarget(UseState s) => _fd = s.RandomFdOf(P(s), drm: false);

    /// <inheritdoc/>
    public override bool Pre(UseState s) => P(s).Maps.Count < 16;

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _len = (ulong)s.Rng.Next(1, 5) * 4096;
        _off = (ulong)s.Rng.Next(0, 3) * 4096;
    }

    /// <inheritdoc/>
    public override long Run(UseState s) => UseState.MapInto(P(s), _fd, _len, _off) ? 0 : -1;

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: mmap(fd {_fd}, {_len}, offset {_off})";
}
