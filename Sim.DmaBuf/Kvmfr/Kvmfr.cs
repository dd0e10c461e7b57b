// Models the Looking Glass kvmfr module (module/kvmfr.c, commit 8cb6a68, MODULE_VERSION 0.0.12) as loaded on
// a machine without an ivshmem PCI device: static devices from the static_size_mb parameter, backed by
// vmalloc_user memory, with the char device's GETSIZE/CREATE ioctls and mmap, and kvmfr's dma_buf_ops.
using Sim.Core;
using Sim.Core.Base;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBuf.Kvmfr;

/// <summary>The <c>kvmfr.ko</c> file: out of tree, unsigned, 20480 bytes in /proc/modules.</summary>
public sealed class KvmfrModuleImage(CharDevices chrdevs, Devtmpfs devtmpfs, IVmalloc vmalloc, Printk printk,
    ModuleList modules, CurrentTask current, LiveObjects live, ProcessTable processes) : IModuleImage
{
    /// <inheritdoc/>
    public string Name => "kvmfr";

    /// <inheritdoc/>
    public bool InTree => false;

    /// <inheritdoc/>
    public bool Signed => false;

    /// <inheritdoc/>
    public uint Size => 20480;

    /// <summary>The code of the currently loaded instance, or null.</summary>
    public KvmfrModule? Loaded { get; internal set; }

    /// <inheritdoc/>
    public IModuleCode Instantiate() => new KvmfrModule(this, chrdevs, devtmpfs, vmalloc, printk, modules, current, live, processes);
}

/// <summary><c>enum kvmfr_type</c>.</summary>
public enum KvmfrType
{
    /// <summary>KVMFR_TYPE_PCI (ivshmem BAR 2; no such device on the modelled machines).</summary>
    Pci,
    /// <summary>KVMFR_TYPE_STATIC (vmalloc_user memory).</summary>
    Static,
}

/// <summary><c>struct kvmfr_dev</c>.</summary>
[Kernel("struct kvmfr_dev", "module/kvmfr.c")]
public sealed class KvmfrDev
{
    /// <summary><c>size</c> (unsigned long).</summary>
    public ulong Size { get; init; }

    /// <summary><c>minor</c>.</summary>
    public int Minor { get; set; }

    /// <summary><c>addr</c>: the vmalloc area.</summary>
    public VmArea? Addr { get; set; }

    /// <summary><c>type</c>.</summary>
    public KvmfrType Type { get; init; }
}

/// <summary><c>struct kvmfrbuf</c>: the private data of a kvmfr dma-buf.</summary>
[Kernel("struct kvmfrbuf", "module/kvmfr.c")]
public sealed class KvmfrBuf
{
    /// <summary><c>kdev</c>.</summary>
    public required KvmfrDev Kdev { get; init; }

    /// <summary><c>pagecount</c>.</summary>
    public ulong PageCount { get; init; }

    /// <summary><c>offset</c> in the device, bytes.</summary>
    public ulong Offset { get; init; }

    /// <summary><c>pages</c>: the frames of the buffer's pages (<c>vmalloc_to_page</c>).</summary>
    public required ulong[] Pages { get; init; }
}

/// <summary>
/// One loaded instance of kvmfr: its static data (<c>static_size_mb</c>, <c>static_count</c>, <c>kvmfr_idr</c>,
/// <c>kvmfr</c>), <c>kvmfr_module_init</c>/<c>kvmfr_module_exit</c>, and the char device's <c>fops</c>.
/// </summary>
[Kernel("kvmfr_module_init", "module/kvmfr.c")]
public sealed class KvmfrModule : IModuleCode, IFileOperations
{
    /// <summary>KVMFR_MAX_DEVICES.</summary>
    public const int KVMFR_MAX_DEVICES = 10;
    /// <summary>KVMFR_DEV_NAME.</summary>
    public const string KVMFR_DEV_NAME = "kvmfr";
    private const ulong PAGE_SIZE = 4096;

    private readonly KvmfrModuleImage _image;
    private readonly CharDevices _chrdevs;
    private readonly Devtmpfs _devtmpfs;
    private readonly IVmalloc _vmalloc;
    private readonly Printk _printk;
    private readonly ModuleList _modules;
    private readonly CurrentTask _current;
    private readonly LiveObjects _live;
    private readonly ProcessTable _processes;
    private readonly int[] _staticSizeMb = new int[KVMFR_MAX_DEVICES];
    private readonly Idr<KvmfrDev> _idr = new();
    private int _staticCount;

    internal KvmfrModule(KvmfrModuleImage image, CharDevices chrdevs, Devtmpfs devtmpfs, IVmalloc vmalloc, Printk printk,
        ModuleList modules, CurrentTask current, LiveObjects live, ProcessTable processes)
    {
        _processes = processes;
        _image = image;
        _chrdevs = chrdevs;
        _devtmpfs = devtmpfs;
        _vmalloc = vmalloc;
        _printk = printk;
        _modules = modules;
        _current = current;
        _live = live;
        Params =
        [
            new KernelParam("static_size_mb", (ref string? val) =>
            {
                int r = Sim.Core.Kernel.Params.IntArray(_printk, "static_size_mb", val!, _staticSizeMb, n => _staticCount = n, out string shown);
                val = shown;
                return r;
            }),
        ];
    }

    /// <inheritdoc/>
    public IReadOnlyList<KernelParam> Params { get; }

    /// <summary><c>kvmfr-&gt;major</c>.</summary>
    public int Major { get; private set; }

    /// <summary>The static devices by minor (<c>kvmfr_idr</c>).</summary>
    public IReadOnlyList<KeyValuePair<int, KvmfrDev>> Devices => _idr.Entries();

    /// <inheritdoc/>
    string? IFileOperations.Owner => "kvmfr";

    /// <summary><c>kvmfr_module_init</c>: register_chrdev(0), class_create, the static devices; -ENODEV on failure.</summary>
    public int Init(Module module)
    {
        Major = _chrdevs.RegisterChrdev(0, KVMFR_DEV_NAME, this);
        if (Major < 0)
        {
            _printk.Info("kvmfr: kvmfr_module_init: failed to register char device!\n");
            return -(int)Errno.ENODEV;
        }
        if (_devtmpfs.ClassCreate(KVMFR_DEV_NAME) < 0)
        {
            _printk.Info("kvmfr: kvmfr_module_init: failed to create class!\n");
            _chrdevs.UnregisterChrdev(Major, KVMFR_DEV_NAME);
            return -(int)Errno.ENODEV;
        }
        if (CreateStaticDevices() < 0)
        {
            _printk.Info("kvmfr: kvmfr_module_init: failed to create static devices!\n");
            _devtmpfs.ClassDestroy(KVMFR_DEV_NAME);
            _chrdevs.UnregisterChrdev(Major, KVMFR_DEV_NAME);
            return -(int)Errno.ENODEV;
        }
        // pci_register_driver: no ivshmem device is present, nothing probes.
        _printk.Info("kvmfr: kvmfr_module_init: module loaded\n");
        _image.Loaded = this;
        return 0;
    }

    /// <summary><c>kvmfr_module_exit</c>.</summary>
    [Kernel("kvmfr_module_exit", "module/kvmfr.c")]
    public void Exit()
    {
        FreeStaticDevices();
        _devtmpfs.ClassDestroy(KVMFR_DEV_NAME);
        _chrdevs.UnregisterChrdev(Major, KVMFR_DEV_NAME);
        if (ReferenceEquals(_image.Loaded, this))
        {
            _image.Loaded = null;
        }
    }

    [Kernel("create_static_devices", "module/kvmfr.c")]
    private int CreateStaticDevices()
    {
        int ret = 0;
        _printk.Info($"kvmfr: creating {_staticCount} static devices\n");
        for (int i = 0; i < _staticCount; ++i)
        {
            ret = CreateStaticDeviceUnlocked(_staticSizeMb[i]);
            if (ret < 0)
            {
                break;
            }
        }
        if (ret < 0)
        {
            FreeStaticDevices();
        }
        return ret;
    }

    [Kernel("create_static_device_unlocked", "module/kvmfr.c")]
    private int CreateStaticDeviceUnlocked(int sizeMb)
    {
        // kdev->size = size_mb * 1024 * 1024: int arithmetic (wraps), sign-extended into unsigned long.
        var kdev = new KvmfrDev { Size = unchecked((ulong)(long)(sizeMb * 1024 * 1024)), Type = KvmfrType.Static };
        kdev.Addr = _vmalloc.VmallocUser(kdev.Size);
        if (kdev.Addr is null)
        {
            _printk.Err($"kvmfr: failed to allocate memory for static device: {sizeMb} MiB\n");
            return -(int)Errno.ENOMEM;
        }
        kdev.Minor = _idr.Alloc(kdev, 0, KVMFR_MAX_DEVICES);
        if (kdev.Minor < 0)
        {
            _vmalloc.Vfree(kdev.Addr);
            return -(int)Errno.ENODEV;
        }
        if (_devtmpfs.DeviceCreate(KVMFR_DEV_NAME, KVMFR_DEV_NAME + kdev.Minor, (uint)Major, (uint)kdev.Minor) < 0)
        {
            _idr.Remove(kdev.Minor);
            _vmalloc.Vfree(kdev.Addr);
            return -(int)Errno.ENODEV;
        }
        return 0;
    }

    [Kernel("free_static_devices", "module/kvmfr.c")]
    private void FreeStaticDevices()
    {
        foreach (var (id, kdev) in _idr.Entries())
        {
            _devtmpfs.DeviceDestroy(KVMFR_DEV_NAME, (uint)Major, (uint)kdev.Minor);
            _idr.Remove(id);
            _vmalloc.Vfree(kdev.Addr!);
        }
    }

    /// <summary>
    /// <c>device_ioctl</c>: the device of the file's minor first (none: <c>-EINVAL</c> for every request), then
    /// CREATE, GETSIZE (the size as the return value) or <c>-ENOTTY</c>.
    /// </summary>
    [Kernel("device_ioctl", "module/kvmfr.c")]
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg)
    {
        var kdev = _idr.Find((int)file.Inode.Minor);
        if (kdev is null)
        {
            return -(long)Errno.EINVAL;
        }
        return cmd switch
        {
            KvmfrUapi.KVMFR_DMABUF_CREATE => DmabufCreate(kdev, arg),
            KvmfrUapi.KVMFR_DMABUF_GETSIZE => (long)kdev.Size,
            _ => -(long)Errno.ENOTTY,
        };
    }

    /// <summary>
    /// <c>kvmfr_dmabuf_create</c>: copy_from_user (<c>-EFAULT</c>), alignment of offset and size (<c>-EINVAL</c> with
    /// "kvmfr: buffer not aligned to 0x1000 bytes", no newline), range and wrap (<c>-EINVAL</c>), then the pages,
    /// <c>dma_buf_export</c> (flags O_RDWR, owner kvmfr) and <c>dma_buf_fd</c> (O_CLOEXEC from flags bit 0).
    /// </summary>
    [Kernel("kvmfr_dmabuf_create", "module/kvmfr.c")]
    public long DmabufCreate(KvmfrDev kdev, UserArg arg)
    {
        Span<byte> raw = stackalloc byte[kvmfr_dmabuf_create.Size];
        if (arg.CopyFromUser(raw) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        var create = kvmfr_dmabuf_create.Read(raw);
        if ((create.offset & (PAGE_SIZE - 1)) != 0 || (create.size & (PAGE_SIZE - 1)) != 0)
        {
            _printk.Print(Printk.KERN_DEFAULT, $"kvmfr: buffer not aligned to 0x{PAGE_SIZE:x} bytes");
            return -(long)Errno.EINVAL;
        }
        ulong end = unchecked(create.offset + create.size);
        if (end > kdev.Size || end < create.offset)
        {
            return -(long)Errno.EINVAL;
        }
        ulong pagecount = create.size >> 12;
        var pages = new ulong[pagecount];
        ulong first = create.offset >> 12;
        for (ulong i = 0; i < pagecount; ++i)
        {
            pages[i] = kdev.Addr!.Pfns[first + i];
        }
        var kbuf = new KvmfrBuf { Kdev = kdev, PageCount = pagecount, Offset = create.offset, Pages = pages };
        var (buf, err) = KvmfrDmaBufSeam.Export(this, kbuf, create.size, _modules, _live);
        if (buf is null)
        {
            return err;
        }
        _printk.Print(Printk.KERN_DEFAULT, $"kvmfr_dmabuf_create with size {create.size} offset: {create.offset}");
        return KvmfrDmaBufSeam.Fd(buf, (create.flags & KvmfrUapi.KVMFR_DMABUF_FLAG_CLOEXEC) != 0, _current, _processes);
    }

    /// <summary>
    /// <c>device_mmap</c>: the device of the minor (<c>-EINVAL</c>), offset + length within the device
    /// (<c>-EINVAL</c>), the "mmap kvmfrN: start-end with size S offset O" line, then <c>remap_vmalloc_range</c>.
    /// </summary>
    [Kernel("device_mmap", "module/kvmfr.c")]
    public int Mmap(KernelFile file, Vma vma)
    {
        var kdev = _idr.Find((int)file.Inode.Minor);
        if (kdev is null)
        {
            return -(int)Errno.EINVAL;
        }
        ulong size = vma.End - vma.Start;
        ulong offset = unchecked(vma.PgOff << 12);
        ulong end = unchecked(offset + size);
        if (end > kdev.Size || end < offset)
        {
            return -(int)Errno.EINVAL;
        }
        _printk.Info($"mmap kvmfr{kdev.Minor}: {vma.Start:x}-{vma.End:x} with size {size} offset {offset}\n");
        return RemapVmallocRange(vma, kdev.Addr!, 0, vma.PgOff);
    }

    /// <summary><c>mmap_kvmfrbuf</c>: the range check, then VM_SHARED|VM_MAYSHARE required, then remap_vmalloc_range.</summary>
    [Kernel("mmap_kvmfrbuf", "module/kvmfr.c")]
    public static int MmapKvmfrbuf(KvmfrBuf kbuf, Vma vma)
    {
        ulong size = vma.End - vma.Start;
        ulong offset = unchecked(vma.PgOff << 12);
        ulong end = unchecked(offset + size);
        if (end > (kbuf.PageCount << 12) || end < offset)
        {
            return -(int)Errno.EINVAL;
        }
        if ((vma.Flags & (Vma.VM_SHARED | Vma.VM_MAYSHARE)) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        return RemapVmallocRange(vma, kbuf.Kdev.Addr!, kbuf.Offset, vma.PgOff);
    }

    /// <summary>
    /// <c>remap_vmalloc_range(vma, addr + kaddrOffset, pgoff)</c> (mm/vmalloc.c): pgoff &lt;&lt; PAGE_SHIFT must not
    /// overflow, the mapping's size + that offset must fit the area, then the area's pages from
    /// <c>kaddrOffset + off</c> are inserted; the vma gets VM_DONTEXPAND | VM_DONTDUMP.
    /// </summary>
    [Kernel("remap_vmalloc_range", "mm/vmalloc.c")]
    public static int RemapVmallocRange(Vma vma, VmArea area, ulong kaddrOffset, ulong pgoff)
    {
        if (pgoff > (ulong.MaxValue >> 12))
        {
            return -(int)Errno.EINVAL;
        }
        ulong off = pgoff << 12;
        ulong size = (vma.End - vma.Start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
        if ((area.Flags & VmArea.VM_USERMAP) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        ulong endIndex = unchecked(size + off);
        if (endIndex < size || endIndex > area.Size)
        {
            return -(int)Errno.EINVAL;
        }
        ulong firstPage = (kaddrOffset + off) >> 12;
        if (firstPage + (size >> 12) > (ulong)area.Pfns.Length)
        {
            return -(int)Errno.EFAULT;
        }
        vma.Ops = new InsertedPages(area.Pfns, (long)firstPage - (long)vma.PgOff);
        vma.Flags |= Vma.VM_MIXEDMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        return 0;
    }

    // The ptes vm_insert_page installed: file page pgoff maps area page pgoff + delta.
    private sealed class InsertedPages(ulong[] pfns, long delta) : IVmOperations
    {
        public long Fault(Vma vma, ulong pgoff)
        {
            long k = (long)pgoff + delta;
            return k >= 0 && k < pfns.Length ? (long)pfns[k] : -(long)Errno.EFAULT;
        }
    }
}
