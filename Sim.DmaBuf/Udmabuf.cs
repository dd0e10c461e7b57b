// Models drivers/dma-buf/udmabuf.c (Linux 6.1; 6.12.118 reworked it onto folios with the same uAPI checks): the misc
// device /dev/udmabuf (machine option udmabuf; module parameters size_limit_mb and list_limit), UDMABUF_CREATE and
// UDMABUF_CREATE_LIST turning ranges of sealed memfds into a dma-buf whose pages are the memfd's own pages, and
// udmabuf_ops. Debian's 6.1 amd64 does not build it: modelled from the upstream source. Hugetlb memfds (2 MiB
// pages): 6.1 takes subpages of huge pages already in the page cache (find_get_page, else -EINVAL); 6.12's
// memfd_pin_folios allocates a missing one from the pool (memfd_alloc_folio). Two upstream fixes 6.1.192 lacks are per profile (see
// docs/kernel-versions.md, "Known kernel bugs in 6.1.192"): the page array's kmalloc limit (1c0844c6184e) and the
// VM_PFNMAP | VM_DONTEXPAND mapping (7d79cd784470).
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs.Uapi;

namespace Sim.DmaBufs;

/// <summary><c>struct udmabuf</c>: the buffer's pages (each pinned in its memfd), the CPU-access table and the device.</summary>
[Kernel("struct udmabuf", "drivers/dma-buf/udmabuf.c")]
public sealed class UdmabufBuf
{
    /// <summary><c>pagecount</c>.</summary>
    public ulong PageCount { get; init; }

    /// <summary><c>pages</c>: the frames, in buffer order.</summary>
    public required ulong[] Pages { get; init; }

    /// <summary>The memfd inodes whose pages are held (one pin per item) and how many pages of each.</summary>
    internal List<(MemfdInode File, long Pages)> Pinned { get; } = [];

    /// <summary><c>sg</c>: the table of begin_cpu_access (null until then).</summary>
    public SgTable? Sg { get; set; }

    /// <summary><c>sg_dir</c>.</summary>
    public DmaDataDirection SgDir { get; set; }

    /// <summary><c>device</c>.</summary>
    public required Udmabuf Device { get; init; }
}

/// <summary>
/// The udmabuf misc device: <c>/dev/udmabuf</c> (major 10, the first dynamic misc minor), its ioctls, and the
/// exporter <c>udmabuf_ops</c>.
/// </summary>
[Kernel("udmabuf_misc", "drivers/dma-buf/udmabuf.c")]
public sealed class Udmabuf : IFileOperations
{
    /// <summary>MISC_MAJOR.</summary>
    public const uint MISC_MAJOR = 10;
    /// <summary>The first dynamic misc minor (DYNAMIC_MINORS - 1 = 127 on 6.1's misc.c).</summary>
    public const uint Minor = 127;
    /// <summary>
    /// The minor on 6.12, measured on Debian's 6.12.118 under QEMU pc: <c>/dev/udmabuf</c> is 10, 258
    /// (<c>/sys/class/misc/udmabuf/dev</c> reads 10:258); 6.12's drivers/char/misc.c is not in the unpacked source.
    /// </summary>
    public const uint Minor612 = 258;
    /// <summary>The device node.</summary>
    public const string DevPath = "/dev/udmabuf";
    private const uint SEALS_WANTED = Memfd.F_SEAL_SHRINK;
    private const uint SEALS_DENIED = Memfd.F_SEAL_WRITE | Memfd.F_SEAL_FUTURE_WRITE;

    private static readonly FaultSite s_kzallocUbuf = FaultSite.Register("udmabuf_create:kzalloc");
    private static readonly FaultSite s_kmallocPages = FaultSite.Register("udmabuf_create:kmalloc_array");
    private static readonly FaultSite s_memdupList = FaultSite.Register("udmabuf_ioctl_create_list:memdup_user");
    private static readonly FaultSite s_kzallocSg = FaultSite.Register("get_sg_table:kzalloc");

    /// <summary><c>udmabuf_ops</c>: cached sg mapping, map/unmap, release, mmap, begin/end_cpu_access.</summary>
    [Kernel("udmabuf_ops", "drivers/dma-buf/udmabuf.c")]
    public static readonly DmaBufOps UdmabufOps = new()
    {
        CacheSgtMapping = true,
        MapDmaBuf = MapUdmabuf,
        UnmapDmaBuf = UnmapUdmabuf,
        Release = ReleaseUdmabuf,
        Mmap = MmapUdmabuf,
        BeginCpuAccess = BeginCpuUdmabuf,
        EndCpuAccess = EndCpuUdmabuf,
    };

    private readonly DmaBufList _dbList;
    private readonly DmaMapping _dma;
    private readonly MachineOptions _options;
    private readonly Bug? _bug;
    private bool _largeKmallocWarned;

    /// <summary><c>udmabuf_dev_init</c>: <c>misc_register</c> and the device's 64-bit DMA mask, when the machine has the option.</summary>
    public Udmabuf(Sim.Core.Boot.MachineOptions options, Vfs vfs, DmaBufList dbList, DmaMapping dma, Sim.Core.Base.DeviceCore? devices = null, Bug? bug = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(vfs);
        _dbList = dbList;
        _dma = dma;
        _bug = bug;
        bool is612 = options.Kernel >= Sim.Core.Boot.KernelVersion.V6_12;
        _options = new MachineOptions(options.UdmabufSizeLimitMb, options.UdmabufListLimit, PointerSize: options.Is32Bit ? 4UL : 8UL,
            KvmallocArrays: is612, PfnMap: is612);
        _pinFolios = is612;
        ThisDevice = new Device("udmabuf") { DmaMask = ulong.MaxValue, CoherentDmaMask = ulong.MaxValue };
        if (options.Udmabuf)
        {
            uint minor = is612 ? Minor612 : Minor;
            vfs.CharDevices.RegisterChrdev((int)MISC_MAJOR, "misc", this, (int)minor, 1);
            vfs.Mknod(DevPath, 0x180, MISC_MAJOR, minor);
            // misc_register -> device_create(&misc_class, NULL, MKDEV(MISC_MAJOR, minor), .., "udmabuf").
            devices?.DeviceAdd(new Sim.Core.Base.SysDevice { Name = "udmabuf", Class = "misc", Devt = (MISC_MAJOR, minor) });
        }
    }

    /// <summary>
    /// The module parameters, <c>sizeof(struct page *)</c>, and the two per-profile fixes: <c>kvmalloc_array</c> for
    /// the page array (6.12; 6.1 uses <c>kmalloc_array</c>) and the VM_PFNMAP mapping (6.12).
    /// </summary>
    private sealed record MachineOptions(int SizeLimitMb, int ListLimit, ulong PointerSize, bool KvmallocArrays, bool PfnMap);

    /// <summary>
    /// <c>KMALLOC_MAX_SIZE</c> (include/linux/slab.h): <c>1 &lt;&lt; (MAX_ORDER + PAGE_SHIFT - 1)</c>, 4 MiB. A larger
    /// kmalloc goes to <c>kmalloc_large</c> with an order of at least MAX_ORDER, which <c>__alloc_pages</c> refuses.
    /// </summary>
    public const ulong KMALLOC_MAX_SIZE = 1UL << (PageAlloc.MAX_ORDER + Align.PAGE_SHIFT - 1);

    // 6.12 pins each item's folios with memfd_pin_folios (udmabuf_pin_folios), which refuses an empty range
    // (end = start - 1 < start: -EINVAL); 6.1 reads the item's pages one by one, so an empty item adds nothing.
    private readonly bool _pinFolios;

    /// <summary><c>udmabuf_misc.this_device</c> (DMA_BIT_MASK(64)).</summary>
    public Device ThisDevice { get; }

    /// <summary><c>size_limit_mb</c>.</summary>
    public int SizeLimitMb => _options.SizeLimitMb;

    /// <summary><c>list_limit</c>.</summary>
    public int ListLimit => _options.ListLimit;

    /// <summary><c>udmabuf_ioctl</c>: CREATE, CREATE_LIST, else <c>-ENOTTY</c>.</summary>
    [Kernel("udmabuf_ioctl", "drivers/dma-buf/udmabuf.c")]
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Process current)
    {
        ArgumentNullException.ThrowIfNull(arg);
        ArgumentNullException.ThrowIfNull(current);
        return cmd switch
        {
            UdmabufUapi.UDMABUF_CREATE => IoctlCreate(arg, current),
            UdmabufUapi.UDMABUF_CREATE_LIST => IoctlCreateList(arg, current),
            _ => -(long)Errno.ENOTTY,
        };
    }

    /// <summary><c>udmabuf_ioctl_create</c>: copy_from_user (<c>-EFAULT</c>), then a list of one item.</summary>
    [Kernel("udmabuf_ioctl_create", "drivers/dma-buf/udmabuf.c")]
    private long IoctlCreate(UserArg arg, Process current)
    {
        Span<byte> b = stackalloc byte[udmabuf_create.Size];
        if (arg.CopyFromUser(b) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        uint memfd = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b);
        uint flags = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(b[4..]);
        ulong offset = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b[8..]);
        ulong size = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(b[16..]);
        return Create(flags, [new udmabuf_create_item { memfd = memfd, offset = offset, size = size }], current);
    }

    /// <summary>
    /// <c>udmabuf_ioctl_create_list</c>: copy_from_user of the head (<c>-EFAULT</c>), count above list_limit
    /// (<c>-EINVAL</c>), memdup_user of the items (<c>-EFAULT</c>, <c>-ENOMEM</c>), then the create.
    /// </summary>
    [Kernel("udmabuf_ioctl_create_list", "drivers/dma-buf/udmabuf.c")]
    private long IoctlCreateList(UserArg arg, Process current)
    {
        Span<byte> head = stackalloc byte[8];
        if (arg.CopyFromUser(head) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        uint flags = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head);
        uint count = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head[4..]);
        if (count > unchecked((uint)ListLimit))
        {
            return -(long)Errno.EINVAL;
        }
        uint lsize = unchecked((uint)udmabuf_create_item.Size * count);
        // memdup_user: kmalloc_track_caller (ZERO_SIZE_PTR for 0) then copy_from_user.
        if (lsize > 0 && s_memdupList.ShouldFail())
        {
            return -(long)Errno.ENOMEM;
        }
        // memdup_user(arg + sizeof(head), lsize): the items follow the head in user memory (a caller that gave the
        // whole struct as the argument's buffer, or the process's memory under run)
        var raw = new byte[8 + lsize];
        if (arg.CopyFromUser(raw) != 0 && arg.CopyFromUserAt(arg.Value + 8, raw.AsSpan(8)) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        var list = new udmabuf_create_item[count];
        for (int i = 0; i < list.Length; i++)
        {
            list[i] = udmabuf_create_item.Read(raw.AsSpan(8 + i * udmabuf_create_item.Size));
        }
        return Create(flags, list, current);
    }

    /// <summary>
    /// <c>udmabuf_create</c>, checks in Linux's order: the ubuf (<c>-ENOMEM</c>); every item's offset and size page
    /// aligned and the running page count within size_limit_mb (<c>-EINVAL</c>); a non-empty buffer (<c>-EINVAL</c>);
    /// the pages array (<c>-ENOMEM</c>); then per item: a fd (<c>-EBADFD</c>) of a shmem file (<c>-EBADFD</c>) with
    /// seals (<c>-EBADFD</c> when F_GET_SEALS says -EINVAL), F_SEAL_SHRINK set and neither F_SEAL_WRITE nor
    /// F_SEAL_FUTURE_WRITE (<c>-EINVAL</c>), each page from the memfd's page cache (<c>shmem_read_mapping_page</c>:
    /// past the end <c>-EINVAL</c>, <c>-ENOMEM</c>); then <c>dma_buf_export</c> (O_RDWR, <c>udmabuf_ops</c>) and
    /// <c>dma_buf_fd</c> (O_CLOEXEC with UDMABUF_FLAGS_CLOEXEC; a failing fd puts the buffer). Errors after pages were
    /// taken give them back.
    /// </summary>
    [Kernel("udmabuf_create", "drivers/dma-buf/udmabuf.c")]
    public long Create(uint flags, udmabuf_create_item[] list, Process current)
    {
        ArgumentNullException.ThrowIfNull(list);
        ArgumentNullException.ThrowIfNull(current);
        if (s_kzallocUbuf.ShouldFail())
        {
            return -(long)Errno.ENOMEM;
        }
        ulong pglimit = ((ulong)(long)SizeLimitMb * 1024 * 1024) >> Align.PAGE_SHIFT;
        ulong pagecount = 0;
        foreach (var item in list)
        {
            if ((item.offset & (Align.PAGE_SIZE - 1)) != 0 || (item.size & (Align.PAGE_SIZE - 1)) != 0)
            {
                return -(long)Errno.EINVAL;
            }
            pagecount += item.size >> Align.PAGE_SHIFT;
            if (pagecount > pglimit)
            {
                return -(long)Errno.EINVAL;
            }
        }
        if (pagecount == 0)
        {
            return -(long)Errno.EINVAL;
        }
        if (!_options.KvmallocArrays && pagecount * _options.PointerSize > KMALLOC_MAX_SIZE)
        {
            // 6.1's kmalloc_array(pagecount, sizeof(struct page *)): above KMALLOC_MAX_SIZE (more than 2 GiB of
            // pages on x86_64) kmalloc_large asks __alloc_pages for order >= MAX_ORDER, which is
            // WARN_ON_ONCE_GFP(order >= MAX_ORDER) and NULL: -ENOMEM, with the WARN once per boot. 6.12 allocates
            // the arrays with kvmalloc_array/kvcalloc, which fall back to vmalloc (upstream 1c0844c6184e).
            WarnLargeKmalloc();
            return -(long)Errno.ENOMEM;
        }
        if (s_kmallocPages.ShouldFail())
        {
            return -(long)Errno.ENOMEM;
        }
        var pages = new ulong[pagecount];
        var pinned = new List<(MemfdInode File, long Pages)>();
        int pgbuf = 0;
        long ret;
        foreach (var item in list)
        {
            ret = -(long)Errno.EBADFD;
            var memfd = current.Fget((int)item.memfd);
            if (memfd is null)
            {
                goto err;
            }
            var shm = Memfd.ShmemMapping(memfd);
            var huge = Hugetlb.FileHugepages(memfd);
            if (shm is null && huge is null)
            {
                goto err;
            }
            int seals = Memfd.GetSeals(memfd);
            if (seals == -(int)Errno.EINVAL)
            {
                goto err;
            }
            ret = -(long)Errno.EINVAL;
            if (((uint)seals & SEALS_WANTED) != SEALS_WANTED || ((uint)seals & SEALS_DENIED) != 0)
            {
                goto err;
            }
            ulong pgoff = item.offset >> Align.PAGE_SHIFT;
            ulong pgcnt = item.size >> Align.PAGE_SHIFT;
            if (_pinFolios && pgcnt == 0)
            {
                goto err; // memfd_pin_folios(memfd, start, start - 1, ..): -EINVAL
            }
            MemfdInode inode = (MemfdInode?)shm ?? huge!;
            inode.PinPages();
            pinned.Add((inode, 0));
            if (huge is not null && _pinFolios && item.offset + item.size - 1 >= huge.Size)
            {
                goto err; // memfd_pin_folios: end >= i_size_read -> -EINVAL
            }
            for (ulong pgidx = 0; pgidx < pgcnt; pgidx++)
            {
                ulong index = pgoff + pgidx;
                int err;
                ulong pfn;
                if (huge is null)
                {
                    err = shm!.ReadMappingPage(index, out pfn);
                }
                else
                {
                    ulong hidx = index >> Hugetlb.Order;
                    ulong hpfn;
                    // 6.12: memfd_pin_folios -> memfd_alloc_folio for a huge page not in the cache;
                    // 6.1: find_get_page_flags(mapping, pgoff, FGP_ACCESSED), NULL -> -EINVAL
                    err = _pinFolios ? huge.AllocForPin(hidx, out hpfn)
                        : huge.TryFindHugePage(hidx, out hpfn) ? 0 : -(int)Errno.EINVAL;
                    pfn = hpfn + (index & (Hugetlb.PagesPerHugePage - 1));
                }
                if (err != 0)
                {
                    ret = err;
                    goto err;
                }
                pages[pgbuf++] = pfn;
                inode.AddPageRefs(1);
                pinned[^1] = (inode, pinned[^1].Pages + 1);
            }
        }
        {
            var ubuf = new UdmabufBuf { PageCount = pagecount, Pages = pages, Device = this };
            ubuf.Pinned.AddRange(pinned);
            var (buf, exportErr) = DmaBuf.Export(_dbList, new DmaBufExportInfo
            {
                ExpName = "udmabuf",
                Ops = UdmabufOps,
                Size = pagecount << Align.PAGE_SHIFT,
                Priv = ubuf,
                Flags = OpenFlags.O_RDWR,
            });
            if (buf is null)
            {
                ret = exportErr;
                goto err;
            }
            uint fdFlags = (flags & UdmabufUapi.UDMABUF_FLAGS_CLOEXEC) != 0 ? OpenFlags.O_CLOEXEC : 0;
            int fd = buf.Fd(current, fdFlags);
            if (fd < 0)
            {
                buf.Put();
            }
            return fd;
        }

    err:
        foreach (var (file, held) in pinned)
        {
            file.UnpinPages(held);
        }
        return ret;
    }

    /// <summary>
    /// <c>WARN_ON_ONCE_GFP(order >= MAX_ORDER, gfp)</c> at mm/page_alloc.c:5634 (<c>__alloc_pages</c>, 6.1.192): the
    /// report and taint once per boot (GFP_KERNEL has no __GFP_NOWARN). Only udmabuf reaches that site in the model.
    /// </summary>
    private void WarnLargeKmalloc()
    {
        if (_bug is not null)
        {
            _bug.WarnOnOnce(true, "mm/page_alloc.c", 5634, "__alloc_pages");
            return;
        }
        if (!_largeKmallocWarned)
        {
            _largeKmallocWarned = true;
            _dbList.Warnings.On(true, "WARN_ON_ONCE_GFP(order >= MAX_ORDER) in __alloc_pages", "__alloc_pages");
        }
    }

    /// <summary>
    /// <c>get_sg_table(dev, buf, direction)</c>: a table from the buffer's pages (<c>sg_alloc_table_from_pages</c>,
    /// contiguous frames coalesced) mapped with <c>dma_map_sgtable(..., DMA_ATTR_SKIP_CPU_SYNC)</c>.
    /// </summary>
    [Kernel("get_sg_table", "drivers/dma-buf/udmabuf.c")]
    private static (SgTable? Sg, int Err) GetSgTable(Device dev, DmaBuf buf, DmaDataDirection direction)
    {
        var ubuf = (UdmabufBuf)buf.Priv;
        if (s_kzallocSg.ShouldFail())
        {
            return (null, -(int)Errno.ENOMEM);
        }
        var sg = new SgTable();
        int ret = SgTable.AllocFromPages(sg, ubuf.Pages, (uint)ubuf.PageCount, 0, ubuf.PageCount << Align.PAGE_SHIFT);
        if (ret < 0)
        {
            return (null, ret);
        }
        ret = ubuf.Device._dma.MapSgtable(dev, sg, direction, DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
        if (ret < 0)
        {
            sg.Free();
            return (null, ret);
        }
        return (sg, 0);
    }

    [Kernel("put_sg_table", "drivers/dma-buf/udmabuf.c")]
    private static void PutSgTable(Device dev, SgTable sg, DmaDataDirection direction)
    {
        DmaMapping.UnmapSgtable(dev, sg, direction, DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
        sg.Free();
    }

    /// <summary><c>map_udmabuf</c>: a new table for the importer's device.</summary>
    [Kernel("map_udmabuf", "drivers/dma-buf/udmabuf.c")]
    public static (SgTable? Sgt, int Err) MapUdmabuf(DmaBufAttachment at, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(at);
        return GetSgTable(at.Dev, at.DmaBuf!, direction);
    }

    /// <summary><c>unmap_udmabuf</c>.</summary>
    [Kernel("unmap_udmabuf", "drivers/dma-buf/udmabuf.c")]
    public static void UnmapUdmabuf(DmaBufAttachment at, SgTable sg, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(at);
        PutSgTable(at.Dev, sg, direction);
    }

    /// <summary><c>release_udmabuf</c>: the CPU-access table, then every page reference.</summary>
    [Kernel("release_udmabuf", "drivers/dma-buf/udmabuf.c")]
    public static void ReleaseUdmabuf(DmaBuf buf)
    {
        ArgumentNullException.ThrowIfNull(buf);
        var ubuf = (UdmabufBuf)buf.Priv;
        if (ubuf.Sg is not null)
        {
            PutSgTable(ubuf.Device.ThisDevice, ubuf.Sg, ubuf.SgDir);
        }
        foreach (var (file, held) in ubuf.Pinned)
        {
            file.UnpinPages(held);
        }
    }

    /// <summary>
    /// <c>mmap_udmabuf</c>: shared mappings only (<c>-EINVAL</c>); faults give the buffer's pages (SIGBUS past the
    /// end). 6.12 also sets VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP and inserts pfns (upstream 7d79cd784470), so such
    /// a mapping cannot grow with mremap; 6.1's (<c>vmf->page</c>) can.
    /// </summary>
    [Kernel("mmap_udmabuf", "drivers/dma-buf/udmabuf.c")]
    public static int MmapUdmabuf(DmaBuf buf, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(buf);
        ArgumentNullException.ThrowIfNull(vma);
        if ((vma.Flags & (Vma.VM_SHARED | Vma.VM_MAYSHARE)) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        var ubuf = (UdmabufBuf)buf.Priv;
        vma.Ops = new UdmabufVmOps(ubuf);
        if (ubuf.Device._options.PfnMap)
        {
            vma.Flags |= Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP; // vm_flags_set
        }
        return 0;
    }

    /// <summary><c>begin_cpu_udmabuf</c>: the device's own table made on first use (its error returned), then synced for the CPU.</summary>
    [Kernel("begin_cpu_udmabuf", "drivers/dma-buf/udmabuf.c")]
    public static int BeginCpuUdmabuf(DmaBuf buf, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(buf);
        var ubuf = (UdmabufBuf)buf.Priv;
        if (ubuf.Sg is null)
        {
            var (sg, err) = GetSgTable(ubuf.Device.ThisDevice, buf, direction);
            if (sg is null)
            {
                return err;
            }
            ubuf.Sg = sg;
            ubuf.SgDir = direction;
        }
        // dma_sync_sgtable_for_cpu: dma-direct on a coherent x86 machine, nothing to do.
        return 0;
    }

    /// <summary><c>end_cpu_udmabuf</c>: <c>-EINVAL</c> without a table, else synced for the device.</summary>
    [Kernel("end_cpu_udmabuf", "drivers/dma-buf/udmabuf.c")]
    public static int EndCpuUdmabuf(DmaBuf buf, DmaDataDirection direction)
    {
        ArgumentNullException.ThrowIfNull(buf);
        return ((UdmabufBuf)buf.Priv).Sg is null ? -(int)Errno.EINVAL : 0;
    }

    [Kernel("udmabuf_vm_ops", "drivers/dma-buf/udmabuf.c")]
    private sealed class UdmabufVmOps(UdmabufBuf ubuf) : IVmOperations
    {
        [Kernel("udmabuf_vm_fault", "drivers/dma-buf/udmabuf.c")]
        public long Fault(Vma vma, ulong pgoff) => pgoff >= ubuf.PageCount ? -(long)Errno.EFAULT : (long)ubuf.Pages[pgoff];
    }
}
