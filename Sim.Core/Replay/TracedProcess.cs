namespace Sim.Core.Replay;

/// <summary>
/// Per-file replay state of the traced program besides its process (<see cref="ReplaySession.RunsProcess"/>): its
/// mappings by the <c>i</c> of the mmap event that made them, and the equality pattern of inode numbers.
/// </summary>
public sealed class TracedProcess
{
    private readonly Dictionary<ulong, ulong> _inoTraceToModel = [];
    private readonly Dictionary<ulong, ulong> _inoModelToTrace = [];

    /// <summary>mmap event <c>i</c> -> the address the model returned.</summary>
    public Dictionary<long, ulong> Mappings { get; } = [];

    /// <summary>
    /// Compares inode numbers by their equality pattern inside one file: the first time a trace number and a model
    /// number meet they are paired; afterwards each must meet only its partner.
    /// </summary>
    public bool InoMatches(ulong traced, ulong model)
    {
        bool a = _inoTraceToModel.TryGetValue(traced, out ulong m);
        bool b = _inoModelToTrace.TryGetValue(model, out ulong t);
        if (!a && !b)
        {
            _inoTraceToModel[traced] = model;
            _inoModelToTrace[model] = traced;
            return true;
        }
        return a && b && m == model && t == traced;
    }
}
