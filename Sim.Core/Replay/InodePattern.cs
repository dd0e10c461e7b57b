namespace Sim.Core.Replay;

/// <summary>
/// Per-file replay state for the fields compared by their equality pattern (data/traces/README.md: <c>st_ino</c>,
/// fdinfo <c>ino</c>, the bufinfo <c>ino</c> column): a one-to-one binding of traced numbers to model numbers, made
/// at first sight. Every handler that compares inode numbers uses the same instance
/// (<c>ctx.State&lt;InodePattern&gt;()</c>), so one file's fstat, fdinfo and bufinfo agree with each other.
/// </summary>
public sealed class InodePattern
{
    private readonly Dictionary<ulong, ulong> _tracedToModel = [];
    private readonly Dictionary<ulong, ulong> _modelToTraced = [];

    /// <summary>
    /// True when <paramref name="traced"/> and <paramref name="model"/> fit the pattern: both unseen (they are then
    /// bound to each other), or already bound to each other.
    /// </summary>
    public bool Match(ulong traced, ulong model)
    {
        bool t = _tracedToModel.TryGetValue(traced, out ulong m);
        bool u = _modelToTraced.TryGetValue(model, out ulong tr);
        if (!t && !u)
        {
            _tracedToModel.Add(traced, model);
            _modelToTraced.Add(model, traced);
            return true;
        }
        return t && u && m == model && tr == traced;
    }
}
