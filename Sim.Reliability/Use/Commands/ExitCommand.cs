namespace Sim.Reliability.Use.Commands;

/// <summary>The process exits (every descriptor and mapping goes) and a fresh one takes its place.</summary>
public sealed class ExitCommand : UseCommand
{
    /// <inheritdoc/>
    public override string Name => "exit";

    /// <inheritdoc/>
    public override long Run(UseState s)
    {
        s.ExitProcess(Proc);
        return 0;
    }

    /// <inheritdoc/>
    public override void Post(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override void Update(UseState s, long ret)
    {
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Proc}: exit";
}
