using System.Text.Json;
using Sim.RealKernel;

namespace Sim.RealKernel.DiffTest;

/// <summary>Something that answers scripts like the real kernel: the guest agent, or a recording of its answers.</summary>
public interface IKernelOracle
{
    /// <summary>Runs one script on a fresh vgem device.</summary>
    ScriptAnswer Run(string name, IReadOnlyList<string> lines);
}

/// <summary>The real kernel: the guest agent of one boot.</summary>
public sealed class GuestOracle(GuestSession guest) : IKernelOracle
{
    /// <inheritdoc/>
    public ScriptAnswer Run(string name, IReadOnlyList<string> lines) => guest.RunScript(name, lines);
}

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
