using Sim.RealKernel;

namespace Sim.RealKernel.DiffTest;

/// <summary>Something that answers scripts like the real kernel: the guest agent, or a recording of its answers.</summary>
public interface IKernelOracle
{
    /// <summary>Runs one script on a fresh vgem device.</summary>
    ScriptAnswer Run(string name, IReadOnlyList<string> lines);
}
