using Sim.RealKernel;

namespace Sim.RealKernel.DiffTest;

/// <summary>The real kernel: the guest agent of one boot.</summary>
public sealed class GuestOracle(GuestSession guest) : IKernelOracle
{
    /// <inheritdoc/>
    public ScriptAnswer Run(string name, IReadOnlyList<string> lines) => guest.RunScript(name, lines);
}
