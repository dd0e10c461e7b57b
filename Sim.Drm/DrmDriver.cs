// Models struct drm_driver (include/drm/drm_drv.h, Linux 6.1): the driver's table of hooks and identity.
using Sim.DmaBufs;
using Sim.Core;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>A handler of a DRM ioctl (<c>drm_ioctl_t</c>): the kernel copy of the struct, the device and the file.</summary>
public delegate int DrmIoctlFunc(DrmDevice dev, Span<byte> data, DrmFile file);

/// <summary><c>struct drm_ioctl_desc</c>: one entry of an ioctl table.</summary>
[Kernel("struct drm_ioctl_desc", "include/drm/drm_ioctl.h")]
public sealed record DrmIoctlDesc(string Name, uint Cmd, DrmIoctlFlags Flags, DrmIoctlFunc? Func);

/// <summary><c>enum drm_ioctl_flags</c>.</summary>
[Flags]
public enum DrmIoctlFlags
{
    /// <summary>No restriction.</summary>
    None = 0,
    /// <summary>DRM_AUTH.</summary>
    DRM_AUTH = 1,
    /// <summary>DRM_MASTER.</summary>
    DRM_MASTER = 2,
    /// <summary>DRM_ROOT_ONLY.</summary>
    DRM_ROOT_ONLY = 4,
    /// <summary>DRM_UNLOCKED.</summary>
    DRM_UNLOCKED = 0x10,
    /// <summary>DRM_RENDER_ALLOW.</summary>
    DRM_RENDER_ALLOW = 0x20,
}

/// <summary><c>enum drm_driver_feature</c> (the ones the models look at).</summary>
[Flags]
public enum DrmDriverFeature
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>DRIVER_GEM.</summary>
    DRIVER_GEM = 1 << 0,
    /// <summary>DRIVER_MODESET.</summary>
    DRIVER_MODESET = 1 << 1,
    /// <summary>DRIVER_RENDER.</summary>
    DRIVER_RENDER = 1 << 3,
    /// <summary>DRIVER_ATOMIC.</summary>
    DRIVER_ATOMIC = 1 << 4,
    /// <summary>DRIVER_SYNCOBJ.</summary>
    DRIVER_SYNCOBJ = 1 << 5,
    /// <summary>DRIVER_SYNCOBJ_TIMELINE.</summary>
    DRIVER_SYNCOBJ_TIMELINE = 1 << 6,
}

/// <summary>
/// <c>struct drm_driver</c>: what a DRM driver plugs into the core. A driver is a value of this table (see
/// <c>VgemDrv.Driver</c>, <c>VirtgpuDrv.Create</c>): its identity (name, desc, date, version), features, the
/// per-file hooks, the dumb-buffer and PRIME hooks and its own ioctls (numbered from DRM_COMMAND_BASE). A null
/// hook is what the kernel does for a NULL member.
/// </summary>
[Kernel("struct drm_driver", "include/drm/drm_drv.h")]
public sealed class DrmDriver
{
    /// <summary><c>.name</c>.</summary>
    public required string Name { get; init; }
    /// <summary><c>.desc</c>.</summary>
    public required string Desc { get; init; }
    /// <summary><c>.date</c>.</summary>
    public required string Date { get; init; }
    /// <summary><c>.major</c>.</summary>
    public int Major { get; init; }
    /// <summary><c>.minor</c>.</summary>
    public int Minor { get; init; }
    /// <summary><c>.patchlevel</c>.</summary>
    public int Patchlevel { get; init; }
    /// <summary><c>.driver_features</c>.</summary>
    public DrmDriverFeature DriverFeatures { get; init; }
    /// <summary><c>.open</c>: a file was opened (driver_priv set up here); 0 or -errno.</summary>
    public Func<DrmDevice, DrmFile, int>? Open { get; init; }
    /// <summary><c>.postclose</c>: the file is going away (after its GEM handles are released).</summary>
    public Action<DrmDevice, DrmFile>? Postclose { get; init; }
    /// <summary><c>.gem_create_object</c>: allocates the driver's object type (null: the helper's own).</summary>
    public Func<DrmDevice, ulong, (DrmGemObject? Obj, int Err)>? GemCreateObject { get; init; }
    /// <summary><c>.dumb_create</c> (null: the device has no dumb buffers, -ENOSYS).</summary>
    public Func<DrmFile, DrmDevice, Span<drm_mode_create_dumb>, int>? DumbCreate { get; init; }
    /// <summary><c>.dumb_map_offset</c> (null: <c>drm_gem_dumb_map_offset</c>).</summary>
    public Func<DrmFile, DrmDevice, uint, (ulong Offset, int Err)>? DumbMapOffset { get; init; }
    /// <summary><c>.dumb_destroy</c> (null: <c>drm_gem_dumb_destroy</c>).</summary>
    public Func<DrmFile, DrmDevice, uint, int>? DumbDestroy { get; init; }
    /// <summary><c>.prime_handle_to_fd</c> (null: PRIME export not supported, -ENOSYS).</summary>
    public Func<DrmDevice, DrmFile, uint, uint, (int Fd, int Err)>? PrimeHandleToFd { get; init; }
    /// <summary><c>.prime_fd_to_handle</c> (null: PRIME import not supported, -ENOSYS).</summary>
    public Func<DrmDevice, DrmFile, int, (uint Handle, int Err)>? PrimeFdToHandle { get; init; }
    /// <summary><c>.gem_prime_import</c> (null: <c>drm_gem_prime_import</c>); the dma-buf in, the object or an errno out.</summary>
    public Func<DrmDevice, DmaBuf, (DrmGemObject? Obj, int Err)>? GemPrimeImport { get; init; }
    /// <summary><c>.gem_prime_import_sg_table</c>: wraps an attachment's table in an object.</summary>
    public Func<DrmDevice, Sim.DmaBufs.DmaBufAttachment, Sim.Core.Lib.SgTable, (DrmGemObject? Obj, int Err)>? GemPrimeImportSgTable { get; init; }
    /// <summary><c>.gem_prime_mmap</c>: maps an exported object through its dma-buf (null: <c>-ENOSYS</c>).</summary>
    public Func<DrmGemObject, Sim.Core.Mm.Vma, int>? GemPrimeMmap { get; init; }
    /// <summary><c>.ioctls</c>: the driver's ioctls, index = nr - DRM_COMMAND_BASE.</summary>
    public IReadOnlyList<DrmIoctlDesc> Ioctls { get; init; } = [];

    /// <summary><c>drm_core_check_feature</c>.</summary>
    public bool HasFeature(DrmDriverFeature f) => (DriverFeatures & f) == f;
}
