// Models drivers/gpu/drm/drm_auth.c (Linux 6.1): struct drm_master, the magic-cookie authentication
// (GET_MAGIC / AUTH_MAGIC) and the master rules (drm_master_open at open of a primary node, SET_MASTER,
// DROP_MASTER, drm_master_release at close). Leases are not modelled: a master is its own lease owner.
using Sim.Core;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>A slot of a master's magic map: the file that asked for the magic, or null once authenticated (<c>idr_replace(.., NULL, ..)</c>).</summary>
public sealed class DrmMagicSlot
{
    /// <summary>The waiting file, or null.</summary>
    public DrmFile? File { get; set; }
}

/// <summary>
/// <c>struct drm_master</c>: a master of a device, with its magic map (<c>idr_init_base(&amp;magic_map, 1)</c>) and
/// the unique name <c>drm_set_busid</c> gave it. Reference-counted: the master file and every file opened while it
/// was the device's master hold one, and so does <c>dev-&gt;master</c>.
/// </summary>
[Kernel("struct drm_master", "include/drm/drm_auth.h")]
public sealed class DrmMaster
{
    private int _refcount = 1;

    internal DrmMaster(DrmDevice dev)
    {
        Dev = dev;
    }

    /// <summary><c>dev</c>.</summary>
    public DrmDevice Dev { get; }
    /// <summary><c>magic_map</c>: magic (from 1) to the file waiting for AUTH_MAGIC.</summary>
    public Idr<DrmMagicSlot> MagicMap { get; } = new();
    /// <summary><c>unique</c> (null until SET_VERSION 1.1+).</summary>
    public string? Unique { get; set; }
    /// <summary><c>refcount</c>.</summary>
    public int Refcount => _refcount;

    /// <summary><c>drm_master_get</c>.</summary>
    [Kernel("drm_master_get", "drivers/gpu/drm/drm_auth.c")]
    public DrmMaster Get()
    {
        _refcount++;
        return this;
    }

    /// <summary><c>drm_master_put</c>: the last reference destroys the master (<c>drm_master_destroy</c>).</summary>
    [Kernel("drm_master_put", "drivers/gpu/drm/drm_auth.c")]
    public void Put() => _refcount--;
}

/// <summary>The functions of drm_auth.c.</summary>
[Kernel("drm_auth", "drivers/gpu/drm/drm_auth.c")]
public static class DrmAuth
{
    private static readonly Sim.Core.Debug.FaultSite s_masterKzalloc = Sim.Core.Debug.FaultSite.Register("drm_master_create:kzalloc");

    /// <summary>
    /// <c>drm_is_current_master</c>: the file is a master (<c>is_master</c>) and its master is the device's current
    /// one (<c>drm_lease_owner(fpriv-&gt;master) == dev-&gt;master</c>; no leases here).
    /// </summary>
    [Kernel("drm_is_current_master", "drivers/gpu/drm/drm_auth.c")]
    public static bool IsCurrentMaster(DrmFile fpriv) => fpriv.IsMaster && fpriv.Master is not null && ReferenceEquals(fpriv.Master, fpriv.Dev.Master);

    /// <summary>
    /// <c>drm_getmagic</c>: the file's magic, allocated on first use as the lowest free id from 1 in its master's
    /// magic map; the same magic on later calls. Reached only by primary clients (the ioctl is not RENDER_ALLOW).
    /// </summary>
    [Kernel("drm_getmagic", "drivers/gpu/drm/drm_auth.c")]
    public static int GetMagic(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var auth = ref System.Runtime.InteropServices.MemoryMarshal.AsRef<drm_auth>(data);
        int ret = 0;
        if (file.Magic == 0)
        {
            ret = file.Master!.MagicMap.Alloc(new DrmMagicSlot { File = file }, 1);
            if (ret >= 0)
            {
                file.Magic = (uint)ret;
            }
        }
        auth.magic = file.Magic;
        return ret < 0 ? ret : 0;
    }

    /// <summary>
    /// <c>drm_authmagic</c> (DRM_MASTER): the file waiting under that magic in the caller's master's map becomes
    /// authenticated and the slot is emptied (the magic stays taken until that file closes); an unknown or
    /// already used magic is <c>-EINVAL</c>.
    /// </summary>
    [Kernel("drm_authmagic", "drivers/gpu/drm/drm_auth.c")]
    public static int AuthMagic(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var auth = ref System.Runtime.InteropServices.MemoryMarshal.AsRef<drm_auth>(data);
        var slot = auth.magic > int.MaxValue ? null : file.Master!.MagicMap.Find((int)auth.magic);
        var waiting = slot?.File;
        if (waiting is not null)
        {
            waiting.Authenticated = true;
            slot!.File = null;
        }
        return waiting is not null ? 0 : -(int)Errno.EINVAL;
    }

    /// <summary><c>drm_master_create</c>: a new master with one reference, or null (-ENOMEM).</summary>
    [Kernel("drm_master_create", "drivers/gpu/drm/drm_auth.c")]
    public static DrmMaster? MasterCreate(DrmDevice dev) => s_masterKzalloc.ShouldFail() ? null : new DrmMaster(dev);

    // drm_set_master: dev->master takes a reference to the file's master; was_master is set.
    [Kernel("drm_set_master", "drivers/gpu/drm/drm_auth.c")]
    private static void SetMaster(DrmDevice dev, DrmFile fpriv)
    {
        dev.Master = fpriv.Master!.Get();
        fpriv.WasMaster = true;
    }

    // drm_new_set_master: a fresh master for the file, which becomes master and authenticated.
    [Kernel("drm_new_set_master", "drivers/gpu/drm/drm_auth.c")]
    private static int NewSetMaster(DrmDevice dev, DrmFile fpriv)
    {
        dev.Warnings.On(fpriv.IsMaster, "fpriv->is_master");
        var old = fpriv.Master;
        var created = MasterCreate(dev);
        if (created is null)
        {
            return -(int)Errno.ENOMEM;
        }
        fpriv.Master = created;
        fpriv.IsMaster = true;
        fpriv.Authenticated = true;
        SetMaster(dev, fpriv);
        old?.Put();
        return 0;
    }

    // drm_master_check_perm: the file's opener that was master once may come back; otherwise CAP_SYS_ADMIN.
    [Kernel("drm_master_check_perm", "drivers/gpu/drm/drm_auth.c")]
    private static int MasterCheckPerm(DrmFile file)
    {
        if (file.Current is { } cur && cur.Pid == file.Pid && file.WasMaster)
        {
            return 0;
        }
        return file.Capable() ? 0 : -(int)Errno.EACCES;
    }

    /// <summary>
    /// <c>drm_setmaster_ioctl</c>: <c>-EACCES</c> unless the caller opened the file and was master through it, or
    /// is CAP_SYS_ADMIN; 0 when the file already is the current master; <c>-EBUSY</c> while another master is set;
    /// otherwise the file becomes master again (a new master object when it was not one).
    /// </summary>
    [Kernel("drm_setmaster_ioctl", "drivers/gpu/drm/drm_auth.c")]
    public static int SetMasterIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        int ret = MasterCheckPerm(file);
        if (ret != 0)
        {
            return ret;
        }
        if (IsCurrentMaster(file))
        {
            return 0;
        }
        if (dev.Master is not null)
        {
            return -(int)Errno.EBUSY;
        }
        if (file.Master is null)
        {
            return -(int)Errno.EINVAL;
        }
        if (!file.IsMaster)
        {
            return NewSetMaster(dev, file);
        }
        SetMaster(dev, file);
        return 0;
    }

    // drm_drop_master: dev->master's reference goes.
    [Kernel("drm_drop_master", "drivers/gpu/drm/drm_auth.c")]
    private static void DropMaster(DrmDevice dev)
    {
        dev.Master?.Put();
        dev.Master = null;
    }

    /// <summary>
    /// <c>drm_dropmaster_ioctl</c>: the permission check of SET_MASTER, then <c>-EINVAL</c> unless the file is the
    /// current master; the device has no master afterwards.
    /// </summary>
    [Kernel("drm_dropmaster_ioctl", "drivers/gpu/drm/drm_auth.c")]
    public static int DropMasterIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        int ret = MasterCheckPerm(file);
        if (ret != 0)
        {
            return ret;
        }
        if (!IsCurrentMaster(file))
        {
            return -(int)Errno.EINVAL;
        }
        if (dev.Master is null)
        {
            return -(int)Errno.EINVAL;
        }
        DropMaster(dev);
        return 0;
    }

    /// <summary>
    /// <c>drm_master_open</c> (primary clients only): with no current master the file becomes one (and is
    /// authenticated); otherwise it takes a reference to the current master.
    /// </summary>
    [Kernel("drm_master_open", "drivers/gpu/drm/drm_auth.c")]
    public static int MasterOpen(DrmFile file)
    {
        var dev = file.Dev;
        if (dev.Master is null)
        {
            return NewSetMaster(dev, file);
        }
        file.Master = dev.Master.Get();
        return 0;
    }

    /// <summary>
    /// <c>drm_master_release</c>: the file's magic leaves its master's map; a current master that is the device's
    /// master drops it; the file's master reference goes.
    /// </summary>
    [Kernel("drm_master_release", "drivers/gpu/drm/drm_auth.c")]
    public static void MasterRelease(DrmFile file)
    {
        var dev = file.Dev;
        var master = file.Master;
        if (file.Magic != 0)
        {
            master?.MagicMap.Remove((int)file.Magic);
        }
        if (IsCurrentMaster(file) && ReferenceEquals(dev.Master, master))
        {
            DropMaster(dev);
        }
        if (master is not null)
        {
            master.Put();
            file.Master = null;
        }
    }
}
