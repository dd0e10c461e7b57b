using System.Text.Json;
using Sim.RealKernel;

namespace Sim.RealKernel.DiffTest;

/// <summary>Answers from a recorded set (no QEMU); a script that was never recorded is an error.</summary>
public sealed class RecordedOracle : IKernelOracle
{
    private readonly Dictionary<string, RecordedScript> _answers = new(StringComparer.Ordinal);

    /// <summary>Loads a file written by <see cref="RecordingOracle"/>.</summary>
    public RecordedOracle(string path)
    {
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                continue;
            }
            var r = JsonSerializer.Deserialize<RecordedScript>(line)!;
            _answers[string.Join('\n', r.Script)] = r;
        }
    }

    /// <summary>Number of recorded scripts.</summary>
    public int Count => _answers.Count;

    /// <inheritdoc/>
    public ScriptAnswer Run(string name, IReadOnlyList<string> lines) =>
        _answers.TryGetValue(string.Join('\n', lines), out var r)
            ? new ScriptAnswer(r.Trace, r.Events, r.Rmmod)
            : throw new KeyNotFoundException($"script {name} was not recorded (re-record with dmabufsim difftest --record):\n{string.Join('\n', lines)}");
}
