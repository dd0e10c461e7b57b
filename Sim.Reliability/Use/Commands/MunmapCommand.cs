namespace Sim.Reliability.Use.Commands;

/// <summary>munmap of one whole mapping (must return 0); one time in four a read of another mapping after it.</summary>
public sealed class MunmapCommand : UseCommand
{
    private int _i;
    private bool _touch;
    private (ulong Addr, ulong Len, Sim.Core.Fs.KernelFile? File) _map;

    /// <inheritdoc/>
    public override string Name => "munmap";

    /// <inheritdoc/>
    public override bool Pre(UseState s) => P(s).Maps.Count > 0;

    /// <inheritdoc/>
    public override void Draw(UseState s)
    {
        _i = s.Rng.Next(P(s).Maps.Count);
        _touch = s.Rng.Next(4) == 0;
    }

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        var pr = P(s);
        _map = pr.Maps[_i];
        int r = pr.P.Munmap(_map.Addr, _map.Len);
        // Touch another mapping, as a program reads its buffer.
        if (_touch && pr.Maps.Count > 1)
        {
            Span<byte> one = stackalloc byte[1];
            _ = pr.P.Load(pr.Maps[_i == 0 ? 1 : 0].Addr, one);
        }
        return r;
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (ret != 0)
        {
            s.Violation($"munmap(0x{_map.Addr:x}, {_map.Len}) returned {ret}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
        P(s).Maps.RemoveAt(_i);
        s.ReleaseIfUnused(_map.File);
    }

    /// <inheritdoc/>
    public override bool Succeeded(long ret) => ret == 0;

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: munmap(0x{_map.Addr:x}, {_map.Len})";
}
