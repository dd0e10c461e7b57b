
namespace Sim.RealKernel.DiffTest;

/// <summary>One line of a recorded answer set.</summary>
public sealed class RecordedScript
{
    /// <summary>The agent lines.</summary>
    public List<string> Script { get; set; } = [];

    /// <summary>The real kernel's trace.</summary>
    public string Trace { get; set; } = "";

    /// <summary>Events answered.</summary>
    public int Events { get; set; }

    /// <summary>vgem unload result after the script.</summary>
    public int Rmmod { get; set; }
}
