using System.Text.Json;
using Sim.RealKernel;

namespace Sim.RealKernel.DiffTest;

/// <summary>Passes scripts on and appends every script with its answer to a JSON-lines file (a recorded answer set).</summary>
public sealed class RecordingOracle(IKernelOracle inner, TextWriter record) : IKernelOracle
{
    /// <inheritdoc/>
    public ScriptAnswer Run(string name, IReadOnlyList<string> lines)
    {
        var a = inner.Run(name, lines);
        record.WriteLine(JsonSerializer.Serialize(new RecordedScript { Script = [.. lines], Trace = a.Trace, Events = a.Events, Rmmod = a.RmmodResult }));
        record.Flush();
        return a;
    }
}
