// Models drivers/gpu/drm/vgem/vgem_drv.c (Linux 6.1): the virtual GEM provider (shmem objects with
// write-combined maps, dumb buffers, PRIME through the DRM core, and the fence ioctls of vgem_fence.c).
using Sim.Core;
using Sim.Drm.Uapi;

namespace Sim.Drm.Drivers.Vgem;

/// <summary><c>struct vgem_file</c>: the per-file fence ids (<c>fence_idr</c>, from 1, never reused).</summary>
[Kernel("struct vgem_file", "drivers/gpu/drm/vgem/vgem_drv.h")]
public sealed class VgemFile
{
    /// <summary><c>fence_idr</c>: fence id (from 1) to its slot; a slot emptied by FENCE_SIGNAL keeps its id taken.</summary>
    public Sim.Core.Lib.Idr<VgemFenceSlot> FenceIdr { get; } = new();
}

/// <summary>The vgem driver table (<c>vgem_driver</c>).</summary>
[Kernel("vgem_driver", "drivers/gpu/drm/vgem/vgem_drv.c")]
public static class VgemDrv
{
    /// <summary>DRIVER_NAME.</summary>
    public const string DRIVER_NAME = "vgem";

    /// <summary>The registration that binds <c>vgem</c> devices of the machine.</summary>
    public static DrmDriverRegistration Registration { get; } = new(DRIVER_NAME, CreateDriver, Probe);

    /// <summary>
    /// <c>vgem_init</c>'s device: the platform device "vgem" (dma-direct, the swiotlb pool when there is one) with
    /// <c>dma_coerce_mask_and_coherent(DMA_BIT_MASK(64))</c>; it is <c>dev-&gt;dev</c> (imports map for it).
    /// </summary>
    [Kernel("vgem_init", "drivers/gpu/drm/vgem/vgem_drv.c")]
    public static void Probe(DrmDevice dev)
    {
        var swiotlb = dev.DmaMapping.Swiotlb;
        dev.DmaDev = new Sim.Core.Dma.Device("vgem")
        {
            DmaMask = Sim.Core.Dma.DmaAttrs.DMA_BIT_MASK(64),
            CoherentDmaMask = Sim.Core.Dma.DmaAttrs.DMA_BIT_MASK(64),
            Ops = Sim.Core.Dma.DmaOps.Direct,
            DmaIoTlbMem = swiotlb.IsActive ? swiotlb : null,
        };
        // platform_device_register_simple("vgem", -1, NULL, 0): no OF node and no driver bound, so its uevent is
        // only "MODALIAS=platform:vgem" (captured in data/sysfs/).
        dev.SysParent = dev.Devices?.PlatformDeviceAdd("vgem");
    }

    /// <summary>
    /// <c>vgem_driver</c>: DRIVER_GEM | DRIVER_RENDER, <c>DRM_GEM_SHMEM_DRIVER_OPS</c> (dumb_create =
    /// drm_gem_shmem_dumb_create, PRIME through the core), <c>gem_create_object</c> = vgem_gem_create_object, the
    /// fence ioctls at DRM_COMMAND_BASE + 1 and + 2.
    /// </summary>
    public static DrmDriver CreateDriver() => new()
    {
        Name = DRIVER_NAME,
        Desc = "Virtual GEM provider",
        Date = "20120112",
        Major = 1,
        Minor = 0,
        Patchlevel = 0,
        DriverFeatures = DrmDriverFeature.DRIVER_GEM | DrmDriverFeature.DRIVER_RENDER,
        Open = Open,
        Postclose = Postclose,
        GemCreateObject = GemCreateObject,
        DumbCreate = DrmGemShmemHelper.DumbCreate,
        PrimeHandleToFd = DrmPrime.GemPrimeHandleToFd,
        PrimeFdToHandle = DrmPrime.GemPrimeFdToHandle,
        GemPrimeImportSgTable = DrmGemShmemHelper.PrimeImportSgTable,
        GemPrimeMmap = DrmPrime.GemPrimeMmap,
        Ioctls =
        [
            null!,
            new DrmIoctlDesc("DRM_IOCTL_VGEM_FENCE_ATTACH", VgemDrmH.DRM_IOCTL_VGEM_FENCE_ATTACH, DrmIoctlFlags.DRM_RENDER_ALLOW, VgemFence.FenceAttachIoctl),
            new DrmIoctlDesc("DRM_IOCTL_VGEM_FENCE_SIGNAL", VgemDrmH.DRM_IOCTL_VGEM_FENCE_SIGNAL, DrmIoctlFlags.DRM_RENDER_ALLOW, VgemFence.FenceSignalIoctl),
        ],
    };

    /// <summary><c>vgem_open</c>: a <see cref="VgemFile"/> with its fence table.</summary>
    [Kernel("vgem_open", "drivers/gpu/drm/vgem/vgem_drv.c")]
    public static int Open(DrmDevice dev, DrmFile file)
    {
        var vfile = new VgemFile();
        file.DriverPriv = vfile;
        return VgemFence.FenceOpen(vfile);
    }

    /// <summary><c>vgem_postclose</c>: <c>vgem_fence_close</c> signals the file's pending fences.</summary>
    [Kernel("vgem_postclose", "drivers/gpu/drm/vgem/vgem_drv.c")]
    public static void Postclose(DrmDevice dev, DrmFile file)
    {
        VgemFence.FenceClose((VgemFile)file.DriverPriv!);
        file.DriverPriv = null;
    }

    /// <summary><c>vgem_gem_create_object</c>: a shmem object with <c>map_wc</c>.</summary>
    [Kernel("vgem_gem_create_object", "drivers/gpu/drm/vgem/vgem_drv.c")]
    public static (DrmGemObject? Obj, int Err) GemCreateObject(DrmDevice dev, ulong size) =>
        s_kzallocObject.ShouldFail() ? (null, -(int)Sim.Core.Uapi.Errno.ENOMEM) : (new DrmGemShmemObject { MapWc = true }, 0);

    private static readonly Sim.Core.Debug.FaultSite s_kzallocObject = Sim.Core.Debug.FaultSite.Register("vgem_gem_create_object:kzalloc");
}
