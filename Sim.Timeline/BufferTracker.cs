// A buffer's life across processes and devices: CREATE_DUMB (or an exporter's allocation) -> PRIME export ->
// import -> attach -> map_attachment -> umem map_pages -> unmap -> release, as flows through the calls.
using System.Globalization;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.DmaBufs;
using Sim.Drm;
using Sim.RdmaUmem;

namespace Sim.Timeline;

/// <summary>
/// Follows buffers through the live-object registrations of GEM objects and dma-bufs (kmemleak's view) and, at
/// the end of every call, through the attachments of the live dma-bufs (attach, map, umem map_pages, unmap,
/// detach). Each buffer is one flow through the calls that acted on it.
/// </summary>
internal sealed class BufferTracker(TimelineRecorder rec)
{
    private sealed class Buf
    {
        public required TimelineBuffer Info;
        public int Objects;
        public int LastSlice = -1;
    }

    private sealed class AttachState
    {
        public bool Mapped;
        public bool UmemMapped;
    }

    private readonly Dictionary<object, Buf> _owner = new(ReferenceEqualityComparer.Instance);
    private readonly List<(object Obj, bool Alive)> _pending = [];
    private readonly List<DmaBuf> _dmabufs = [];
    private readonly Dictionary<DmaBufAttachment, AttachState> _attach = new(ReferenceEqualityComparer.Instance);

    public void OnLive(LiveObject o, bool alive)
    {
        object? target = o.Target switch
        {
            DrmGemObject g => g,
            KernelFile f when f.PrivateData is DmaBuf d => d,
            _ => null,
        };
        if (target is not null)
        {
            _pending.Add((target, alive));
        }
    }

    public void EndCall(int call)
    {
        if (_pending.Count == 0 && _dmabufs.Count == 0)
        {
            return;
        }
        // Creations first resolve who they belong to (an import's attachment is set after the object registered).
        for (int k = 0; k < _pending.Count; k++)
        {
            var (obj, alive) = _pending[k];
            if (alive)
            {
                Created(obj, call);
            }
        }
        Attachments(call);
        for (int k = 0; k < _pending.Count; k++)
        {
            var (obj, alive) = _pending[k];
            if (!alive && _owner.Remove(obj, out var b))
            {
                Step(b, call, obj is DrmGemObject ? "GEM object freed" : "dma-buf released");
                if (obj is DmaBuf d)
                {
                    _dmabufs.Remove(d);
                    _seen.Remove(d);
                }
                if (--b.Objects == 0)
                {
                    b.Info.Released = rec.Tl.Slices[call].End;
                }
            }
        }
        _pending.Clear();
    }

    private void Created(object obj, int call)
    {
        if (_owner.ContainsKey(obj))
        {
            return;
        }
        switch (obj)
        {
            case DrmGemObject g when g.ImportAttach?.DmaBuf is { } src && _owner.TryGetValue(src, out var b):
                Own(b, g);
                Step(b, call, "import (" + g.Dev.Driver.Name + " GEM object)");
                break;
            case DrmGemObject g:
                Step(New(string.Create(CultureInfo.InvariantCulture, $"{g.Dev.Driver.Name} GEM object, {g.Size} B"), g, call), call, "create");
                break;
            case DmaBuf d when d.Priv is DrmGemObject g && _owner.TryGetValue(g, out var b):
                Own(b, d);
                _dmabufs.Add(d);
                Step(b, call, string.Create(CultureInfo.InvariantCulture, $"PRIME export (dma-buf ino {d.File.Inode.Ino})"));
                break;
            case DmaBuf d:
                _dmabufs.Add(d);
                Step(New(string.Create(CultureInfo.InvariantCulture, $"{d.ExpName} dma-buf ino {d.File.Inode.Ino}, {d.Size} B"), d, call), call, "export");
                break;
            default:
                break;
        }
    }

    private Buf New(string name, object obj, int call)
    {
        var tl = rec.Tl;
        var b = new Buf { Info = new TimelineBuffer { Id = tl.Buffers.Count + 1, Name = name, Created = tl.Slices[call].Start } };
        tl.Buffers.Add(b.Info);
        Own(b, obj);
        return b;
    }

    private void Own(Buf b, object obj)
    {
        _owner[obj] = b;
        b.Objects++;
    }

    private void Attachments(int call)
    {
        foreach (var d in _dmabufs)
        {
            if (!_owner.TryGetValue(d, out var b))
            {
                continue;
            }
            if (!_seen.TryGetValue(d, out var seen))
            {
                seen = [];
                _seen.Add(d, seen);
            }
            foreach (var a in d.Attachments)
            {
                if (!_attach.TryGetValue(a, out var st))
                {
                    st = new AttachState();
                    _attach.Add(a, st);
                    seen.Add(a);
                    Step(b, call, "attach " + a.Dev.Name + (a.ImporterPriv is IbUmemDmabuf ? " (umem)" : ""));
                }
                bool mapped = a.Sgt is not null;
                if (mapped != st.Mapped)
                {
                    st.Mapped = mapped;
                    Step(b, call, mapped ? "map_attachment " + a.Dev.Name : "unmap_attachment " + a.Dev.Name);
                }
                if (a.ImporterPriv is IbUmemDmabuf u && (u.Sgt is not null) != st.UmemMapped)
                {
                    st.UmemMapped = u.Sgt is not null;
                    Step(b, call, st.UmemMapped ? "umem map_pages" : "umem unmap_pages");
                }
            }
            if (seen.Count > d.Attachments.Count)
            {
                for (int k = seen.Count - 1; k >= 0; k--)
                {
                    var a = seen[k];
                    if (a.Freed || !ReferenceEquals(a.DmaBuf, d))
                    {
                        seen.RemoveAt(k);
                        _attach.Remove(a);
                        Step(b, call, "detach " + a.Dev.Name);
                    }
                }
            }
        }
    }

    private readonly Dictionary<DmaBuf, List<DmaBufAttachment>> _seen = new(ReferenceEqualityComparer.Instance);

    private void Step(Buf b, int call, string label)
    {
        var info = b.Info;
        var track = rec.Tl.Tracks[rec.Tl.Slices[call].Track];
        info.Holders.Add(track.ProcessName);
        if (info.Steps.Count > 0 && info.Steps[^1].Slice == call)
        {
            info.Steps[^1] = (call, info.Steps[^1].Label + ", " + label);
        }
        else
        {
            info.Steps.Add((call, label));
        }
        b.LastSlice = call;
    }

    public void Finish(long end)
    {
        _ = end;
        long id = 1_000_000;
        foreach (var b in rec.Tl.Buffers)
        {
            if (b.Steps.Count < 2)
            {
                continue;
            }
            var f = new TimelineFlow { Id = id++, Name = "buffer " + b.Id.ToString(CultureInfo.InvariantCulture) + ": " + b.Name, Category = "buffer" };
            foreach (var (slice, label) in b.Steps)
            {
                f.Slices.Add(slice);
                f.Labels.Add(label);
            }
            rec.Tl.Flows.Add(f);
        }
    }
}
