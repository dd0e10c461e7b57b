// Models drivers/gpu/drm/drm_file.c (Linux 6.1): struct drm_file and the file operations of DRM nodes
// (drm_open, drm_release, drm_poll, drm_read; DEFINE_DRM_GEM_FOPS: mmap = drm_gem_mmap, ioctl = drm_ioctl).
using System.Text;
using Sim.Core;
using Sim.Core.Fs;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.Drm;

/// <summary>A slot of a file's handle table: null while the handle is reserved but not yet published.</summary>
public sealed class DrmHandleSlot
{
    /// <summary>The object, or null (the kernel's NULL placeholder of <c>idr_alloc</c>).</summary>
    public DrmGemObject? Obj { get; set; }
}

/// <summary>
/// <c>struct drm_file</c>: one open() of a DRM node, with its GEM handle table (<c>object_idr</c>, from 1), PRIME
/// state and the driver's private data.
/// </summary>
[Kernel("struct drm_file", "include/drm/drm_file.h")]
public sealed class DrmFile
{
    private readonly long _liveId;

    internal DrmFile(DrmMinor minor, bool authenticated)
    {
        Minor = minor;
        Authenticated = authenticated;
        _liveId = minor.Dev.Live.Register("drm_file", minor.Path, () => $"{ObjectIdr.Count} handles");
    }

    /// <summary><c>minor</c>.</summary>
    public DrmMinor Minor { get; }
    /// <summary>The device (<c>minor-&gt;dev</c>).</summary>
    public DrmDevice Dev => Minor.Dev;
    /// <summary><c>authenticated</c> (root at open: <c>capable(CAP_SYS_ADMIN)</c>).</summary>
    public bool Authenticated { get; set; }
    /// <summary><c>object_idr</c>: handles from 1, lowest free.</summary>
    public Idr<DrmHandleSlot> ObjectIdr { get; } = new();
    /// <summary><c>prime</c>: the per-file PRIME cache.</summary>
    public DrmPrimeFilePrivate Prime { get; } = new();
    /// <summary><c>driver_priv</c>.</summary>
    public object? DriverPriv { get; set; }
    /// <summary>The user argument of the ioctl being executed (the handler's <c>copy_to_user</c> target), or null.</summary>
    public UserArg? UserArg { get; internal set; }
    /// <summary>The process making the ioctl being executed (the kernel's <c>current</c>: PRIME installs and looks up its fds), or null.</summary>
    public Sim.Core.Kernel.Process? Current { get; internal set; }
    /// <summary><c>filp</c>.</summary>
    public KernelFile? Filp { get; internal set; }

    /// <summary><c>pid</c>: the pid of the process that opened the file (<c>get_pid(task_pid(current))</c>).</summary>
    public int Pid { get; internal set; }
    /// <summary><c>magic</c>: the authentication magic GET_MAGIC handed out (0: none yet).</summary>
    public uint Magic { get; internal set; }
    /// <summary><c>is_master</c>: the file owns its master object (it created it).</summary>
    public bool IsMaster { get; internal set; }
    /// <summary><c>was_master</c>: the file was the device's master at some point.</summary>
    public bool WasMaster { get; internal set; }
    /// <summary><c>master</c>: the master this file belongs to (null for render clients).</summary>
    public DrmMaster? Master { get; internal set; }
    /// <summary><c>stereo_allowed</c> (DRM_CLIENT_CAP_STEREO_3D).</summary>
    public bool StereoAllowed { get; internal set; }
    /// <summary><c>universal_planes</c> (DRM_CLIENT_CAP_UNIVERSAL_PLANES, or set by ATOMIC).</summary>
    public bool UniversalPlanes { get; internal set; }
    /// <summary><c>atomic</c> (DRM_CLIENT_CAP_ATOMIC: 0, 1 or 2).</summary>
    public ulong Atomic { get; internal set; }
    /// <summary><c>aspect_ratio_allowed</c>.</summary>
    public bool AspectRatioAllowed { get; internal set; }
    /// <summary><c>writeback_connectors</c>.</summary>
    public bool WritebackConnectors { get; internal set; }

    /// <summary>Answers <c>capable(CAP_SYS_ADMIN)</c> for the task making the current call (set at open).</summary>
    internal Func<DrmFile, bool> CapSysAdmin { get; set; } = _ => true;

    /// <summary><c>capable(CAP_SYS_ADMIN)</c> of the task making the current ioctl.</summary>
    [Kernel("capable", "kernel/capability.c")]
    public bool Capable() => CapSysAdmin(this);

    /// <summary><c>drm_is_render_client</c>.</summary>
    public bool IsRenderClient => Minor.Type == DrmMinorType.Render;

    /// <summary><c>drm_is_primary_client</c>.</summary>
    public bool IsPrimaryClient => Minor.Type == DrmMinorType.Primary;

    private static readonly Sim.Core.Debug.FaultSite s_kzalloc = Sim.Core.Debug.FaultSite.Register("drm_file_alloc:kzalloc");

    /// <summary>
    /// <c>drm_file_alloc</c>: a new file of <paramref name="minor"/> (GEM handle table, PRIME cache, then the
    /// driver's <c>open</c>); the file or the driver's error.
    /// </summary>
    [Kernel("drm_file_alloc", "drivers/gpu/drm/drm_file.c")]
    public static (DrmFile? File, int Err) Alloc(DrmMinor minor, bool root, int pid = 0)
    {
        var dev = minor.Dev;
        if (s_kzalloc.ShouldFail())
        {
            return (null, -(int)Errno.ENOMEM);
        }
        var file = new DrmFile(minor, root) { Pid = pid };
        if (dev.Driver.Open is not null)
        {
            int ret = dev.Driver.Open(dev, file);
            if (ret < 0)
            {
                file.Unregister();
                return (null, ret);
            }
        }
        return (file, 0);
    }

    /// <summary>
    /// <c>drm_file_free</c>: GEM handles released (<c>drm_gem_release</c>), the driver's <c>postclose</c>, then the
    /// PRIME cache (<c>drm_prime_destroy_file_private</c>).
    /// </summary>
    [Kernel("drm_file_free", "drivers/gpu/drm/drm_file.c")]
    public void Free()
    {
        var dev = Dev;
        if (dev.Driver.HasFeature(DrmDriverFeature.DRIVER_GEM))
        {
            DrmGem.Release(dev, this);
        }
        if (IsPrimaryClient)
        {
            DrmAuth.MasterRelease(this);
        }
        dev.Driver.Postclose?.Invoke(dev, this);
        Prime.Destroy(dev.Warnings);
        Unregister();
    }

    private void Unregister() => Minor.Dev.Live.Unregister(_liveId);
}

/// <summary>
/// The file operations of a DRM node: <c>drm_stub_fops</c> resolving the minor at open, then the driver's
/// <c>DEFINE_DRM_GEM_FOPS</c> (open = drm_open, release = drm_release, unlocked_ioctl = drm_ioctl,
/// mmap = drm_gem_mmap, poll = drm_poll, read = drm_read, llseek = noop_llseek).
/// </summary>
[Kernel("drm_stub_fops", "drivers/gpu/drm/drm_drv.c")]
public sealed class DrmFops(DrmCore core) : IFileOperations
{
    /// <summary>The core (minor lookup).</summary>
    public DrmCore Core { get; } = core;

    /// <summary>
    /// True when the simulated programs run as root (<c>capable(CAP_SYS_ADMIN)</c>: every DRM file opened is
    /// authenticated, SET_MASTER and ROOT_ONLY ioctls are allowed); a process with a non-zero
    /// <see cref="Sim.Core.Kernel.Process.Euid"/> is never root.
    /// </summary>
    public bool Root { get; set; } = true;

    /// <summary><c>capable(CAP_SYS_ADMIN)</c> for <paramref name="task"/> (null: the kernel itself).</summary>
    [Kernel("capable", "kernel/capability.c")]
    public bool Capable(Sim.Core.Kernel.Process? task) => Root && (task?.Euid ?? 0) == 0;

    /// <summary><c>drm_stub_open</c> + <c>drm_open</c> + <c>drm_open_helper</c>.</summary>
    [Kernel("drm_open_helper", "drivers/gpu/drm/drm_file.c")]
    public int Open(Inode inode, KernelFile file)
    {
        var minor = Core.MinorAcquire(inode.Minor);
        if (minor is null)
        {
            return -(int)Errno.ENODEV;
        }
        if ((file.Flags & OpenFlags.O_EXCL) != 0)
        {
            return -(int)Errno.EBUSY;
        }
        var opener = Core.Current?.Process;
        var (priv, err) = DrmFile.Alloc(minor, Capable(opener), Core.Current?.Pid ?? 0);
        if (priv is null)
        {
            return err;
        }
        priv.CapSysAdmin = f => Capable(f.Current);
        if (priv.IsPrimaryClient)
        {
            int ret = DrmAuth.MasterOpen(priv);
            if (ret != 0)
            {
                priv.Free();
                return ret;
            }
        }
        file.PrivateData = priv;
        // 6.1: filp->f_mode |= FMODE_UNSIGNED_OFFSET (6.12 reads FOP_UNSIGNED_OFFSET from the fops instead, which
        // DEFINE_DRM_GEM_FOPS and DEFINE_DRM_GEM_DMA_FOPS set for every modelled driver): file_mmap_ok then allows
        // fake offsets up to the end of the 64-bit (32-bit on ARM) offset space.
        file.Mode |= KernelFile.FMODE_UNSIGNED_OFFSET;
        priv.Filp = file;
        minor.Dev.OpenCount++;
        return 0;
    }

    /// <summary><c>drm_release</c>: <c>drm_close_helper</c> -> <c>drm_file_free</c>.</summary>
    [Kernel("drm_release", "drivers/gpu/drm/drm_file.c")]
    public void Release(Inode inode, KernelFile file)
    {
        if (file.PrivateData is DrmFile priv)
        {
            priv.Dev.OpenCount--;
            priv.Free();
            file.PrivateData = null;
        }
    }

    /// <summary><c>drm_ioctl</c>.</summary>
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg) => DrmIoctl.Ioctl(file, cmd, arg);

    /// <summary><c>drm_ioctl</c> made by <paramref name="current"/>.</summary>
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Sim.Core.Kernel.Process current) => DrmIoctl.Ioctl(file, cmd, arg, current);

    /// <summary><c>drm_gem_mmap</c>.</summary>
    public int Mmap(KernelFile file, Vma vma) => DrmGem.Mmap(file, vma);

    /// <summary><c>noop_llseek</c>: returns the current position.</summary>
    [Kernel("noop_llseek", "fs/read_write.c")]
    public long Llseek(KernelFile file, long offset, int whence) => file.Pos;

    /// <summary><c>drm_poll</c>: readable only when an event is queued (never here).</summary>
    [Kernel("drm_poll", "drivers/gpu/drm/drm_file.c")]
    public uint Poll(KernelFile file) => 0;

    /// <summary><c>drm_read</c> with no event queued: <c>-EAGAIN</c> for O_NONBLOCK (a blocking read would wait forever).</summary>
    [Kernel("drm_read", "drivers/gpu/drm/drm_file.c")]
    public long Read(KernelFile file, Span<byte> buffer) => -(long)Errno.EAGAIN;

    /// <summary>No <c>.write</c>: <c>-EINVAL</c>.</summary>
    public long Write(KernelFile file, ReadOnlySpan<byte> buffer) => -(long)Errno.EINVAL;

    /// <summary>No <c>.show_fdinfo</c> in 6.1's DRM core.</summary>
    public void ShowFdinfo(KernelFile file, StringBuilder m)
    {
    }
}
