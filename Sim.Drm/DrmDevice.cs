// Models struct drm_device and struct drm_minor (include/drm/drm_device.h, include/drm/drm_file.h, Linux 6.1).
using Sim.Core;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.DmaBufs;

namespace Sim.Drm;

/// <summary><c>enum drm_minor_type</c>.</summary>
public enum DrmMinorType
{
    /// <summary>DRM_MINOR_PRIMARY (/dev/dri/cardN).</summary>
    Primary = 0,
    /// <summary>DRM_MINOR_CONTROL.</summary>
    Control = 1,
    /// <summary>DRM_MINOR_RENDER (/dev/dri/renderD128+N).</summary>
    Render = 2,
}

/// <summary><c>struct drm_minor</c>: one device node of a DRM device.</summary>
[Kernel("struct drm_minor", "include/drm/drm_file.h")]
public sealed class DrmMinor(DrmDevice dev, int index, DrmMinorType type)
{
    /// <summary><c>dev</c>.</summary>
    public DrmDevice Dev { get; } = dev;
    /// <summary><c>index</c>: the char minor.</summary>
    public int Index { get; } = index;
    /// <summary><c>type</c>.</summary>
    public DrmMinorType Type { get; } = type;
    /// <summary>The node's path.</summary>
    public string Path => Type == DrmMinorType.Render ? $"/dev/dri/renderD{Index}" : $"/dev/dri/card{Index}";
}

/// <summary>
/// <c>struct drm_device</c>: one DRM device with its driver, minors, flink name table
/// (<c>object_name_idr</c>) and fake-offset manager.
/// </summary>
[Kernel("struct drm_device", "include/drm/drm_device.h")]
public sealed class DrmDevice
{
    /// <summary>Creates a device (<c>drm_dev_alloc</c> + <c>drm_gem_init</c>); the minors come from <see cref="DrmCore"/>.</summary>
    public DrmDevice(DrmDriver driver, DrmDeviceConfig config, MachineOptions options, LiveObjects live, Warnings warnings, Shmem shmem, DmaFenceCore fenceCore,
        DmaBufList dbList, Sim.Core.Dma.DmaMapping dmaMapping)
    {
        Driver = driver;
        Config = config;
        Mutations = options.Mutations;
        Live = live;
        Warnings = warnings;
        Shmem = shmem;
        FenceCore = fenceCore;
        DbList = dbList;
        DmaMapping = dmaMapping;
        DmaDev = new Sim.Core.Dma.Device(driver.Name);
        Is32Bit = options.Is32Bit;
        DriverDateDeprecated = options.Kernel >= Sim.Core.Boot.KernelVersion.V6_12;
        // drm_gem_init: drm_vma_offset_manager_init(mgr, DRM_FILE_PAGE_OFFSET_START, DRM_FILE_PAGE_OFFSET_SIZE).
        ulong start = (config.MmapOffsetStart ?? options.DefaultMmapOffsetStart) >> 12;
        ulong size = Is32Bit ? (0xFFFFFFFUL >> 12) * 16 : (0xFFFFFFFFUL >> 12) * 256;
        VmaOffsetManager = new DrmVmaOffsetManager(start, size);
        foreach (var (s, p) in config.MmapOffsetsInUse)
        {
            // Objects made by the kernel before the trace (fbdev): their ranges stay taken.
            VmaOffsetManager.Reserve(new DrmVmaOffsetNode(), s >> 12, p);
        }
    }

    /// <summary><c>driver</c>.</summary>
    public DrmDriver Driver { get; }

    /// <summary>
    /// Linux 6.12's drm_version answers the date "0" whatever the driver's (<c>/* Driver date is deprecated.
    /// Userspace expects a non-empty string. */</c>); 6.1 copies <c>driver-&gt;date</c>.
    /// </summary>
    public bool DriverDateDeprecated { get; }
    /// <summary>The configuration it was built from.</summary>
    public DrmDeviceConfig Config { get; }
    /// <summary>The rule breaks the machine was composed with (none outside tests of the testers).</summary>
    public Mutations Mutations { get; }
    /// <summary><c>primary</c>.</summary>
    public DrmMinor Primary { get; internal set; } = null!;
    /// <summary><c>render</c> (null when the driver has no DRIVER_RENDER).</summary>
    public DrmMinor? Render { get; internal set; }
    /// <summary><c>object_name_idr</c>: flink names (from 1).</summary>
    public Idr<DrmGemObject> ObjectNameIdr { get; } = new();
    /// <summary><c>vma_offset_manager</c>.</summary>
    public DrmVmaOffsetManager VmaOffsetManager { get; }
    /// <summary><c>dev_private</c>: the driver's per-device state.</summary>
    public object? DevPrivate { get; set; }
    /// <summary>The machine's live-object accounting.</summary>
    public LiveObjects Live { get; }
    /// <summary>The machine's WARN log.</summary>
    public Warnings Warnings { get; }
    /// <summary>Where shmem pages come from (<c>shmem_file_setup</c>).</summary>
    public Shmem Shmem { get; }
    /// <summary>The machine's fence core (reservation objects of the device's GEM objects).</summary>
    public DmaFenceCore FenceCore { get; }
    /// <summary>The machine's dma-buf list (<c>dma_buf_export</c>).</summary>
    public DmaBufList DbList { get; }
    /// <summary>The machine's DMA mapping API.</summary>
    public Sim.Core.Dma.DmaMapping DmaMapping { get; }
    /// <summary><c>dev</c>: the parent device (DMA mappings of imports, <c>dma_max_mapping_size</c>); set by the driver's probe.</summary>
    public Sim.Core.Dma.Device DmaDev { get; set; }
    /// <summary>True on a 32-bit kernel (uAPI struct layouts).</summary>
    public bool Is32Bit { get; }
    /// <summary><c>open_count</c>.</summary>
    public int OpenCount { get; internal set; }

    /// <summary>The machine's device model (sysfs), when it has one; drivers' probes add their devices to it.</summary>
    public Sim.Core.Base.DeviceCore? Devices { get; set; }

    /// <summary>The sysfs device of <c>dev-&gt;dev</c> (the minors' parent), made by the driver's probe or null.</summary>
    public Sim.Core.Base.SysDevice? SysParent { get; set; }

    /// <summary><c>mode_config</c> (set by a KMS driver's probe; zeroed for vgem).</summary>
    public DrmModeConfig ModeConfig { get; set; } = new();

    /// <summary><c>master</c>: the current master (<c>dev-&gt;master</c>), or null.</summary>
    public DrmMaster? Master { get; internal set; }

    /// <summary><c>if_version</c>: the highest interface version a SET_VERSION asked for (DRM_IF_VERSION).</summary>
    public int IfVersion { get; internal set; }

    /// <summary>
    /// <c>unique</c>: <c>dev_name(parent)</c> from <c>drm_dev_init</c> ("vgem", "0000:00:03.0", "10020000.clcd");
    /// null means the parent device's name.
    /// </summary>
    public string? UniqueOverride { get; set; }

    /// <summary><c>unique</c>.</summary>
    public string Unique => UniqueOverride ?? DmaDev.Name;

    /// <summary>Where calls into unmodelled kernel paths of this device are counted.</summary>
    public Sim.Core.Debug.UnmodelledCalls UnmodelledCalls { get; set; } = new();

    /// <summary>Records a call that reached an unmodelled path (<paramref name="what"/>) and returns <c>-EINVAL</c>.</summary>
    public int Unmodelled(string what)
    {
        UnmodelledCalls.Record(what);
        return -(int)Sim.Core.Uapi.Errno.EINVAL;
    }
}
