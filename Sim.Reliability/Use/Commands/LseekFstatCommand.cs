using Sim.DmaBufs;

namespace Sim.Reliability.Use.Commands;

/// <summary>lseek(SEEK_END) and fstat of a descriptor: on a dma-buf both give its size.</summary>
public sealed class LseekFstatCommand : UseCommand
{
    private int _fd;
    private long _size;

    /// <inheritdoc/>
    public override string Name => "lseek/fstat";

    /// <inheritdoc/>
    public override void Draw(UseState s) => _fd = s.RandomFdOf(P(s), drm: false);

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        var p = P(s).P;
        long r = p.Lseek(_fd, 0, 2);
        var (rs, st) = p.Fstat(_fd);
        _size = rs == 0 ? st.Size : -1;
        return r < 0 ? r : rs < 0 ? rs : r;
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (UseState.FileOf(P(s), _fd) is { } f && DmaBuf.IsDmaBufFile(f) && (ret != _size || _size < 0))
        {
            s.Violation($"lseek(SEEK_END) of a dma-buf returned {ret}, fstat size {_size}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: lseek({_fd}, 0, SEEK_END) + fstat";
}
