// Models the Looking Glass kvmfr module (module/kvmfr.c, commit 8cb6a68, MODULE_VERSION 0.0.12) as loaded on
// a machine without an ivshmem PCI device: static devices from the static_size_mb parameter, backed by
// vmalloc_user memory (mm/vmalloc.c), with the char device's GETSIZE/CREATE ioctls and mmap, and kvmfr's
// dma_buf_ops on the dma-buf core (drivers/dma-buf/dma-buf.c).
using Sim.Core;
using Sim.Core.Base;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBufs.Kvmfr;

/// <summary>The <c>kvmfr.ko</c> file: out of tree, unsigned, 20480 bytes in /proc/modules.</summary>
public sealed class KvmfrModuleImage(CharDevices chrdevs, Devtmpfs devtmpfs, Vmalloc vmalloc, Printk printk,
    DmaBufList dbList, DmaMapping dma, CurrentTask current) : IModuleImage
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
    public IModuleCode Instantiate() => new KvmfrModule(this, chrdevs, devtmpfs, vmalloc, printk, dbList, dma, current);
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

    /// <summary><c>addr</c>: the kernel address of the device memory (the <c>vmalloc_user</c> area; 0 = NULL).</summary>
    public ulong Addr { get; set; }

    /// <summary><c>type</c>.</summary>
    public KvmfrType Type { get; init; }

    /// <summary>The loaded instance this device belongs to (the C code reaches it through its globals).</summary>
    internal KvmfrModule Module { get; init; } = null!;
}

/// <summary><c>struct kvmfrbuf</c>: the private data (<c>priv</c>) of a kvmfr dma-buf.</summary>
[Kernel("struct kvmfrbuf", "module/kvmfr.c")]
public sealed class KvmfrBuf
{
    /// <summary><c>kdev</c>.</summary>
    public required KvmfrDev Kdev { get; init; }

    /// <summary><c>pagecount</c>.</summary>
    public ulong PageCount { get; init; }

    /// <summary><c>offset</c> in the device, bytes.</summary>
    public ulong Offset { get; init; }

    /// <summary><c>pages</c>: the frames of the buffer's pages (<c>vmalloc_to_page</c> of each page of the range).</summary>
    public required ulong[] Pages { get; init; }
}

/// <summary>
/// One loaded instance of kvmfr: its static data (<c>static_size_mb</c>, <c>static_count</c>, <c>kvmfr_idr</c>,
/// <c>kvmfr</c>), <c>kvmfr_module_init</c>/<c>kvmfr_module_exit</c>, the char device's <c>fops</c> and the
/// dma-buf exporter (<c>kvmfrbuf_ops</c>).
/// </summary>
[Kernel("kvmfr_module_init", "module/kvmfr.c")]
public sealed class KvmfrModule : IModuleCode, IFileOperations
{
    /// <summary>KVMFR_MAX_DEVICES.</summary>
    public const int KVMFR_MAX_DEVICES = 10;
    /// <summary>KVMFR_DEV_NAME.</summary>
    public const string KVMFR_DEV_NAME = "kvmfr";
    /// <summary>KBUILD_MODNAME: the dma-bufs' <c>exp_name</c> and their owner module.</summary>
    public const string KBUILD_MODNAME = "kvmfr";

    /// <summary>
    /// <c>kvmfrbuf_ops</c>: map/unmap/release/mmap only (no attach/detach, no CPU-access hooks, no vmap, not
    /// dynamic, no cached mapping). Each op fires the <c>kvmcap</c> kprobe records of the kvmfr-import ftrace
    /// capture on the machine's trace (map_kvmfrbuf dir; dma_map_sg_attrs nents/dir/attrs and its return;
    /// unmap_kvmfrbuf and dma_unmap_sg_attrs nents/dir; release_kvmfrbuf; mmap_kvmfrbuf) where the kernel enters
    /// them.
    /// </summary>
    [Kernel("kvmfrbuf_ops", "module/kvmfr.c")]
    public static readonly DmaBufOps KvmfrbufOps = new()
    {
        MapDmaBuf = MapKvmfrbuf,
        UnmapDmaBuf = UnmapKvmfrbuf,
        Release = ReleaseKvmfrbuf,
        Mmap = MmapKvmfrbuf,
    };

    private readonly KvmfrModuleImage _image;
    private readonly CharDevices _chrdevs;
    private readonly Devtmpfs _devtmpfs;
    private readonly Vmalloc _vmalloc;
    private readonly Printk _printk;
    private readonly DmaBufList _dbList;
    private readonly DmaMapping _dma;
    private readonly CurrentTask _current;
    private readonly int[] _staticSizeMb = new int[KVMFR_MAX_DEVICES];
    private readonly Idr<KvmfrDev> _idr = new();
    private int _staticCount;

    internal KvmfrModule(KvmfrModuleImage image, CharDevices chrdevs, Devtmpfs devtmpfs, Vmalloc vmalloc, Printk printk,
        DmaBufList dbList, DmaMapping dma, CurrentTask current)
    {
        _image = image;
        _chrdevs = chrdevs;
        _devtmpfs = devtmpfs;
        _vmalloc = vmalloc;
        _printk = printk;
        _dbList = dbList;
        _dma = dma;
        _current = current;
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
    string? IFileOperations.Owner => KBUILD_MODNAME;

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
        var kdev = new KvmfrDev { Size = unchecked((ulong)(long)(sizeMb * 1024 * 1024)), Type = KvmfrType.Static, Module = this };
        kdev.Addr = _vmalloc.VmallocUser(kdev.Size, KBUILD_MODNAME);
        if (kdev.Addr == 0)
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
            _vmalloc.Vfree(kdev.Addr);
        }
    }

    /// <summary><c>device_ioctl</c> called without a process: the one in <see cref="CurrentTask"/>.</summary>
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg) =>
        UnlockedIoctl(file, cmd, arg, _current.Process ?? throw new InvalidOperationException("kvmfr ioctl outside a simulated process"));

    /// <summary>
    /// <c>device_ioctl</c>: the device of the file's minor first (none: <c>-EINVAL</c> for every request), then
    /// CREATE, GETSIZE (the size as the return value) or <c>-ENOTTY</c>.
    /// </summary>
    [Kernel("device_ioctl", "module/kvmfr.c")]
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Process current)
    {
        var kdev = _idr.Find((int)file.Inode.Minor);
        if (kdev is null)
        {
            return -(long)Errno.EINVAL;
        }
        return cmd switch
        {
            KvmfrUapi.KVMFR_DMABUF_CREATE => DmabufCreate(kdev, arg, current),
            KvmfrUapi.KVMFR_DMABUF_GETSIZE => (long)kdev.Size,
            _ => -(long)Errno.ENOTTY,
        };
    }

    private static readonly FaultSite s_kzallocKbuf = FaultSite.Register("kvmfr_dmabuf_create:kzalloc");
    private static readonly FaultSite s_kmallocPages = FaultSite.Register("kvmfr_dmabuf_create:kmalloc_array");

    /// <summary>
    /// <c>kvmfr_dmabuf_create</c>: copy_from_user (<c>-EFAULT</c>), alignment of offset and size (<c>-EINVAL</c> with
    /// "kvmfr: buffer not aligned to 0x1000 bytes", no newline), range and wrap (<c>-EINVAL</c>), then the
    /// <c>vmalloc_to_page</c> of every page of the range, <c>dma_buf_export</c> (exp_name and owner kvmfr,
    /// <c>kvmfrbuf_ops</c>, flags O_RDWR), the log line, and <c>dma_buf_fd</c> (O_CLOEXEC from flags bit 0).
    /// A failing <c>dma_buf_fd</c> is returned as is; the exported buffer then stays (as in the module).
    /// </summary>
    [Kernel("kvmfr_dmabuf_create", "module/kvmfr.c")]
    public long DmabufCreate(KvmfrDev kdev, UserArg arg, Process current)
    {
        ArgumentNullException.ThrowIfNull(kdev);
        ArgumentNullException.ThrowIfNull(current);
        Span<byte> raw = stackalloc byte[kvmfr_dmabuf_create.Size];
        if (arg.CopyFromUser(raw) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        var create = kvmfr_dmabuf_create.Read(raw);
        if ((create.offset & (Align.PAGE_SIZE - 1)) != 0 || (create.size & (Align.PAGE_SIZE - 1)) != 0)
        {
            _printk.Print(Printk.KERN_DEFAULT, $"kvmfr: buffer not aligned to 0x{Align.PAGE_SIZE:x} bytes");
            return -(long)Errno.EINVAL;
        }
        ulong end = unchecked(create.offset + create.size);
        if (end > kdev.Size || end < create.offset)
        {
            return -(long)Errno.EINVAL;
        }

        ulong pagecount = create.size >> Align.PAGE_SHIFT;
        if (s_kzallocKbuf.ShouldFail() || s_kmallocPages.ShouldFail())
        {
            return -(long)Errno.ENOMEM; // kzalloc(kbuf) / kmalloc_array(pages): the kbuf is kfree'd on the second
        }
        var pages = new ulong[pagecount];
        ulong p = kdev.Addr + create.offset;
        for (ulong i = 0; i < pagecount; ++i)
        {
            // KVMFR_TYPE_STATIC: vmalloc_to_page(p).
            pages[i] = _vmalloc.VmallocToPage(p) ?? throw new KernelBugException($"kvmfr: no vmalloc page at 0x{p:x}");
            p += Align.PAGE_SIZE;
        }
        var kbuf = new KvmfrBuf { Kdev = kdev, PageCount = pagecount, Offset = create.offset, Pages = pages };

        var (buf, err) = DmaBuf.Export(_dbList, new DmaBufExportInfo
        {
            ExpName = KBUILD_MODNAME,
            Owner = KBUILD_MODNAME,
            Ops = KvmfrbufOps,
            Size = create.size,
            Priv = kbuf,
            Flags = OpenFlags.O_RDWR,
        });
        if (buf is null)
        {
            return err;
        }
        _printk.Print(Printk.KERN_DEFAULT, $"kvmfr_dmabuf_create with size {create.size} offset: {create.offset}");
        return buf.Fd(current, (create.flags & KvmfrUapi.KVMFR_DMABUF_FLAG_CLOEXEC) != 0 ? OpenFlags.O_CLOEXEC : 0);
    }

    /// <summary>
    /// <c>map_kvmfrbuf</c>: a new table from the buffer's pages (<c>sg_alloc_table_from_pages</c>, offset 0, the
    /// whole buffer: physically contiguous pages coalesce into one entry), mapped for the attached device with
    /// <c>dma_map_sg</c>; a mapping of 0 entries is <c>-EINVAL</c> (the table is freed again). A size-0 buffer (whose
    /// pages array is empty: Linux would oops reading <c>pages[0]</c>) is a recorded WARN and <c>-EINVAL</c>.
    /// </summary>
    [Kernel("map_kvmfrbuf", "module/kvmfr.c")]
    public static (SgTable? Sgt, int Err) MapKvmfrbuf(DmaBufAttachment at, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(at);
        var buf = at.DmaBuf!;
        var kbuf = (KvmfrBuf)buf.Priv;
        buf.DbList.Kprobe("map_kvmfrbuf", new KernelTraceField("dir", (long)direction));
        if (buf.DbList.Warnings.On(kbuf.PageCount == 0, "map_kvmfrbuf: sg_alloc_table_from_pages reads pages[0] of an empty pages array (an oops on Linux)"))
        {
            // A size-0 buffer has a zero-size pages array (kmalloc(0) = ZERO_SIZE_PTR); the kernel would oops on
            // pages[0]. The simulator records it and fails the map instead of dereferencing nothing.
            return (null, -(int)Errno.EINVAL);
        }
        var sg = new SgTable();
        int ret = SgTable.AllocFromPages(sg, kbuf.Pages, (uint)kbuf.PageCount, 0, kbuf.PageCount << Align.PAGE_SHIFT);
        if (ret >= 0)
        {
            // dma_map_sg(at->dev, sg->sgl, sg->nents, direction) = dma_map_sg_attrs(..., 0), which turns an error into 0.
            buf.DbList.Kprobe("dma_map_sg_attrs", new KernelTraceField("nents", (long)sg.Nents),
                new KernelTraceField("dir", (long)direction), new KernelTraceField("attrs", 0UL));
            int n = kbuf.Kdev.Module._dma.MapSgAttrs(at.Dev, sg, sg.Sgl, sg.Nents, direction, 0);
            uint mapped = n < 0 ? 0u : (uint)n;
            buf.DbList.Kprobe("dma_map_sg_attrs:return", new KernelTraceField("ret", (long)mapped));
            if (mapped != 0)
            {
                return (sg, 0);
            }
            ret = -(int)Errno.EINVAL;
        }
        sg.Free();
        return (null, ret);
    }

    /// <summary><c>unmap_kvmfrbuf</c>: <c>dma_unmap_sg</c> of the table's <c>nents</c> entries, then frees it.</summary>
    [Kernel("unmap_kvmfrbuf", "module/kvmfr.c")]
    public static void UnmapKvmfrbuf(DmaBufAttachment at, SgTable sg, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(at);
        ArgumentNullException.ThrowIfNull(sg);
        var dbList = at.DmaBuf!.DbList;
        dbList.Kprobe("unmap_kvmfrbuf", new KernelTraceField("nents", (long)sg.Nents), new KernelTraceField("dir", (long)direction));
        dbList.Kprobe("dma_unmap_sg_attrs", new KernelTraceField("nents", (long)sg.Nents), new KernelTraceField("dir", (long)direction));
        DmaMapping.UnmapSgAttrs(at.Dev, sg, sg.Sgl, sg.Nents, direction, 0);
        sg.Free();
    }

    /// <summary><c>release_kvmfrbuf</c>: frees the pages array and the kvmfrbuf (the device memory stays).</summary>
    [Kernel("release_kvmfrbuf", "module/kvmfr.c")]
    public static void ReleaseKvmfrbuf(DmaBuf buf)
    {
        ArgumentNullException.ThrowIfNull(buf);
        buf.DbList.Kprobe("release_kvmfrbuf");
        // kfree(kbuf->pages); kfree(kbuf): nothing else to undo.
    }

    /// <summary>
    /// <c>mmap_kvmfrbuf</c>: vm_pgoff &lt;&lt; PAGE_SHIFT + the mapping's size must lie within the buffer and must not
    /// wrap (<c>-EINVAL</c>), the mapping must be shared (<c>VM_SHARED | VM_MAYSHARE</c>, else <c>-EINVAL</c>),
    /// then <c>remap_vmalloc_range(vma, kdev-&gt;addr + offset, vm_pgoff)</c>.
    /// </summary>
    [Kernel("mmap_kvmfrbuf", "module/kvmfr.c")]
    public static int MmapKvmfrbuf(DmaBuf buf, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(buf);
        ArgumentNullException.ThrowIfNull(vma);
        var kbuf = (KvmfrBuf)buf.Priv;
        buf.DbList.Kprobe("mmap_kvmfrbuf");
        ulong size = vma.End - vma.Start;
        ulong offset = unchecked(vma.PgOff << Align.PAGE_SHIFT);
        ulong end = unchecked(offset + size);
        if (end > (kbuf.PageCount << Align.PAGE_SHIFT) || end < offset)
        {
            return -(int)Errno.EINVAL;
        }
        if ((vma.Flags & (Vma.VM_SHARED | Vma.VM_MAYSHARE)) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        return kbuf.Kdev.Type switch
        {
            KvmfrType.Static => kbuf.Kdev.Module.RemapVmallocRange(vma, kbuf.Kdev.Addr + kbuf.Offset, vma.PgOff),
            _ => -(int)Errno.EINVAL,
        };
    }

    /// <summary>
    /// <c>device_mmap</c>: the device of the minor (<c>-EINVAL</c>), offset + length within the device
    /// (<c>-EINVAL</c>), the "mmap kvmfrN: start-end with size S offset O" line, then <c>remap_vmalloc_range</c>.
    /// </summary>
    [Kernel("device_mmap", "module/kvmfr.c")]
    public int Mmap(KernelFile file, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(vma);
        var kdev = _idr.Find((int)file.Inode.Minor);
        if (kdev is null)
        {
            return -(int)Errno.EINVAL;
        }
        ulong size = vma.End - vma.Start;
        ulong offset = unchecked(vma.PgOff << Align.PAGE_SHIFT);
        ulong end = unchecked(offset + size);
        if (end > kdev.Size || end < offset)
        {
            return -(int)Errno.EINVAL;
        }
        _printk.Info($"mmap kvmfr{kdev.Minor}: {vma.Start:x}-{vma.End:x} with size {size} offset {offset}\n");
        return kdev.Type switch
        {
            KvmfrType.Static => RemapVmallocRange(vma, kdev.Addr, vma.PgOff),
            _ => -(int)Errno.ENODEV,
        };
    }

    /// <summary>
    /// <c>remap_vmalloc_range(vma, addr, pgoff)</c> (mm/vmalloc.c) on this machine's vmalloc: the pages are
    /// inserted one by one (<c>vm_insert_page</c>, which marks the vma VM_MIXEDMAP); on success the vma gets
    /// VM_DONTEXPAND | VM_DONTDUMP.
    /// </summary>
    [Kernel("remap_vmalloc_range", "mm/vmalloc.c")]
    private int RemapVmallocRange(Vma vma, ulong addr, ulong pgoff)
    {
        var ptes = new InsertedPages(vma);
        int ret = _vmalloc.RemapVmallocRange(vma.Start, vma.End, addr, pgoff, ptes.VmInsertPage);
        if (ret != 0)
        {
            return ret;
        }
        vma.Ops = ptes;
        vma.Flags |= Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        return 0;
    }

    // The ptes vm_insert_page installed, by file page (vm_pgoff + page index at insertion).
    private sealed class InsertedPages(Vma vma) : IVmOperations
    {
        private readonly ulong _basePgoff = vma.PgOff;
        private readonly ulong[] _pfns = new ulong[vma.Pages];

        [Kernel("vm_insert_page", "mm/memory.c")]
        public int VmInsertPage(ulong uaddr, ulong pfn)
        {
            vma.Flags |= Vma.VM_MIXEDMAP;
            _pfns[(uaddr - vma.Start) >> Align.PAGE_SHIFT] = pfn;
            return 0;
        }

        public long Fault(Vma v, ulong pgoff)
        {
            ulong k = pgoff - _basePgoff;
            return pgoff >= _basePgoff && k < (ulong)_pfns.Length ? (long)_pfns[k] : -(long)Errno.EFAULT;
        }
    }
}
