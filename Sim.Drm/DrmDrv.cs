// Models drivers/gpu/drm/drm_drv.c (Linux 6.1): the DRM core's module state (char major 226 with its stub
// fops, the minor table) and drm_dev_register for the devices the machine has.
using Sim.Core;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.DmaBufs;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>A driver the machine can bind to a configured DRM device (<c>MachineOptions.DrmDevices[].Driver</c>).</summary>
/// <param name="Name">The driver name as the trace headers spell it (<c>vgem</c>, <c>virtio_gpu</c>, <c>pl111_drm</c>).</param>
/// <param name="Create">Builds the driver table for a new device (may keep per-device state in <c>dev.DevPrivate</c> via <paramref name="Probe"/>).</param>
/// <param name="Probe">Runs after the device is registered (the driver's probe-time work), or null.</param>
public sealed record DrmDriverRegistration(string Name, Func<DrmDriver> Create, Action<DrmDevice>? Probe = null);

/// <summary>
/// The DRM core of one machine (<c>drm_core_init</c>: <c>register_chrdev(DRM_MAJOR, "drm", &amp;drm_stub_fops)</c>;
/// <c>drm_minors_idr</c>) with the devices built from <see cref="MachineOptions.DrmDevices"/>.
/// </summary>
[Kernel("drm_core_init", "drivers/gpu/drm/drm_drv.c")]
public sealed class DrmCore
{
    private readonly Dictionary<int, DrmMinor> _minors = [];
    private readonly List<DrmDevice> _devices = [];

    /// <summary>Initialises the core and registers every configured device whose driver is known.</summary>
    public DrmCore(MachineOptions options, Vfs vfs, LiveObjects live, Warnings warnings, Shmem shmem, DmaFenceCore fenceCore, DmaBufList dbList, Sim.Core.Dma.DmaMapping dmaMapping,
        IEnumerable<DrmDriverRegistration> drivers, Sim.Core.Kernel.CurrentTask? current = null, UnmodelledCalls? unmodelled = null, Sim.Core.Base.DeviceCore? devices = null)
    {
        Current = current;
        Unmodelled = unmodelled ?? new UnmodelledCalls();
        Live = live;
        Warnings = warnings;
        Fops = new DrmFops(this);
        vfs.CharDevices.RegisterChrdev(DrmH.DRM_MAJOR, "drm", Fops);
        if (devices is not null)
        {
            DrmSysfs.Init(devices);
        }
        var table = new Dictionary<string, DrmDriverRegistration>(StringComparer.Ordinal);
        foreach (var d in drivers)
        {
            table[d.Name] = d;
        }
        foreach (var cfg in options.DrmDevices)
        {
            if (!table.TryGetValue(cfg.Driver, out var reg))
            {
                continue;
            }
            var dev = new DrmDevice(reg.Create(), cfg, options, live, warnings, shmem, fenceCore, dbList, dmaMapping) { UnmodelledCalls = Unmodelled, Devices = devices };
            DevRegister(dev, vfs);
            reg.Probe?.Invoke(dev);
            if (devices is not null)
            {
                DrmSysfs.Register(dev, devices);
            }
        }
    }

    /// <summary>The task making the current call (<c>current</c>), when the machine has one.</summary>
    public Sim.Core.Kernel.CurrentTask? Current { get; }
    /// <summary>Where calls into unmodelled paths of the DRM devices are counted.</summary>
    public UnmodelledCalls Unmodelled { get; }

    /// <summary>The devices, in registration order.</summary>
    public IReadOnlyList<DrmDevice> Devices => _devices;
    /// <summary>The file operations of every DRM node.</summary>
    public DrmFops Fops { get; }
    /// <summary>The machine's live-object accounting.</summary>
    public LiveObjects Live { get; }
    /// <summary>The machine's WARN log.</summary>
    public Warnings Warnings { get; }

    /// <summary><c>drm_dev_register</c>: creates the minors and their nodes (/dev/dri/cardN, renderD128+N).</summary>
    [Kernel("drm_dev_register", "drivers/gpu/drm/drm_drv.c")]
    public void DevRegister(DrmDevice dev, Vfs vfs)
    {
        dev.Primary = new DrmMinor(dev, dev.Config.CardMinor, DrmMinorType.Primary);
        _minors[dev.Primary.Index] = dev.Primary;
        vfs.Mknod(dev.Primary.Path, 0x1b0, DrmH.DRM_MAJOR, (uint)dev.Primary.Index);
        if (dev.Driver.HasFeature(DrmDriverFeature.DRIVER_RENDER))
        {
            int minor = dev.Config.RenderMinor ?? 128 + dev.Config.CardMinor;
            dev.Render = new DrmMinor(dev, minor, DrmMinorType.Render);
            _minors[minor] = dev.Render;
            vfs.Mknod(dev.Render.Path, 0x1b6, DrmH.DRM_MAJOR, (uint)minor);
        }
        _devices.Add(dev);
    }

    /// <summary><c>drm_minor_acquire</c>: the minor behind a char minor number, or null (-ENODEV).</summary>
    [Kernel("drm_minor_acquire", "drivers/gpu/drm/drm_drv.c")]
    public DrmMinor? MinorAcquire(uint minor) => _minors.GetValueOrDefault((int)minor);

    /// <summary>The device whose driver is <paramref name="driverName"/> (first of them), or null.</summary>
    public DrmDevice? FindByDriver(string driverName) => _devices.Find(d => d.Driver.Name == driverName);
}
