using Sim.Core.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>close of an open descriptor or of any number (-EBADF).</summary>
public sealed class CloseCommand : UseCommand
{
    private int _fd;

    /// <inheritdoc/>
    public override string Name => "close";

    /// <inheritdoc/>
    public override void Draw(UseState s) => _fd = s.RandomFd(P(s));

    /// <inheritdoc/>
    public override long Run(UseState s) => P(s).P.Close(_fd);

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        int want = P(s).Fds.ContainsKey(_fd) ? 0 : -(int)Errno.EBADF;
        if (ret != want)
        {
            s.Violation($"close({_fd}) returned {ret}, expected {want}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret) => s.ForgetFd(P(s), _fd);

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: close({_fd})";
}
