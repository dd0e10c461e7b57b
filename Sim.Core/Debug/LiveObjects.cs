// The kernel's kmemleak idea (mm/kmemleak.c): every reference-counted model object registers while alive.
namespace Sim.Core.Debug;

/// <summary>
/// A live object as the leak report shows it. <paramref name="Module"/> names the module whose static data holds
/// it (a loaded module's objects stay as long as the module: they are no leak while it is loaded).
/// </summary>
/// <paramref name="Target"/> is the object itself when it registered it, so a report can find who refers to it.
/// <paramref name="Origin"/> is the user call that created it, when the machine's <see cref="LeakCheck"/> is on (as
/// kmemleak keeps an allocation's stack trace).
public sealed record LiveObject(long Id, string Type, string Description, Func<string>? Holder, string? Module = null, object? Target = null,
    CallOrigin Origin = default);

/// <summary>
/// Live-object accounting for one machine. Every kref'd object (pages, files, GEM objects, dma-bufs,
/// attachments, fences, sg tables, umems) calls <see cref="Register"/> when created and
/// <see cref="Unregister"/> when its last reference goes. A replay or a test asks <see cref="Alive"/>
/// at the end: nothing may remain that the scenario's end state does not keep.
/// </summary>
[Kernel("kmemleak", "mm/kmemleak.c")]
public sealed class LiveObjects(LeakCheck? check = null)
{
    private readonly Dictionary<long, LiveObject> _alive = [];
    private long _nextId = 1;

    /// <summary>Raised after an object registers and before it is dropped (timelines follow lifetimes).</summary>
    public event Action<LiveObject, bool>? Changed;

    /// <summary>Registers a new live object; returns its id for <see cref="Unregister"/>.</summary>
    public long Register(string type, string description, Func<string>? holder = null, string? module = null, object? target = null)
    {
        long id = _nextId++;
        var o = new LiveObject(id, type, description, holder, module, target, check is { Enabled: true } c ? c.Origin() : default);
        _alive.Add(id, o);
        Changed?.Invoke(o, true);
        return id;
    }

    /// <summary>Drops an object at its release. Unregistering twice is a simulator bug.</summary>
    public void Unregister(long id)
    {
        if (!_alive.Remove(id, out var o))
        {
            throw new KernelBugException($"kmemleak: object {id} released twice or never registered");
        }
        Changed?.Invoke(o, false);
    }

    /// <summary>The machine's leak check (null when the machine was built without one).</summary>
    public LeakCheck? Check => check;

    /// <summary>
    /// The last user reference of live object <paramref name="id"/> goes now (the last GEM handle, a dma-buf's or
    /// sync_file's file release, an attachment's detach): under an exiting <c>current</c> with the check on, a leak
    /// of it is recorded and the returned scope covers what its release releases in turn (see <see cref="LeakCheck.Lost"/>).
    /// </summary>
    public LeakCheck.Scope LostAtExit(long id)
    {
        if (check is not { Exiting: true } c || !_alive.TryGetValue(id, out var o))
        {
            return default;
        }
        return c.Lost(KindOf(o.Type), o.Description, o.Origin);
    }

    private static string KindOf(string type) => type switch
    {
        "drm_gem_object" => "GEM object",
        "dma_buf" => "dma-buf",
        "dma_buf_attachment" => "attachment",
        _ => type,
    };

    /// <summary>Objects alive now, oldest first.</summary>
    public IReadOnlyList<LiveObject> Alive()
    {
        var list = new List<LiveObject>(_alive.Values);
        list.Sort((a, b) => a.Id.CompareTo(b.Id));
        return list;
    }

    /// <summary>How many objects of <paramref name="type"/> are alive (all types when null).</summary>
    public int Count(string? type = null)
    {
        if (type is null)
        {
            return _alive.Count;
        }
        int n = 0;
        foreach (var o in _alive.Values)
        {
            if (o.Type == type)
            {
                n++;
            }
        }
        return n;
    }
}
