// Models struct drm_gem_object and struct drm_gem_object_funcs (include/drm/drm_gem.h, Linux 6.1).
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.DmaBufs;

namespace Sim.Drm;

/// <summary>
/// <c>struct drm_gem_object_funcs</c>: the object's vtable. A null member is what the kernel does for a NULL
/// member (no open/close hook, no mmap hook: <see cref="VmOps"/> is used, ...).
/// </summary>
[Kernel("struct drm_gem_object_funcs", "include/drm/drm_gem.h")]
public sealed class DrmGemObjectFuncs
{
    /// <summary><c>.free</c>: the last reference is gone (required).</summary>
    public Action<DrmGemObject>? Free { get; init; }
    /// <summary><c>.open</c>: a handle was created in a file.</summary>
    public Func<DrmGemObject, DrmFile, int>? Open { get; init; }
    /// <summary><c>.close</c>: a handle was deleted from a file.</summary>
    public Action<DrmGemObject, DrmFile>? Close { get; init; }
    /// <summary><c>.mmap</c>: sets up a CPU mapping (vma flags, pages).</summary>
    public Func<DrmGemObject, Vma, int>? Mmap { get; init; }
    /// <summary><c>.vm_ops</c>.</summary>
    public IVmOperations? VmOps { get; init; }
    /// <summary><c>.export</c> (null = <c>drm_gem_prime_export</c>); returns the dma-buf or an errno.</summary>
    public Func<DrmGemObject, int, (DmaBuf? DmaBuf, int Err)>? Export { get; init; }
    /// <summary><c>.pin</c>.</summary>
    public Func<DrmGemObject, int>? Pin { get; init; }
    /// <summary><c>.unpin</c>.</summary>
    public Action<DrmGemObject>? Unpin { get; init; }
    /// <summary><c>.get_sg_table</c>: the object's pages as a table, or null with an errno.</summary>
    public Func<DrmGemObject, (SgTable? Table, int Err)>? GetSgTable { get; init; }
}

/// <summary>
/// <c>struct drm_gem_object</c>: a GEM buffer object. Its lifetime is <see cref="Refcount"/> (the last put calls
/// <c>funcs-&gt;free</c>); <see cref="HandleCount"/> counts the handles of all files, and the first handle takes
/// one reference that the last handle drops.
/// </summary>
[Kernel("struct drm_gem_object", "include/drm/drm_gem.h")]
public class DrmGemObject
{
    private Kref _refcount;
    private long _liveId;

    /// <summary>A new object, not yet initialised (<c>kzalloc</c>); call <see cref="DrmGem.ObjectInit"/> or <see cref="DrmGem.PrivateObjectInit"/>.</summary>
    public DrmGemObject()
    {
        VmaNode = new DrmVmaOffsetNode { Owner = this };
    }

    /// <summary><c>dev</c>.</summary>
    public DrmDevice Dev { get; internal set; } = null!;
    /// <summary><c>size</c> in bytes (page aligned).</summary>
    public ulong Size { get; internal set; }
    /// <summary><c>name</c>: the global flink name, 0 = none.</summary>
    public int Name { get; internal set; }
    /// <summary><c>handle_count</c>.</summary>
    public int HandleCount { get; internal set; }
    /// <summary><c>vma_node</c>: the fake mmap offset.</summary>
    public DrmVmaOffsetNode VmaNode { get; }
    /// <summary><c>funcs</c>.</summary>
    public DrmGemObjectFuncs Funcs { get; set; } = null!;
    /// <summary><c>dma_buf</c>: the dma-buf exported from this object while any handle exists (a counted reference).</summary>
    public DmaBuf? DmaBuf { get; set; }
    /// <summary><c>import_attach</c>: the attachment of an imported object, or null.</summary>
    public DmaBufAttachment? ImportAttach { get; set; }
    /// <summary>
    /// <c>resv</c>: the reservation object in use (<see cref="EmbeddedResv"/>, or the imported dma-buf's when the
    /// driver set it before <see cref="DrmGem.PrivateObjectInit"/>).
    /// </summary>
    public DmaResv Resv { get; set; } = null!;
    /// <summary><c>_resv</c>: the reservation object embedded in the GEM object (initialised at init, finished at release).</summary>
    public DmaResv EmbeddedResv { get; private set; } = null!;
    /// <summary><c>filp</c>: the shmem backing file of <see cref="DrmGem.ObjectInit"/> (null for private objects).</summary>
    public ShmemFile? Filp { get; internal set; }
    /// <summary><c>kref_read(&amp;obj-&gt;refcount)</c>.</summary>
    public int Refcount => _refcount.Read;
    /// <summary>True once freed.</summary>
    public bool Freed { get; private set; }

    internal void InitCommon(DrmDevice dev, ulong size, LiveObjects live)
    {
        Dev = dev;
        Size = size;
        _refcount.Init();
        HandleCount = 0;
        // dma_resv_init(&obj->_resv); if (!obj->resv) obj->resv = &obj->_resv;
        EmbeddedResv = new DmaResv(dev.FenceCore);
        Resv ??= EmbeddedResv;
        _liveId = live.Register("drm_gem_object", $"{dev.Driver.Name} gem object of {size} bytes", () => $"refcount {_refcount.Read}, handles {HandleCount}", target: this);
    }

    // The object's live-object id (0 once freed).
    internal long LiveId => _liveId;

    internal void Unregister()
    {
        if (_liveId != 0)
        {
            Dev.Live.Unregister(_liveId);
            _liveId = 0;
        }
    }

    /// <summary><c>drm_gem_object_get</c>.</summary>
    [Kernel("drm_gem_object_get", "include/drm/drm_gem.h")]
    public DrmGemObject Get()
    {
        _refcount.Get();
        return this;
    }

    /// <summary><c>kref_get_unless_zero(&amp;obj-&gt;refcount)</c>.</summary>
    public bool GetUnlessZero() => _refcount.GetUnlessZero();

    /// <summary><c>drm_gem_object_put</c>: the last reference calls <c>drm_gem_object_free</c> (<c>funcs-&gt;free</c>).</summary>
    [Kernel("drm_gem_object_put", "include/drm/drm_gem.h")]
    public void Put() => _refcount.Put(ObjectFree);

    [Kernel("drm_gem_object_free", "drivers/gpu/drm/drm_gem.c")]
    private void ObjectFree()
    {
        Freed = true;
        if (Dev.Warnings.On(Funcs.Free is null, "drm_gem_object_free: no funcs->free"))
        {
            return;
        }
        Funcs.Free!(this);
    }
}
