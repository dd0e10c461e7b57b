// Models drivers/gpu/drm/pl111/pl111_drv.c (Linux 6.1): the ARM PrimeCell PL111 CLCD KMS driver as far as user
// space's buffers reach it: a GEM driver without render node whose dumb buffers are GEM DMA objects
// (drm_gem_dma_dumb_create -> dma_alloc_wc -> CMA on the vexpress board), PRIME through the DRM core. The display
// pipeline (CRTC, planes, the panel/bridge) is not modelled; fbdev emulation is off as in the traces.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;

namespace Sim.Drm.Drivers.Pl111;

/// <summary>
/// <c>struct pl111_drm_dev_private</c>: the per-device state; here the parent device with its DMA ops
/// (<c>drm-&gt;dev</c>, the AMBA device <c>10020000.clcd</c>) and whether a reserved memory region is used.
/// </summary>
[Kernel("struct pl111_drm_dev_private", "drivers/gpu/drm/pl111/pl111_drm.h")]
public sealed class Pl111DrmDevPrivate(DrmDmaParent dmaParent) : IDrmDmaDevice
{
    /// <inheritdoc/>
    public DrmDmaParent DmaParent { get; } = dmaParent;

    /// <summary><c>use_device_memory</c>: false (the CoreTile CLCD allocates from the default CMA area).</summary>
    public bool UseDeviceMemory { get; init; }
}

/// <summary>The pl111 driver table (<c>pl111_drm_driver</c>) and its probe.</summary>
[Kernel("pl111_drm_driver", "drivers/gpu/drm/pl111/pl111_drv.c")]
public static class Pl111Drv
{
    /// <summary><c>.name</c>: what DRM_IOCTL_VERSION reports.</summary>
    public const string DRIVER_NAME = "pl111";

    /// <summary><c>DRIVER_DESC</c>.</summary>
    public const string DRIVER_DESC = "DRM module for PL111";

    /// <summary>The module (and machine-config) name of the driver.</summary>
    public const string ModuleName = "pl111_drm";

    /// <summary>The AMBA device name of the CoreTile CLCD on vexpress-a9.</summary>
    public const string DeviceName = "10020000.clcd";

    /// <summary>
    /// The registration that binds <c>pl111_drm</c> devices of the machine. <paramref name="alloc"/> is the board's
    /// DMA allocator (null on a machine without the ARM CMA allocator: such a device has no DMA parent, and its
    /// dumb buffers are a configuration error of the simulator).
    /// </summary>
    public static DrmDriverRegistration Registration(ArmDmaMapping? alloc, KernelTrace trace) =>
        new(ModuleName, CreateDriver, drm => Probe(drm, alloc, trace));

    /// <summary>
    /// <c>pl111_drm_driver</c>: DRIVER_MODESET | DRIVER_GEM | DRIVER_ATOMIC (no DRIVER_RENDER: no render node),
    /// name "pl111", date "20170317", version 1.0.0, dumb_create = <c>drm_gem_dma_dumb_create</c>, PRIME
    /// handle/fd through the core (<c>drm_gem_prime_handle_to_fd</c> / <c>drm_gem_prime_fd_to_handle</c>), no
    /// driver ioctls.
    /// </summary>
    public static DrmDriver CreateDriver() => new()
    {
        Name = DRIVER_NAME,
        Desc = DRIVER_DESC,
        Date = "20170317",
        Major = 1,
        Minor = 0,
        Patchlevel = 0,
        DriverFeatures = DrmDriverFeature.DRIVER_MODESET | DrmDriverFeature.DRIVER_GEM | DrmDriverFeature.DRIVER_ATOMIC,
        DumbCreate = DrmGemDmaHelper.DumbCreate,
        PrimeHandleToFd = DrmPrime.GemPrimeHandleToFd,
        PrimeFdToHandle = DrmPrime.GemPrimeFdToHandle,
        GemPrimeMmap = DrmPrime.GemPrimeMmap,
    };

    /// <summary>
    /// <c>pl111_amba_probe</c> (the part objects depend on): the private data with the AMBA device as DMA parent
    /// (32-bit DMA masks, dma-direct: DMA address = physical address on this board).
    /// </summary>
    [Kernel("pl111_amba_probe", "drivers/gpu/drm/pl111/pl111_drv.c")]
    public static void Probe(DrmDevice drm, ArmDmaMapping? alloc, KernelTrace trace)
    {
        ArgumentNullException.ThrowIfNull(drm);
        // pl111_modeset_init: drmm_mode_config_init (no preferred depth, modifiers supported: the simple pipe's
        // plane gets the default linear modifier), one CRTC from drm_simple_display_pipe_init (no
        // page_flip_target), and drm_vblank_init(dev, 1) (the vexpress variant's vblank is not broken).
        drm.ModeConfig = new DrmModeConfig { NumCrtc = 1, HasVblank = true };
        drm.UniqueOverride = DeviceName;
        if (alloc is null)
        {
            return;
        }
        var dev = new Device(DeviceName)
        {
            DmaMask = DmaAttrs.DMA_BIT_MASK(32),
            CoherentDmaMask = DmaAttrs.DMA_BIT_MASK(32),
            Ops = DmaOps.Direct,
        };
        drm.DmaDev = dev;
        drm.DevPrivate = new Pl111DrmDevPrivate(new DrmDmaParent(dev, alloc, trace));
    }
}
