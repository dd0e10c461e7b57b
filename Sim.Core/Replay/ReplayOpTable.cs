namespace Sim.Core.Replay;

/// <summary>Replays one op: executes the event against the machine and compares the results.</summary>
public delegate void ReplayOpHandler(ReplaySession session, TraceEvent ev, ReplayCheck check);

/// <summary>A project's contribution to replay: registers the ops it models (one per project's DI extension).</summary>
public interface IReplayOpProvider
{
    /// <summary>Adds handlers to <paramref name="table"/>.</summary>
    void Register(ReplayOpTable table);
}

/// <summary>
/// Op name to handler, filled by every <see cref="IReplayOpProvider"/> of the machine. An op nobody registered is
/// skipped under its own name; an op registered twice is an error (<see cref="DuplicateReplayOpException"/>) when the
/// table is built, so two projects can never silently replace each other's handler.
/// </summary>
public sealed class ReplayOpTable
{
    private readonly Dictionary<string, (ReplayOpHandler Handler, string Owner)> _handlers = new(StringComparer.Ordinal);
    private readonly List<Action<ReplaySession>> _fileStart = [];
    private readonly List<ReplayOpHandler> _afterEvent = [];

    /// <summary>The provider whose <see cref="IReplayOpProvider.Register"/> is running (named in duplicate errors).</summary>
    internal string CurrentOwner { get; set; } = "?";

    /// <summary>Builds the table of every provider, in order. Throws <see cref="DuplicateReplayOpException"/> for an op registered twice.</summary>
    public static ReplayOpTable Build(IEnumerable<IReplayOpProvider> providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        var table = new ReplayOpTable();
        foreach (var p in providers)
        {
            table.CurrentOwner = p.GetType().Name;
            p.Register(table);
        }
        return table;
    }

    /// <summary>Registers <paramref name="handler"/> for <paramref name="op"/>.</summary>
    public ReplayOpTable Add(string op, ReplayOpHandler handler)
    {
        if (_handlers.TryGetValue(op, out var existing))
        {
            throw new DuplicateReplayOpException(op, existing.Owner, CurrentOwner);
        }
        _handlers.Add(op, (handler, CurrentOwner));
        return this;
    }

    /// <summary>
    /// Replaces the handler of an op another provider registered (a test double standing in for a model's handler,
    /// registered after it): the replacement is explicit, never a second <see cref="Add(string, ReplayOpHandler)"/>.
    /// Throws when nobody registered <paramref name="op"/> yet.
    /// </summary>
    public ReplayOpTable Replace(string op, ReplayOpHandler handler)
    {
        if (!_handlers.ContainsKey(op))
        {
            throw new InvalidOperationException($"replay op \"{op}\" cannot be replaced by {CurrentOwner}: nobody registered it");
        }
        _handlers[op] = (handler, CurrentOwner);
        return this;
    }

    /// <summary>Registers one handler for several ops.</summary>
    public ReplayOpTable Add(IEnumerable<string> ops, ReplayOpHandler handler)
    {
        ArgumentNullException.ThrowIfNull(ops);
        foreach (var op in ops)
        {
            Add(op, handler);
        }
        return this;
    }

    /// <summary>Runs <paramref name="action"/> when a file starts (after the machine is built), e.g. to register unlogged actions.</summary>
    public ReplayOpTable OnFileStart(Action<ReplaySession> action)
    {
        _fileStart.Add(action);
        return this;
    }

    /// <summary>
    /// Runs <paramref name="handler"/> after every event (counted or not, handled or skipped), with the event's
    /// check: e.g. to compare the kernel-side events the model fired during it (<c>args.during</c>).
    /// </summary>
    public ReplayOpTable AfterEvent(ReplayOpHandler handler)
    {
        _afterEvent.Add(handler);
        return this;
    }

    /// <summary>The handler of <paramref name="op"/>, or null.</summary>
    public ReplayOpHandler? Find(string op) => _handlers.TryGetValue(op, out var h) ? h.Handler : null;

    /// <summary>The ops registered.</summary>
    public IEnumerable<string> Ops => _handlers.Keys;

    internal IReadOnlyList<Action<ReplaySession>> FileStart => _fileStart;

    internal IReadOnlyList<ReplayOpHandler> AfterEventHandlers => _afterEvent;
}

/// <summary>Two providers registered the same op.</summary>
public sealed class DuplicateReplayOpException(string op, string first, string second)
    : InvalidOperationException($"replay op \"{op}\" is registered twice: by {first} and by {second}")
{
    /// <summary>The op.</summary>
    public string Op { get; } = op;
}
