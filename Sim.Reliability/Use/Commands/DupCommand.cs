using Sim.Core.Uapi;

namespace Sim.Reliability.Use.Commands;

/// <summary>dup of an open descriptor (the lowest free fd) or of any number (-EBADF).</summary>
public sealed class DupCommand : UseCommand
{
    private int _fd;

    /// <inheritdoc/>
    public override string Name => "dup";

    /// <inheritdoc/>
    public override bool Pre(UseState s) => P(s).Fds.Count < UseState.MaxFds;

    /// <inheritdoc/>
    public override void Draw(UseState s) => _fd = s.RandomFd(P(s));

    /// <inheritdoc/>
    public override long Run(UseState s) => P(s).P.Dup(_fd);

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
        if (!P(s).Fds.ContainsKey(_fd) && ret != -(int)Errno.EBADF)
        {
            s.Violation($"dup({_fd}) of a closed fd returned {ret}");
        }
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret) => s.NewFd(P(s), ret, "dup");

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: dup({_fd})";
}
