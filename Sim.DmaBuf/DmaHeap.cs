// Models drivers/dma-buf/dma-heap.c (Linux 6.1.192 and 6.12.118: the same checks; 6.1.192's backport installs the
// fd with dma_buf_fd_install, 6.12 with fd_install): the dma_heap char device class (a dynamic major at
// subsys_initcall, one minor per heap, nodes /dev/dma_heap/NAME), dma_heap_add, and DMA_HEAP_IOCTL_ALLOC.
using System.Buffers.Binary;
using Sim.Core;
using Sim.Core.Base;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Sim.DmaBufs.Uapi;

namespace Sim.DmaBufs;

/// <summary><c>struct dma_heap</c>: one heap (its name, ops, driver data and char device numbers).</summary>
[Kernel("struct dma_heap", "drivers/dma-buf/dma-heap.c")]
public sealed class DmaHeap
{
    internal DmaHeap(string name, DmaHeapOps ops, object? priv)
    {
        Name = name;
        Ops = ops;
        Priv = priv;
    }

    /// <summary><c>name</c> (<c>dma_heap_get_name</c>).</summary>
    [Kernel("dma_heap_get_name", "drivers/dma-buf/dma-heap.c")]
    public string Name { get; }

    /// <summary><c>ops</c>.</summary>
    public DmaHeapOps Ops { get; }

    /// <summary><c>priv</c> (<c>dma_heap_get_drvdata</c>).</summary>
    [Kernel("dma_heap_get_drvdata", "drivers/dma-buf/dma-heap.c")]
    public object? Priv { get; }

    /// <summary><c>MAJOR(heap_devt)</c>.</summary>
    public uint Major { get; internal set; }

    /// <summary><c>MINOR(heap_devt)</c>.</summary>
    public uint Minor { get; internal set; }

    /// <summary>The device node (<c>/dev/dma_heap/NAME</c>).</summary>
    public string DevPath => DmaHeapUapi.DevDir + "/" + Name;

    /// <inheritdoc/>
    public override string ToString() => $"dma_heap {Name} ({Major}:{Minor})";
}

/// <summary>
/// The DMA-BUF heaps framework of a machine: <c>dma_heap_init</c> (when the machine has CONFIG_DMABUF_HEAPS:
/// <see cref="MachineOptions.DmaHeapEnabled"/>), <c>heap_list</c>, <c>dma_heap_minors</c>, and
/// <c>dma_heap_fops</c> (open and the ioctl) shared by every heap's cdev.
/// </summary>
[Kernel("dma_heap_fops", "drivers/dma-buf/dma-heap.c")]
public sealed class DmaHeapCore : IFileOperations
{
    /// <summary>DEVNAME.</summary>
    public const string DEVNAME = "dma_heap";
    /// <summary>NUM_HEAP_MINORS.</summary>
    public const int NUM_HEAP_MINORS = 128;

    // _IOC_* of include/uapi/asm-generic/ioctl.h.
    private const uint IOC_IN = 1u << 30;
    private const uint IOC_OUT = 2u << 30;
    private const int StackKdata = 128;

    private static readonly uint[] s_ioctlCmds = [DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC];
    private static readonly FaultSite s_kmallocKdata = FaultSite.Register("dma_heap_ioctl:kmalloc");

    private readonly List<DmaHeap> _heapList = [];
    private readonly DmaHeap?[] _minors = new DmaHeap?[NUM_HEAP_MINORS];
    private readonly CharDevices _chrdevs;
    private readonly Devtmpfs _devtmpfs;
    private readonly Printk _printk;
    private readonly bool _is32Bit;

    /// <summary><c>dma_heap_init</c> (subsys_initcall): the dynamic major with 128 minors and the class, when configured.</summary>
    [Kernel("dma_heap_init", "drivers/dma-buf/dma-heap.c")]
    public DmaHeapCore(MachineOptions options, Vfs vfs, Devtmpfs devtmpfs, Printk printk)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(vfs);
        _chrdevs = vfs.CharDevices;
        _devtmpfs = devtmpfs;
        _printk = printk;
        _is32Bit = options.Is32Bit;
        Kernel = options.Kernel;
        if (!options.DmaHeapEnabled)
        {
            return;
        }
        int major = _chrdevs.AllocChrdevRegion(0, NUM_HEAP_MINORS, DEVNAME);
        if (major < 0)
        {
            return;
        }
        if (_devtmpfs.ClassCreate(DEVNAME) != 0)
        {
            _chrdevs.UnregisterChrdevRegion(major, 0, NUM_HEAP_MINORS);
            return;
        }
        Major = (uint)major;
        Initialised = true;
    }

    /// <summary>The kernel profile (6.1 and 6.12 differ only in how the fd is installed).</summary>
    public KernelVersion Kernel { get; }

    /// <summary>True once <c>dma_heap_init</c> ran (the machine has CONFIG_DMABUF_HEAPS).</summary>
    public bool Initialised { get; }

    /// <summary><c>MAJOR(dma_heap_devt)</c>.</summary>
    public uint Major { get; }

    /// <summary><c>heap_list</c>, newest first (<c>list_add</c>).</summary>
    public IReadOnlyList<DmaHeap> Heaps => _heapList;

    /// <summary>The heap called <paramref name="name"/>, or null.</summary>
    public DmaHeap? Find(string name) => _heapList.Find(h => h.Name == name);

    /// <summary>
    /// <c>dma_heap_add(exp_info)</c>: a name (<c>-EINVAL</c>), ops with <c>allocate</c> (<c>-EINVAL</c>), the heap
    /// (<c>-ENOMEM</c>), the lowest free minor of 128 (<c>-EBUSY</c>), its cdev and device node
    /// <c>/dev/dma_heap/NAME</c>, then the unique-name check (<c>-EINVAL</c>, undoing in reverse).
    /// </summary>
    [Kernel("dma_heap_add", "drivers/dma-buf/dma-heap.c")]
    public (DmaHeap? Heap, int Err) Add(DmaHeapExportInfo expInfo)
    {
        ArgumentNullException.ThrowIfNull(expInfo);
        if (string.IsNullOrEmpty(expInfo.Name))
        {
            _printk.Err("dma_heap: Cannot add heap without a name\n");
            return (null, -(int)Errno.EINVAL);
        }
        if (expInfo.Ops?.Allocate is null)
        {
            _printk.Err("dma_heap: Cannot add heap with invalid ops struct\n");
            return (null, -(int)Errno.EINVAL);
        }
        if (!Initialised)
        {
            // Without dma_heap_init the class is NULL: device_create fails (-ENODEV in the kernel).
            return (null, -(int)Errno.ENODEV);
        }
        // kzalloc of the heap: a boot-time allocation (module_init), not a fault site of the sweep.
        var heap = new DmaHeap(expInfo.Name, expInfo.Ops, expInfo.Priv);
        int err;
        // xa_alloc(&dma_heap_minors, &minor, heap, XA_LIMIT(0, NUM_HEAP_MINORS - 1)): lowest free, -EBUSY when full.
        int minor = Array.IndexOf(_minors, null);
        if (minor < 0)
        {
            _printk.Err("dma_heap: Unable to get minor number for heap\n");
            return (null, -(int)Errno.EBUSY);
        }
        _minors[minor] = heap;
        heap.Major = Major;
        heap.Minor = (uint)minor;
        err = _chrdevs.CdevAdd((int)Major, minor, 1, this);
        if (err < 0)
        {
            _printk.Err("dma_heap: Unable to add char device\n");
            goto err1;
        }
        // device_create(dma_heap_class, NULL, heap_devt, NULL, heap->name) with dma_heap_devnode: "dma_heap/%s".
        err = _devtmpfs.DeviceCreate(DEVNAME, heap.Name, Major, (uint)minor, DEVNAME + "/" + heap.Name);
        if (err < 0)
        {
            _printk.Err("dma_heap: Unable to create device\n");
            goto err2;
        }
        if (_heapList.Exists(h => h.Name == heap.Name))
        {
            _printk.Err($"dma_heap: Already registered heap named {heap.Name}\n");
            err = -(int)Errno.EINVAL;
            goto err3;
        }
        _heapList.Insert(0, heap);
        return (heap, 0);

    err3:
        _devtmpfs.DeviceDestroy(DEVNAME, Major, (uint)minor);
    err2:
        _chrdevs.CdevDel((int)Major, minor);
    err1:
        _minors[minor] = null;
        return (null, err);
    }

    /// <summary><c>dma_heap_open</c>: the heap of the node's minor (<c>-ENODEV</c> for none), made non-seekable.</summary>
    [Kernel("dma_heap_open", "drivers/dma-buf/dma-heap.c")]
    public int Open(Inode inode, KernelFile file)
    {
        ArgumentNullException.ThrowIfNull(inode);
        ArgumentNullException.ThrowIfNull(file);
        var heap = inode.Minor < NUM_HEAP_MINORS ? _minors[inode.Minor] : null;
        if (heap is null)
        {
            _printk.Err($"dma_heap: minor {inode.Minor} unknown.\n");
            return -(int)Errno.ENODEV;
        }
        file.PrivateData = heap;
        file.Mode &= ~KernelFile.FMODE_LSEEK; // nonseekable_open
        return 0;
    }

    /// <inheritdoc/>
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg) => -(long)Errno.ENOTTY;

    /// <summary>
    /// <c>dma_heap_ioctl(file, ucmd, arg)</c>: <c>_IOC_NR(ucmd)</c> past the table is <c>-EINVAL</c> (so an unknown
    /// ioctl number is <c>-EINVAL</c>, and any command with nr 0 is taken as DMA_HEAP_IOCTL_ALLOC with the
    /// user's size and direction); the argument buffer is the larger of the user's and the kernel's size (kmalloc
    /// above 128 bytes: <c>-ENOMEM</c>); <c>copy_from_user</c> of the user's size only when both commands have
    /// IOC_IN (<c>-EFAULT</c>), the rest zeroed; the allocation; <c>copy_to_user</c> of the user's size when both have
    /// IOC_OUT (<c>-EFAULT</c>: the reserved fd and the buffer are given back), then the fd is installed.
    /// </summary>
    [Kernel("dma_heap_ioctl", "drivers/dma-buf/dma-heap.c")]
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Process current)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(arg);
        ArgumentNullException.ThrowIfNull(current);
        uint nr = cmd & 0xff;
        if (nr >= (uint)s_ioctlCmds.Length)
        {
            return -(long)Errno.EINVAL;
        }
        uint kcmd = s_ioctlCmds[nr];
        uint drvSize = (kcmd >> 16) & 0x3fff;
        uint outSize = (cmd >> 16) & 0x3fff;
        uint inSize = outSize;
        if ((cmd & kcmd & IOC_IN) == 0)
        {
            inSize = 0;
        }
        if ((cmd & kcmd & IOC_OUT) == 0)
        {
            outSize = 0;
        }
        uint ksize = Math.Max(Math.Max(inSize, outSize), drvSize);
        if (ksize > StackKdata && s_kmallocKdata.ShouldFail())
        {
            return -(long)Errno.ENOMEM;
        }
        var kdata = new byte[ksize];
        if (inSize > 0 && arg.CopyFromUser(kdata.AsSpan(0, (int)inSize)) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        // kcmd is DMA_HEAP_IOCTL_ALLOC: the switch's default (-ENOTTY) cannot be reached.
        var (dmabuf, err) = IoctlAllocate(file, kdata, current);
        if (dmabuf is null)
        {
            return err;
        }
        int fd = (int)BinaryPrimitives.ReadUInt32LittleEndian(kdata.AsSpan(8));
        if (outSize > 0 && arg.CopyToUser(kdata.AsSpan(0, (int)outSize)) != 0)
        {
            current.Files.PutUnusedFd(fd);
            dmabuf.Put();
            return -(long)Errno.EFAULT;
        }
        // 6.1.192: dma_buf_fd_install(dmabuf, fd); 6.12: fd_install(fd, dmabuf->file). The same publication.
        current.Files.FdInstall(fd, dmabuf.File);
        return 0;
    }

    /// <summary>
    /// <c>dma_heap_ioctl_allocate(file, data)</c>: <c>fd</c> not 0, <c>fd_flags</c> outside O_CLOEXEC|O_ACCMODE,
    /// <c>heap_flags</c> not 0, or <c>PAGE_ALIGN(len)</c> 0 (on a 32-bit kernel the aligned length is cut to
    /// <c>size_t</c>) are <c>-EINVAL</c>, in that order; then the heap's <c>allocate</c>, then
    /// <c>get_unused_fd_flags(fd_flags)</c> (its error puts the buffer) written into <c>fd</c>.
    /// </summary>
    [Kernel("dma_heap_ioctl_allocate", "drivers/dma-buf/dma-heap.c")]
    private (DmaBuf? DmaBuf, long Err) IoctlAllocate(KernelFile file, byte[] kdata, Process current)
    {
        var data = dma_heap_allocation_data.Read(kdata);
        var heap = (DmaHeap)file.PrivateData!;
        if (data.fd != 0)
        {
            return (null, -(long)Errno.EINVAL);
        }
        if ((data.fd_flags & ~DmaHeapUapi.DMA_HEAP_VALID_FD_FLAGS) != 0)
        {
            return (null, -(long)Errno.EINVAL);
        }
        if ((data.heap_flags & ~DmaHeapUapi.DMA_HEAP_VALID_HEAP_FLAGS) != 0)
        {
            return (null, -(long)Errno.EINVAL);
        }
        ulong len = unchecked(data.len + Align.PAGE_SIZE - 1) & ~(Align.PAGE_SIZE - 1);
        if (_is32Bit)
        {
            len &= uint.MaxValue; // size_t len = PAGE_ALIGN(u64)
        }
        if (len == 0)
        {
            return (null, -(long)Errno.EINVAL);
        }
        var (dmabuf, err) = heap.Ops.Allocate!(heap, len, data.fd_flags, data.heap_flags, current);
        if (dmabuf is null)
        {
            return (null, err);
        }
        int fd = current.Files.GetUnusedFdFlags((data.fd_flags & OpenFlags.O_CLOEXEC) != 0);
        if (fd < 0)
        {
            dmabuf.Put();
            return (null, fd);
        }
        BinaryPrimitives.WriteUInt32LittleEndian(kdata.AsSpan(8), (uint)fd);
        return (dmabuf, 0);
    }
}
