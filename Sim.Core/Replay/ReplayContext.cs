using System.Text.Json;
using Sim.Core.Boot;

namespace Sim.Core.Replay;

/// <summary>Replays one op: executes the event against the model and compares the results.</summary>
public delegate void ReplayOpHandler(ReplayContext context, TraceEvent ev, ReplayCheck check);

/// <summary>A project's contribution to replay: registers the ops it models (one per project's DI extension).</summary>
public interface IReplayOpProvider
{
    /// <summary>Adds handlers to <paramref name="table"/>.</summary>
    void Register(ReplayOpTable table);
}

/// <summary>Op name to handler. An op nobody registered is skipped under its own name.</summary>
public sealed class ReplayOpTable
{
    private readonly Dictionary<string, ReplayOpHandler> _handlers = new(StringComparer.Ordinal);
    private readonly List<Action<ReplayContext>> _fileStart = [];
    private readonly List<ReplayOpHandler> _afterEvent = [];

    /// <summary>Registers <paramref name="handler"/> for <paramref name="op"/> (a later registration wins).</summary>
    public ReplayOpTable Add(string op, ReplayOpHandler handler)
    {
        _handlers[op] = handler;
        return this;
    }

    /// <summary>Registers one handler for several ops.</summary>
    public ReplayOpTable Add(IEnumerable<string> ops, ReplayOpHandler handler)
    {
        foreach (var op in ops)
        {
            _handlers[op] = handler;
        }
        return this;
    }

    /// <summary>Runs <paramref name="action"/> when a file starts (after the machine is built), e.g. to open the header's fds.</summary>
    public ReplayOpTable OnFileStart(Action<ReplayContext> action)
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
    public ReplayOpHandler? Find(string op) => _handlers.GetValueOrDefault(op);

    /// <summary>The ops registered.</summary>
    public IEnumerable<string> Ops => _handlers.Keys;

    internal IReadOnlyList<Action<ReplayContext>> FileStart => _fileStart;

    internal IReadOnlyList<ReplayOpHandler> AfterEventHandlers => _afterEvent;
}

/// <summary>
/// The state of one file under replay: its machine (a fresh DI container built from the header and the
/// <c>--machine</c> overrides), the header, and a per-file state bag that handlers of different projects
/// use for what the trace refers back to (fds, mappings by <c>i</c>, tables by case).
/// </summary>
public sealed class ReplayContext
{
    private readonly Dictionary<Type, object> _state = [];
    private readonly List<(string Name, Action<ReplayCheck> Action)> _atExit = [];

    internal ReplayContext(string file, DataFileKind kind, JsonElement header, MachineOptions options, IServiceProvider machine)
    {
        File = file;
        Kind = kind;
        Header = header;
        Options = options;
        Machine = machine;
        Family = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(file))) ?? "";
    }

    /// <summary>The file being replayed.</summary>
    public string File { get; }

    /// <summary>The folder name (trace family), e.g. <c>linux-6.1-vgem</c>.</summary>
    public string Family { get; }

    /// <summary>Trace or vector file.</summary>
    public DataFileKind Kind { get; }

    /// <summary>The header (undefined for vector files).</summary>
    public JsonElement Header { get; }

    /// <summary>The machine's configuration.</summary>
    public MachineOptions Options { get; }

    /// <summary>The machine (its services are the models).</summary>
    public IServiceProvider Machine { get; }

    /// <summary>A model service of the machine.</summary>
    public T Get<T>() where T : notnull =>
        (T)(Machine.GetService(typeof(T)) ?? throw new InvalidOperationException($"the machine has no {typeof(T).Name}"));

    /// <summary>Per-file state of type <typeparamref name="T"/>, created on first use.</summary>
    public T State<T>() where T : class, new()
    {
        if (!_state.TryGetValue(typeof(T), out var s))
        {
            s = new T();
            _state.Add(typeof(T), s);
        }
        return (T)s;
    }

    /// <summary>
    /// Registers an end-of-file step (the traced process's exit, then a leak check). Each registered step is
    /// counted as one event of op <c>exit</c>: its check passes when it records no difference.
    /// </summary>
    public void AtExit(string name, Action<ReplayCheck> action)
    {
        if (!_atExit.Exists(e => e.Name == name))
        {
            _atExit.Add((name, action));
        }
    }

    internal IReadOnlyList<(string Name, Action<ReplayCheck> Action)> ExitSteps => _atExit;
}
