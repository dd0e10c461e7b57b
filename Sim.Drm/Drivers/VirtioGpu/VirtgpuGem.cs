// Models drivers/gpu/drm/virtio/virtgpu_gem.c and the parts of virtgpu_drv.c / virtgpu_object.c that user
// space sees through dumb buffers (Linux 6.1): XRGB8888 dumb buffers backed by shmem objects.
using Sim.Core;
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Drm.Uapi;

namespace Sim.Drm.Drivers.VirtioGpu;

/// <summary><c>struct virtio_gpu_object</c> (a shmem object of the virtio-gpu device).</summary>
[Kernel("struct virtio_gpu_object_shmem", "drivers/gpu/drm/virtio/virtgpu_drv.h")]
public sealed class VirtioGpuObject : DrmGemShmemObject
{
}

/// <summary>The virtio-gpu driver table and its GEM entry points.</summary>
[Kernel("virtio_gpu_driver", "drivers/gpu/drm/virtio/virtgpu_drv.c")]
public static class VirtgpuGem
{
    /// <summary>DRIVER_NAME.</summary>
    public const string DRIVER_NAME = "virtio_gpu";

    /// <summary>
    /// The PCI function of the device: <c>qemu-system-x86_64 -machine pc -device virtio-gpu-pci</c> puts it at slot 3
    /// (slot 2 is the default VGA adapter; captured in data/sysfs).
    /// </summary>
    public const string PciSlotName = "0000:00:03.0";

    /// <summary>The registration that binds <c>virtio_gpu</c> devices of the machine.</summary>
    public static DrmDriverRegistration Registration { get; } = new(DRIVER_NAME, CreateDriver, Probe);

    /// <summary>
    /// <c>virtio_gpu_probe</c>'s device: <c>dev-&gt;dev</c> is the PCI function (<see cref="PciSlotName"/>)
    /// with <c>dma_set_max_seg_size(dma_max_mapping_size ?: UINT_MAX)</c>; <c>virtio_gpu_modeset_init</c>'s mode
    /// config: <c>fb_modifiers_not_supported</c>, one CRTC per scanout (QEMU's default <c>max_outputs=1</c>) whose
    /// funcs have no <c>page_flip_target</c>, and no <c>drm_vblank_init</c>.
    /// </summary>
    [Kernel("virtio_gpu_probe", "drivers/gpu/drm/virtio/virtgpu_drv.c")]
    public static void Probe(DrmDevice dev)
    {
        var pci = dev.DmaMapping.CreateDevice(PciSlotName, 0x1af4, 0x1050);
        dev.ModeConfig = new DrmModeConfig { FbModifiersNotSupported = true, NumCrtc = 1 };
        ulong max = dev.DmaMapping.MaxMappingSize(pci);
        _ = DmaMapping.SetMaxSegSize(pci, max == 0 ? uint.MaxValue : unchecked((uint)max));
        dev.DmaDev = pci;
        if (dev.Devices is { } devices)
        {
            // The PCI function (bound to virtio-pci) and the virtio device on it (bound to virtio_gpu); the DRM
            // device's parent is the PCI function: drm_dev_alloc(&driver, vdev->dev.parent).
            var f = new Sim.Core.Pci.PciFunction(PciSlotName, 0x1af4, 0x1050, 0x1af4, 0x1100, 0x01, 0x038000, 11, "virtio-pci", QemuConfigSpace);
            var pciDev = Sim.Core.Pci.PciSysfs.Add(devices, f);
            devices.DeviceAdd(new Sim.Core.Base.SysDevice
            {
                Name = "virtio0",
                Parent = pciDev,
                Bus = "virtio",
                Driver = "virtio_gpu",
                BusUevent = () => ["MODALIAS=virtio:d00000010v00001AF4"],
                Attrs =
                [
                    Sim.Core.Base.SysAttr.Text("device", () => "0x0010\n"),
                    Sim.Core.Base.SysAttr.Text("vendor", () => "0x1af4\n"),
                    Sim.Core.Base.SysAttr.Text("modalias", () => "virtio:d00000010v00001AF4\n"),
                ],
            });
            dev.SysParent = pciDev;
        }
    }

    /// <summary>
    /// The configuration space of QEMU 7.2's <c>virtio-gpu-pci</c> at 00:03.0 of <c>-machine pc</c> after SeaBIOS
    /// assigned its BARs (captured from /sys/.../config in the real guest, data/sysfs/): vendor 1af4, device 1050,
    /// revision 01, class 038000 (display, other), subsystem 1af4:1100, BAR1 (MSI-X) and the 64-bit BAR4, interrupt
    /// line 11 pin A, the vendor-specific virtio capabilities from 0x40 and MSI-X at 0x98.
    /// </summary>
    public static byte[] QemuConfigSpace { get; } = BuildConfig();

    private static byte[] BuildConfig()
    {
        var c = new byte[256];
        byte[] head =
        [
            0xf4, 0x1a, 0x50, 0x10, 0x07, 0x05, 0x10, 0x00, 0x01, 0x00, 0x80, 0x03, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xbf, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x0c, 0x00, 0x00, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf4, 0x1a, 0x00, 0x11,
            0x00, 0x00, 0x00, 0x00, 0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x01, 0x00, 0x00,
            0x09, 0x00, 0x10, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
            0x09, 0x40, 0x10, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
            0x09, 0x50, 0x10, 0x04, 0x04, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
            0x09, 0x60, 0x14, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00,
            0x04, 0x00, 0x00, 0x00, 0x09, 0x70, 0x14, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x11, 0x84, 0x02, 0x80, 0x01, 0x00, 0x00, 0x00,
            0x01, 0x08, 0x00, 0x00,
        ];
        head.CopyTo(c, 0);
        return c;
    }

    /// <summary>
    /// <c>virtgpu_dmabuf_ops</c>: the core's PRIME ops with <c>virtio_dma_buf_attach</c> (-> <c>drm_gem_map_attach</c>)
    /// and the guest-memory map/unmap of <c>drm_gem_map_dma_buf</c>.
    /// </summary>
    public static readonly DmaBufOps DmabufOps = new()
    {
        CacheSgtMapping = true,
        Attach = DrmPrime.GemMapAttach,
        Detach = DrmPrime.GemMapDetach,
        MapDmaBuf = DrmPrime.GemMapDmaBuf,
        UnmapDmaBuf = DrmPrime.GemUnmapDmaBuf,
        Release = DrmPrime.GemDmabufRelease,
        Mmap = DrmPrime.GemDmabufMmap,
    };

    /// <summary>
    /// <c>virtgpu_gem_prime_export</c>: a dma-buf with <see cref="DmabufOps"/>, exp_name "virtio_gpu"
    /// (KBUILD_MODNAME), the object's size, flags and reservation object; a device and an object reference.
    /// </summary>
    [Kernel("virtgpu_gem_prime_export", "drivers/gpu/drm/virtio/virtgpu_prime.c")]
    public static (DmaBuf? DmaBuf, int Err) GemPrimeExport(DrmGemObject obj, int flags)
    {
        var info = new DmaBufExportInfo
        {
            ExpName = DRIVER_NAME,
            Ops = DmabufOps,
            Size = obj.Size,
            Flags = (uint)flags,
            Priv = obj,
            Resv = obj.Resv,
        };
        var (buf, err) = DmaBuf.Export(obj.Dev.DbList, info);
        if (buf is null)
        {
            return (null, err);
        }
        obj.Get();
        return (buf, 0);
    }

    /// <summary><c>virtgpu_gem_prime_import</c>: the device's own export gives back its object, else <c>drm_gem_prime_import</c>.</summary>
    [Kernel("virtgpu_gem_prime_import", "drivers/gpu/drm/virtio/virtgpu_prime.c")]
    public static (DrmGemObject? Obj, int Err) GemPrimeImport(DrmDevice dev, DmaBuf buf)
    {
        if (ReferenceEquals(buf.Ops, DmabufOps) && buf.Priv is DrmGemObject obj && obj.Dev == dev)
        {
            return (obj.Get(), 0);
        }
        return DrmPrime.GemPrimeImport(dev, buf);
    }

    /// <summary><c>virtgpu_gem_prime_import_sg_table</c>: virtio-gpu cannot wrap foreign memory, <c>-ENODEV</c>.</summary>
    [Kernel("virtgpu_gem_prime_import_sg_table", "drivers/gpu/drm/virtio/virtgpu_prime.c")]
    public static (DrmGemObject? Obj, int Err) GemPrimeImportSgTable(DrmDevice dev, DmaBufAttachment attach, SgTable table) =>
        (null, -(int)Errno.ENODEV);

    /// <summary><c>virtio_gpu_shmem_funcs</c> (shmem mmap and vm_ops; open/close only notify the host without virgl).</summary>
    public static readonly DrmGemObjectFuncs ShmemFuncs = new()
    {
        Free = o => DrmGemShmemHelper.Free((DrmGemShmemObject)o),
        Mmap = (o, vma) => DrmGemShmemHelper.Mmap((DrmGemShmemObject)o, vma),
        VmOps = DrmGemShmemHelper.VmOps,
        Pin = o => DrmGemShmemHelper.Pin((DrmGemShmemObject)o),
        Unpin = o => DrmGemShmemHelper.Unpin((DrmGemShmemObject)o),
        GetSgTable = o => DrmGemShmemHelper.GetSgTable((DrmGemShmemObject)o),
        Export = GemPrimeExport,
    };

    /// <summary>
    /// <c>driver</c> of virtgpu_drv.c: DRIVER_MODESET | DRIVER_GEM | DRIVER_RENDER | DRIVER_ATOMIC, version 0.1.0,
    /// date "0", dumb_create / dumb_map_offset of virtgpu_gem.c.
    /// </summary>
    public static DrmDriver CreateDriver() => new()
    {
        Name = DRIVER_NAME,
        Desc = "virtio GPU",
        Date = "0",
        Major = 0,
        Minor = 1,
        Patchlevel = 0,
        DriverFeatures = DrmDriverFeature.DRIVER_MODESET | DrmDriverFeature.DRIVER_GEM | DrmDriverFeature.DRIVER_RENDER | DrmDriverFeature.DRIVER_ATOMIC,
        GemCreateObject = CreateObject,
        DumbCreate = ModeDumbCreate,
        DumbMapOffset = ModeDumbMmap,
        PrimeHandleToFd = DrmPrime.GemPrimeHandleToFd,
        PrimeFdToHandle = DrmPrime.GemPrimeFdToHandle,
        GemPrimeMmap = DrmPrime.GemPrimeMmap,
        GemPrimeImport = GemPrimeImport,
        GemPrimeImportSgTable = GemPrimeImportSgTable,
    };

    private static readonly Sim.Core.Debug.FaultSite s_kzallocObject = Sim.Core.Debug.FaultSite.Register("virtio_gpu_create_object:kzalloc");

    /// <summary><c>virtio_gpu_create_object</c>: a shmem object with the virtio-gpu funcs (<c>-ENOMEM</c> when kzalloc fails).</summary>
    [Kernel("virtio_gpu_create_object", "drivers/gpu/drm/virtio/virtgpu_object.c")]
    public static (DrmGemObject? Obj, int Err) CreateObject(DrmDevice dev, ulong size) =>
        s_kzallocObject.ShouldFail() ? (null, -(int)Sim.Core.Uapi.Errno.ENOMEM) : (new VirtioGpuObject { Funcs = ShmemFuncs }, 0);

    /// <summary>
    /// <c>virtio_gpu_mode_dumb_create</c>: bpp other than 32 <c>-EINVAL</c>; pitch = width * 4, size =
    /// ALIGN(pitch * height, PAGE_SIZE) (the product in u32), then <c>virtio_gpu_gem_create</c>.
    /// </summary>
    [Kernel("virtio_gpu_mode_dumb_create", "drivers/gpu/drm/virtio/virtgpu_gem.c")]
    public static int ModeDumbCreate(DrmFile file, DrmDevice dev, Span<drm_mode_create_dumb> argsSpan)
    {
        ref var args = ref argsSpan[0];
        if (args.bpp != 32)
        {
            return -(int)Errno.EINVAL;
        }
        uint pitch = unchecked(args.width * 4);
        args.size = unchecked(pitch * args.height);
        args.size = (args.size + 4095) & ~4095UL;
        var (err, handle) = GemCreate(file, dev, args.size);
        if (err != 0)
        {
            return err;
        }
        args.handle = handle;
        args.pitch = pitch;
        return 0;
    }

    /// <summary>
    /// <c>virtio_gpu_gem_create</c>: <c>virtio_gpu_object_create</c> (a shmem object with its fake offset), a
    /// handle, then the creation reference is dropped.
    /// </summary>
    [Kernel("virtio_gpu_gem_create", "drivers/gpu/drm/virtio/virtgpu_gem.c")]
    public static (int Err, uint Handle) GemCreate(DrmFile file, DrmDevice dev, ulong size)
    {
        var (obj, err) = DrmGemShmemHelper.Create(dev, size);
        if (obj is null)
        {
            return (err, 0);
        }
        int ret = DrmGem.HandleCreate(file, obj, out uint handle);
        if (ret != 0)
        {
            obj.Put();
            return (ret, 0);
        }
        obj.Put();
        return (0, handle);
    }

    /// <summary><c>virtio_gpu_mode_dumb_mmap</c>: the object's offset as it is (<c>-ENOENT</c> for a bad handle).</summary>
    [Kernel("virtio_gpu_mode_dumb_mmap", "drivers/gpu/drm/virtio/virtgpu_gem.c")]
    public static (ulong Offset, int Err) ModeDumbMmap(DrmFile file, DrmDevice dev, uint handle)
    {
        var obj = DrmGem.ObjectLookup(file, handle);
        if (obj is null)
        {
            return (0, -(int)Errno.ENOENT);
        }
        ulong offset = obj.VmaNode.OffsetAddr;
        obj.Put();
        return (offset, 0);
    }
}
