using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBuf;
using Sim.Drm;
using Sim.Drm.Uapi;
using Sim.Machine;
using Sim.RdmaUmem;
using static Sim.Teaching.MachineFigures;
using DmaBufT = Sim.DmaBuf.DmaBuf;

namespace Sim.Teaching;

/// <summary>
/// The guided tour of the design notes' path, run on a real simulated machine (the models of Sim.Core, Sim.DmaBuf,
/// Sim.Drm and Sim.RdmaUmem, composed like every other machine): boot, CREATE_DUMB down to <c>cma_alloc</c>, MAP_DUMB
/// and a CPU write, PRIME export, the importer test, an RDMA memory region over a window of the buffer, a fence
/// that holds map_pages back, and the teardown. <see cref="Run"/> yields one <see cref="TourStep"/> per step, as it
/// goes (a caller may pause between them).
/// </summary>
public sealed class Tour : IDisposable
{
    /// <summary>The dumb buffer of the notes: 640x480 at 32 bpp.</summary>
    public const uint Width = 640, Height = 480, Bpp = 32;

    /// <summary>The umem window: <c>ib_umem_dmabuf_get(ibdev, offset, size, fd, ...)</c> over the buffer.</summary>
    public const ulong UmemOffset = 0x1800, UmemLength = 0x100000;

    /// <summary>The bytes the notes' test program writes.</summary>
    public const string Hello = "Hello, world!";

    private const ulong UserStructAddr = 0x7ffe0000;
    private const int PageSize = 4096;

    private readonly ServiceProvider _machine;
    private readonly MachineOptions _options;
    private readonly KernelTrace _trace;
    private readonly LiveObjects _live;
    private readonly Cma? _cma;
    private readonly DmaBufList _dbList;
    private Process? _proc;
    private DrmDevice? _drm;
    private int _drmFd = -1;
    private uint _handle;
    private ulong _objSize;
    private ulong _mapAddr;
    private int _dmabufFd = -1;
    private DmaBufT? _importerRef;
    private Device? _importerDev;
    private IbUmemDmabuf? _umem;
    private DmaFence? _fence;
    private PageRun? _bufferRun;
    private bool _dmaHelper;
    private bool _exported;
    private int _liveAtBoot;
    private ulong _cmaUsedAtBoot;

    /// <summary>Boots a machine with <paramref name="options"/>.</summary>
    public Tour(MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _machine = Composition.BuildMachine(options);
        _trace = _machine.GetRequiredService<KernelTrace>();
        _live = _machine.GetRequiredService<LiveObjects>();
        _cma = _machine.GetService<DmaContiguous>()?.DefaultArea;
        _dbList = _machine.GetRequiredService<DmaBufList>();
        _ = _machine.GetRequiredService<DrmCore>();
    }

    /// <summary>The default machine: the vexpress board with its PL111 display and 16 MiB CMA area.</summary>
    public static MachineOptions DefaultMachine() => new MachineOptions().ApplyArmBoard();

    /// <summary>The machine (for tests).</summary>
    public IServiceProvider Machine => _machine;

    /// <summary>Runs the steps one by one.</summary>
    public IEnumerable<TourStep> Run()
    {
        Func<TourStep>[] steps = [Boot, CreateDumb, MapAndWrite, Export, Importer, Umem, Fence, Teardown];
        for (int k = 0; k < steps.Length; k++)
        {
            TourStep step;
            try
            {
                step = steps[k]();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A simulator bug, not a kernel result: the step says so and the tour goes on.
                step = new TourStep(k + 1, "(step failed inside the simulator)");
                step.Note($"simulator exception: {ex.GetType().Name}: {ex.Message}");
                step.Error = -(long)Errno.EFAULT;
                step.ErrorWhere = "simulator";
            }
            yield return step;
        }
    }

    // Runs `action` with the kernel trace recorded into the step.
    private T Traced<T>(TourStep step, Func<T> action)
    {
        using var rec = _trace.Record();
        try
        {
            return action();
        }
        finally
        {
            step.Trace.AddRange(rec.Drain());
        }
    }

    private static string Dec(ulong v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Dec(long v) => v.ToString(CultureInfo.InvariantCulture);

    private TourStep Blocked(TourStep step, string why)
    {
        step.Note("Not run: " + why + ".");
        return step;
    }

    // ---- 1. boot -------------------------------------------------------------------------------------------------

    private TourStep Boot()
    {
        var step = new TourStep(1, "Boot: the memory map and the CMA area");
        var mem = _machine.GetRequiredService<PhysicalMemory>();
        var swiotlb = _machine.GetService<Swiotlb>();
        step.Add("machine", _options.ToString());
        step.Add("RAM", $"{Hex(mem.Base)} .. {Hex(mem.Base + mem.Size - 1)} ({mem.Size >> 20} MiB)");
        step.Add("DMA path", _options.DmaPath switch
        {
            DmaPath.Iommu => "IOMMU (iommu-dma, DMA domain with lazy flush): devices see IOVAs",
            DmaPath.Swiotlb => "dma-direct with swiotlb=force: streaming mappings bounce",
            _ => "dma-direct: DMA address = physical address",
        });
        if (_cma is { } cma)
        {
            step.Via("dma_contiguous_reserve", "cma_declare_contiguous_nid", "cma_init_reserved_mem");
            step.Add("CMA area", $"\"{cma.Name}\" at {Hex(cma.GetBase())}: base_pfn {Hex(cma.BasePfn)}, {Dec(cma.Count)} pages ({cma.GetSize() >> 20} MiB), order_per_bit {cma.OrderPerBit}");
            step.Add("CMA taken at boot", $"{Dec(cma.UsedPages)} pages (bitmap bits 0..{cma.UsedPages - 1})");
            if (_options.CmaPagesUsedAtStart > 0)
            {
                step.Note($"The first {_options.CmaPagesUsedAtStart} pages of the area hold the ARM DMA atomic pool (atomic_pool_init takes 256 KiB from CMA at boot).");
            }
            step.Figures.Add(CmaStrip(cma, $"CMA area \"{cma.Name}\" after boot: {cma.UsedPages} of {cma.Count} pages used",
                new PageRun(0, cma.UsedPages, "atomic pool")));
        }
        else
        {
            step.Add("CMA area", "none (no cma= and no CMA in this kernel configuration)");
        }
        var core = _machine.GetRequiredService<DrmCore>();
        step.Via("drm_dev_register");
        foreach (var d in core.Devices)
        {
            step.Add("DRM device", $"{d.Driver.Name}: {d.Primary.Path}{(d.Render is null ? "" : ", " + d.Render.Path)}");
        }
        if (core.Devices.Count == 0)
        {
            step.Add("DRM device", "none bound (no driver model for " + string.Join(", ", _options.DrmDevices.Select(d => d.Driver)) + ")");
        }
        step.Figures.Add(MemoryMap(_options, mem, _cma, swiotlb, "Physical memory map"));
        _liveAtBoot = _live.Count();
        _cmaUsedAtBoot = _cma?.UsedPages ?? 0;
        return step;
    }

    // ---- 2. CREATE_DUMB ----------------------------------------------------------------------------------------

    private TourStep CreateDumb()
    {
        var step = new TourStep(2, "DRM_IOCTL_MODE_CREATE_DUMB: from the ioctl down to the allocator");
        var core = _machine.GetRequiredService<DrmCore>();
        if (core.Devices.Count == 0)
        {
            return Blocked(step, "the machine has no DRM device");
        }
        _drm = core.Devices[0];
        _proc = _machine.GetRequiredService<ProcessTable>().Spawn("tour");
        // stdin, stdout and stderr on the console, as a program started from a shell has them: the DRM node is fd 3.
        var vfs = _machine.GetRequiredService<Vfs>();
        if (vfs.Lookup("/dev/console") is null)
        {
            vfs.AddFile("/dev/console", NullFileOperations.Instance);
        }
        for (int k = 0; k < 3 && _proc.Openat("/dev/console", OpenFlags.O_RDWR) >= 0; k++)
        {
        }
        step.Via("do_sys_openat2", "drm_open_helper");
        _drmFd = _proc.Openat(_drm.Primary.Path, OpenFlags.O_RDWR | OpenFlags.O_CLOEXEC);
        if (_drmFd < 0)
        {
            return step.Fail("open " + _drm.Primary.Path, _drmFd);
        }
        step.Add("open", $"{_drm.Primary.Path} -> fd {_drmFd}");
        var create = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(create, Height);
        BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(4), Width);
        BinaryPrimitives.WriteUInt32LittleEndian(create.AsSpan(8), Bpp);
        step.Via("drm_ioctl", "drm_mode_create_dumb_ioctl", "drm_mode_create_dumb");
        // The driver's .dumb_create decides the path: the GEM DMA helper (pl111: CMA) or the shmem helper (vgem).
        var dumbCreate = _drm.Driver.DumbCreate;
        _dmaHelper = dumbCreate is not null && dumbCreate.Equals((Func<DrmFile, DrmDevice, Span<drm_mode_create_dumb>, int>)DrmGemDmaHelper.DumbCreate);
        bool shmem = dumbCreate is not null && dumbCreate.Equals((Func<DrmFile, DrmDevice, Span<drm_mode_create_dumb>, int>)DrmGemShmemHelper.DumbCreate);
        bool dma = _dmaHelper;
        if (dma)
        {
            step.Via("drm_gem_dma_dumb_create", "drm_gem_dma_create_with_handle", "drm_gem_dma_create", "__drm_gem_dma_create",
                "dma_alloc_wc", "__dma_alloc", "__alloc_from_contiguous", "dma_alloc_from_contiguous", "cma_alloc", "drm_gem_handle_create");
        }
        else if (shmem)
        {
            step.Via("drm_gem_shmem_dumb_create", "drm_gem_shmem_create_with_handle", "__drm_gem_shmem_create", "drm_gem_handle_create");
        }
        step.Add("request", $"struct drm_mode_create_dumb {{ width {Width}, height {Height}, bpp {Bpp}, flags 0 }}");
        long r = Traced(step, () => _proc.Ioctl(_drmFd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, new UserArg(UserStructAddr, create)));
        if (r != 0)
        {
            return step.Fail("DRM_IOCTL_MODE_CREATE_DUMB", r);
        }
        _handle = BinaryPrimitives.ReadUInt32LittleEndian(create.AsSpan(16));
        uint pitch = BinaryPrimitives.ReadUInt32LittleEndian(create.AsSpan(20));
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(create.AsSpan(24));
        step.Add("result", $"handle {_handle}, pitch {pitch} (= DIV_ROUND_UP(width * bpp, 8)), size {Size(size)}");
        var obj = GemObject();
        _objSize = obj?.Size ?? Align.PageAlign(size);
        step.Add("rounding", $"object size = round_up(size, PAGE_SIZE) = {Size(_objSize)}");
        foreach (var rec in step.Trace)
        {
            switch (rec.Op)
            {
                case "cma_alloc_start":
                    ulong count = rec.U64("count");
                    ulong align = rec.U64("align");
                    step.Add("cma_alloc request", $"count {Dec(count)} pages, align order {Dec(align)} = min(get_order({Hex(_objSize)}) = {Align.GetOrder(_objSize)}, CONFIG_CMA_ALIGNMENT 8): starts on a multiple of {Dec(1UL << (int)align)} pages ({Hex((1UL << (int)align) * PageSize)} bytes)");
                    break;
                case "cma_alloc_finish" when _cma is not null:
                    ulong pfn = rec.U64("pfn");
                    if (!(bool)rec["page_null"]!)
                    {
                        ulong bit = pfn - _cma.BasePfn;
                        step.Add("cma_alloc result", $"pfn {Hex(pfn)}: bitmap bits {Dec(bit)} .. {Dec(bit + rec.U64("count") - 1)} (first fit over the aligned starts; bits 0..{Dec(bit - 1)} skipped)");
                        _bufferRun = new PageRun(bit, rec.U64("count"), "640x480x32");
                    }
                    break;
                case "drm_gem_dma_create:return":
                    step.Add("dma_addr (paddr)", Hex(rec.U64("dma_addr")) + " (no IOMMU, no DMA offset: the physical address)");
                    step.Add("vaddr", Hex(rec.U64("vaddr")) + " (lowmem: dma_addr - PHYS_OFFSET + PAGE_OFFSET)");
                    break;
            }
        }
        if (_cma is not null && _bufferRun is { } run)
        {
            step.Figures.Add(CmaStrip(_cma, $"CMA area after cma_alloc: the buffer at bits {run.FirstPage}..{run.FirstPage + run.Pages - 1}",
                new PageRun(0, _options.CmaPagesUsedAtStart > 0 ? (ulong)_options.CmaPagesUsedAtStart : 0, "atomic pool"), run));
        }
        else if (shmem)
        {
            step.Figures.Add(RefGraph("References after CREATE_DUMB: the handle holds the GEM object"));
            step.Note("vgem's objects are shmem-backed (drm_gem_shmem_helper): no CMA, no contiguous memory; pages are allocated when first needed (mmap fault or export).");
        }
        return step;
    }

    private DrmGemObject? GemObject()
    {
        if (_proc?.Fget(_drmFd)?.PrivateData is DrmFile file)
        {
            return file.ObjectIdr.Find((int)_handle)?.Obj;
        }
        return null;
    }

    // ---- 3. MAP_DUMB + mmap + write ------------------------------------------------------------------------------

    private TourStep MapAndWrite()
    {
        var step = new TourStep(3, "MAP_DUMB, mmap, and \"Hello, world!\" through the mapping");
        if (_proc is null || _handle == 0)
        {
            return Blocked(step, "no dumb buffer (step 2)");
        }
        var map = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(map, _handle);
        step.Via("drm_mode_mmap_dumb_ioctl", "drm_gem_dumb_map_offset", "drm_gem_create_mmap_offset");
        long r = Traced(step, () => _proc.Ioctl(_drmFd, DrmH.DRM_IOCTL_MODE_MAP_DUMB, new UserArg(UserStructAddr, map)));
        if (r != 0)
        {
            return step.Fail("DRM_IOCTL_MODE_MAP_DUMB", r);
        }
        ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(map.AsSpan(8));
        step.Add("fake offset", $"{Hex(offset)} (drm_vma_offset_manager: DRM_FILE_PAGE_OFFSET_START {Hex(_options.DefaultMmapOffsetStart)} + the object's node)");
        step.Via("ksys_mmap_pgoff", "do_mmap", "drm_gem_mmap", "drm_gem_mmap_obj");
        long addr = Traced(step, () => _proc.Mmap(_objSize, Mman.PROT_READ | Mman.PROT_WRITE, Mman.MAP_SHARED, _drmFd, offset));
        if (addr < 0)
        {
            return step.Fail("mmap", addr);
        }
        _mapAddr = (ulong)addr;
        step.Add("mmap", $"mmap(NULL, {Hex(_objSize)}, PROT_READ|PROT_WRITE, MAP_SHARED, {_drmFd}, {Hex(offset)}) = {Hex(_mapAddr)}");
        var bytes = Encoding.ASCII.GetBytes(Hello + "\0");
        int w = _proc.Store(_mapAddr, bytes);
        if (w != 0)
        {
            return step.Fail("store", w);
        }
        // The page table walk: the VMA's fault handler answers the page frame behind the user address.
        var vma = _proc.Mm.Find(_mapAddr)!;
        long pfn = vma.Ops!.Fault(vma, vma.PgOff + ((_mapAddr - vma.Start) >> 12));
        if (pfn < 0)
        {
            return step.Fail("fault", pfn);
        }
        ulong phys = ((ulong)pfn << 12) + (_mapAddr & 0xfff);
        var back = new byte[16];
        _machine.GetRequiredService<IPageDataAccess>().Read((ulong)pfn, (int)(_mapAddr & 0xfff), back);
        step.Add("CPU store", $"\"{Hello}\\0\" at user address {Hex(_mapAddr)}");
        step.Add("physical memory", $"{Hex(phys)}: {string.Join(' ', back.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)))}  \"{Printable(back)}\"");
        step.Add("as u32 words", string.Join(' ', Enumerable.Range(0, 4).Select(k => "0x" + BinaryPrimitives.ReadUInt32LittleEndian(back.AsSpan(k * 4)).ToString("x8", CultureInfo.InvariantCulture))));
        step.Figures.Add(new BytesFigure($"The first 16 bytes of the buffer in physical memory at {Hex(phys)}", phys, _mapAddr, back));
        return step;
    }

    private static string Printable(byte[] b) => new(b.Select(c => c is >= 0x20 and < 0x7f ? (char)c : '.').ToArray());

    // ---- 4. PRIME_HANDLE_TO_FD ---------------------------------------------------------------------------------

    private TourStep Export()
    {
        var step = new TourStep(4, "DRM_IOCTL_PRIME_HANDLE_TO_FD: the dma-buf and its file");
        if (_proc is null || _handle == 0)
        {
            return Blocked(step, "no dumb buffer (step 2)");
        }
        var prime = new byte[12];
        BinaryPrimitives.WriteUInt32LittleEndian(prime, _handle);
        BinaryPrimitives.WriteUInt32LittleEndian(prime.AsSpan(4), DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR);
        step.Via("drm_prime_handle_to_fd_ioctl", "drm_gem_prime_handle_to_fd", "drm_gem_prime_export", "drm_gem_dmabuf_export",
            "dma_buf_export", "drm_prime_add_buf_handle", "dma_buf_fd");
        long r = Traced(step, () => _proc.Ioctl(_drmFd, DrmH.DRM_IOCTL_PRIME_HANDLE_TO_FD, new UserArg(UserStructAddr, prime)));
        if (r != 0)
        {
            return step.Fail("DRM_IOCTL_PRIME_HANDLE_TO_FD", r);
        }
        _dmabufFd = BinaryPrimitives.ReadInt32LittleEndian(prime.AsSpan(8));
        _exported = true;
        var file = _proc.Fget(_dmabufFd);
        var buf = file?.PrivateData as DmaBufT;
        step.Add("fd", $"{_dmabufFd} (flags DRM_CLOEXEC|DRM_RDWR: the file is O_RDWR, close-on-exec)");
        if (buf is not null)
        {
            step.Add("dma-buf", $"exp_name \"{buf.ExpName}\", size {Size(buf.Size)}, inode {buf.File.Inode.Ino}");
            step.Add("file references", $"{buf.File.Count} (fd {_dmabufFd} + the PRIME export cache of the DRM file, which keeps the dma-buf for the handle)");
        }
        if (GemObject() is { } obj)
        {
            step.Add("GEM object references", $"refcount {obj.Refcount}, handle_count {obj.HandleCount} (the handle, and the dma-buf's own reference)");
        }
        step.Figures.Add(RefGraph("References after the export"));
        return step;
    }

    // ---- 5. the importer test ----------------------------------------------------------------------------------

    private TourStep Importer()
    {
        var step = new TourStep(5, "The importer: dma_buf_attach and dma_buf_map_attachment");
        if (_proc is null || _dmabufFd < 0)
        {
            return Blocked(step, "no dma-buf (step 4)");
        }
        step.Via("dma_buf_get", "dma_buf_attach", "dma_buf_dynamic_attach", "dma_buf_map_attachment", "drm_gem_map_dma_buf",
            "dma_map_sgtable");
        var (buf, err) = DmaBufT.Get(_dbList, _proc, _dmabufFd);
        if (buf is null)
        {
            return step.Fail("dma_buf_get", err);
        }
        _importerRef = buf;
        _importerDev = ImporterDevice();
        step.Add("device", $"\"{_importerDev.Name}\": {(_importerDev.Ops == DmaOps.Iommu ? $"behind the IOMMU (group {_importerDev.IommuGroup})" : "dma-direct")}, dma_mask {Hex(_importerDev.DmaMask ?? 0)}, max_segment_size {Hex(DmaMapping.GetMaxSegSize(_importerDev))}");
        var (attach, aerr) = Traced(step, () => buf.Attach(_importerDev));
        if (attach is null)
        {
            return step.Fail("dma_buf_attach", aerr);
        }
        var (sgt, merr) = Traced(step, () => DmaBufT.MapAttachmentUnlocked(attach, DmaDataDirection.DMA_BIDIRECTIONAL));
        if (sgt is null)
        {
            Traced(step, () => { buf.Detach(attach); return 0; });
            return step.Fail("dma_buf_map_attachment", merr);
        }
        ref var first = ref sgt.At(sgt.Sgl);
        step.Add("sg_table", $"orig_nents {sgt.OrigNents}, nents {sgt.Nents}");
        step.Add("pr_info", string.Create(CultureInfo.InvariantCulture, $"reg_addr = 0x{(uint)first.DmaAddress:x8}, reg_size = 0x{first.DmaLength:x8}"));
        foreach (var e in Entries(sgt).Take(8))
        {
            step.Add($"entry {e.Index}", $"page pfn {Hex(e.Pfn)} offset {e.Offset} length {Hex(e.Length)} -> dma_address {Hex(e.DmaAddress)} dma_length {Hex(e.DmaLength)}");
        }
        if (sgt.Nents > 8)
        {
            step.Add("...", $"{sgt.Nents - 8} more entries");
        }
        step.Figures.Add(SgTable(sgt, $"The importer's sg_table: {sgt.Nents} mapped entr{(sgt.Nents == 1 ? "y" : "ies")}, boxes proportional to sg_dma_len"));
        step.Figures.Add(RefGraph("References while the importer is attached"));
        step.Via("dma_buf_unmap_attachment", "dma_buf_detach");
        Traced(step, () =>
        {
            DmaBufT.UnmapAttachmentUnlocked(attach, sgt, DmaDataDirection.DMA_BIDIRECTIONAL);
            buf.Detach(attach);
            return 0;
        });
        step.Note("The notes' importer_test2 kzallocs its struct device: in Linux 6.1 such a device has no dma_mask and dma_map_sgtable would WARN and map nothing, so the tour's importer is a device with the masks a platform (ARM) or PCI (x86) device gets.");
        step.Note("importer_test2 then unmaps and detaches; the module keeps its dma_buf_get reference until the teardown.");
        return step;
    }

    // The importer's struct device: on the ARM board a platform device with 32-bit masks (the notes kzalloc one,
    // which in 6.1 has no dma_mask and could not map); elsewhere a PCI device as the machine's probing configures it.
    private Device ImporterDevice()
    {
        if (_options.Is32Bit)
        {
            return new Device("importer")
            {
                DmaMask = DmaAttrs.DMA_BIT_MASK(32),
                CoherentDmaMask = DmaAttrs.DMA_BIT_MASK(32),
                Ops = DmaOps.Direct,
            };
        }
        return _machine.GetRequiredService<DmaMapping>().CreateDevice("importer");
    }

    // ---- 6. the umem ---------------------------------------------------------------------------------------------

    /// <summary>How long the exporter's fence waits before it gives up (its <c>dma_fence_ops.wait</c>), in seconds.</summary>
    public const int FenceWaitSeconds = 10;

    private TourStep Umem()
    {
        var step = new TourStep(6, "An RDMA memory region on a window of the buffer");
        if (_proc is null || _dmabufFd < 0 || _importerDev is null)
        {
            return Blocked(step, "no dma-buf (step 4) or no importer device (step 5)");
        }
        step.Via("ib_umem_dmabuf_get", "dma_buf_get", "dma_buf_dynamic_attach", "dma_resv_lock", "ib_umem_dmabuf_map_pages",
            "dma_buf_map_attachment", "for_each_sgtable_dma_sg", "dma_resv_wait_timeout");
        var ibdev = new IbDevice(_importerDev, "tour_ib0");
        // The driver's importer ops (as mlx5's): peer-to-peer allowed, move_notify unmaps the pages.
        var ops = new DmaBufAttachOps { AllowPeer2Peer = true, MoveNotify = a => (a.ImporterPriv as IbUmemDmabuf)?.UnmapPages() };
        step.Add("ib_umem_dmabuf_get", $"(ibdev {ibdev.Name} whose dma_device is \"{_importerDev.Name}\", offset {Hex(UmemOffset)}, size {Hex(UmemLength)}, fd {_dmabufFd}, IB_ACCESS_LOCAL_WRITE)");
        var (umem, err) = Traced(step, () => IbUmemDmabuf.Get(_dbList, _proc, ibdev, UmemOffset, UmemLength, _dmabufFd, (int)IbAccessFlags.IB_ACCESS_LOCAL_WRITE, ops));
        if (umem is null)
        {
            return step.Fail("ib_umem_dmabuf_get", err);
        }
        _umem = umem;
        step.Add("umem", $"address {Hex(umem.Umem.Address)}, length {Hex(umem.Umem.Length)}, {umem.Umem.NumPages} pages; the attachment is dynamic{(umem.Attach.Sgt is null ? "" : " and the exporter mapped it at attach time (cached table)")}");
        var resv = umem.Attach.DmaBuf!.Resv;
        resv.Lock(null);
        var before = umem.Attach.Sgt is { } cached ? Entries(cached) : null;
        int ret = Traced(step, umem.MapPages);
        before ??= umem.Sgt is { } mapped ? UntrimmedEntries(mapped, umem.Trim) : [];
        resv.Unlock();
        if (ret != 0)
        {
            return step.Fail("ib_umem_dmabuf_map_pages", ret);
        }
        var t = umem.Trim;
        step.Add("start, end", $"ALIGN_DOWN({Hex(UmemOffset)}, PAGE_SIZE) = {Hex(t.WindowStart)}, ALIGN({Hex(UmemOffset)} + {Hex(UmemLength)}, PAGE_SIZE) = {Hex(t.WindowEnd)}");
        step.Add("first_sg", t.HasFirst ? $"entry {t.FirstSgIndex}, first_sg_offset {Hex(t.FirstSgOffset)} (dma_address += offset, dma_len -= offset)" : "NULL");
        step.Add("last_sg", t.HasLast ? $"entry {t.LastSgIndex}, last_sg_trim {Hex(t.LastSgTrim)} (dma_len -= trim)" : "NULL");
        step.Add("nmap", $"{t.Nmap} (umem.sgt_append.sgt.nents; its sgl = first_sg)");
        var trimmed = Entries(umem.Sgt!);
        if (t.HasFirst)
        {
            var e = trimmed[t.FirstSgIndex];
            step.Add("trimmed first_sg", $"dma_address {Hex(e.DmaAddress)}, dma_len {Hex(e.DmaLength)}");
        }
        if (t.HasLast && t.LastSgIndex != t.FirstSgIndex)
        {
            var e = trimmed[t.LastSgIndex];
            step.Add("trimmed last_sg", $"dma_address {Hex(e.DmaAddress)}, dma_len {Hex(e.DmaLength)}");
        }
        var window = new UmemWindowView(UmemOffset, UmemLength, t.WindowStart, t.WindowEnd, t.FirstSgIndex, t.FirstSgOffset, t.LastSgIndex, t.LastSgTrim, t.Nmap);
        step.Figures.Add(new SgTableFigure("The umem window over the mapped table: the red parts are cut off by map_pages", before, window));
        step.Via("ib_umem_dmabuf_unmap_pages");
        var table = umem.Sgt!;
        resv.Lock(null);
        Traced(step, () => { umem.UnmapPages(); return 0; });
        resv.Unlock();
        bool same = Entries(table).SequenceEqual(before);
        step.Add("unmap_pages", same
            ? "first_sg gets first_sg_offset back, last_sg gets last_sg_trim back: the table equals the exporter's again, byte for byte"
            : "the table differs from the exporter's after the restore");
        if (!same)
        {
            step.Fail("ib_umem_dmabuf_unmap_pages (restore)", -(long)Errno.EINVAL);
        }
        step.Figures.Add(RefGraph("References with the umem attached (dynamic attachment of the IB device)"));
        return step;
    }

    // The table as it was before the trim, when the attachment did not cache it: the trim undone on a copy.
    private static List<SgEntryView> UntrimmedEntries(SgTable sgt, TrimResult t)
    {
        var list = Entries(sgt);
        if (t.HasFirst)
        {
            var e = list[t.FirstSgIndex];
            list[t.FirstSgIndex] = e with { DmaAddress = e.DmaAddress - t.FirstSgOffset, DmaLength = e.DmaLength + (uint)t.FirstSgOffset };
        }
        if (t.HasLast)
        {
            var e = list[t.LastSgIndex];
            list[t.LastSgIndex] = e with { DmaLength = e.DmaLength + (uint)t.LastSgTrim };
        }
        return list;
    }

    // ---- 7. a fence ------------------------------------------------------------------------------------------------

    private TourStep Fence()
    {
        var step = new TourStep(7, "A fence: map_pages waits for the exporter");
        if (_umem is null)
        {
            return Blocked(step, "no umem (step 6)");
        }
        var core = _machine.GetRequiredService<DmaFenceCore>();
        var clock = _machine.GetRequiredService<Sim.Core.Time.Ktime>();
        long giveUp = FenceWaitSeconds * clock.Hz;
        // The exporter's fence (a GPU job, say) whose dma_fence_ops.wait gives up after FenceWaitSeconds.
        var ops = new DmaFenceOps
        {
            GetDriverName = _ => "tour",
            GetTimelineName = _ => "exporter",
            Wait = (f, intr, timeout) => f.DefaultWait(intr, Math.Min(timeout, giveUp)),
        };
        step.Via("dma_fence_init", "dma_resv_lock", "dma_resv_reserve_fences", "dma_resv_add_fence");
        _fence = DmaFence.Create(core, ops, core.ContextAlloc(1), 1);
        var resv = _umem.Attach.DmaBuf!.Resv;
        resv.Lock(null);
        int rf = resv.ReserveFences(1);
        if (rf != 0)
        {
            resv.Unlock();
            return step.Fail("dma_resv_reserve_fences", rf);
        }
        resv.AddFence(_fence, DmaResvUsage.KERNEL);
        resv.Unlock();
        step.Figures.Add(RefGraph("References with the fence in the dma-buf's reservation object"));
        step.Add("fence", $"context {_fence.Context}, seqno {_fence.Seqno}, unsignalled, in the dma-buf's reservation object with DMA_RESV_USAGE_KERNEL; its wait op gives up after {FenceWaitSeconds} s ({giveUp} jiffies at HZ={clock.Hz})");
        step.Via("ib_umem_dmabuf_map_pages", "dma_resv_wait_timeout", "dma_fence_wait_timeout");
        long t0 = clock.Jiffies;
        resv.Lock(null);
        int ret = Traced(step, _umem.MapPages);
        resv.Unlock();
        long waited = clock.Jiffies - t0;
        step.Add("map_pages", $"{ErrnoNames.Format(ret)} after {waited} jiffies ({waited * 1000 / clock.Hz} ms) of simulated time (schedule_timeout's timer fires when its timer-wheel bucket expires)");
        if (ret != -(int)Errno.ETIMEDOUT)
        {
            step.Fail("ib_umem_dmabuf_map_pages (expected -ETIMEDOUT)", ret);
        }
        step.Note("map_pages mapped and trimmed the table, then waited for the kernel fences with MAX_SCHEDULE_TIMEOUT; the fence's own wait gave up, dma_resv_wait_timeout returned 0, and map_pages turned that into -ETIMEDOUT. The table stays mapped (umem_dmabuf->sgt is set).");
        step.Via("dma_fence_signal");
        Traced(step, () => _fence.Signal());
        long t1 = clock.Jiffies;
        resv.Lock(null);
        ret = Traced(step, _umem.MapPages);
        resv.Unlock();
        step.Add("after dma_fence_signal", $"map_pages = {(ret == 0 ? "0" : ErrnoNames.Format(ret))} after {clock.Jiffies - t1} jiffies (already mapped: straight to wait_fence, nothing left to wait for)");
        if (ret != 0)
        {
            step.Fail("ib_umem_dmabuf_map_pages after the signal", ret);
        }
        return step;
    }

    // ---- 8. teardown -----------------------------------------------------------------------------------------------

    private TourStep Teardown()
    {
        var step = new TourStep(8, "Teardown in the kernel's order");
        var order = new List<string>();
        Traced(step, () =>
        {
            if (_umem is not null)
            {
                step.Via("ib_umem_release", "ib_umem_dmabuf_release", "ib_umem_dmabuf_unmap_pages", "dma_buf_unmap_attachment", "dma_buf_detach", "dma_buf_put");
                IbUmem.Release(_umem.Umem);
                order.Add("ib_umem_release: ib_umem_dmabuf_release unmaps the pages (restoring the trim), detaches and drops its dma_buf_get reference");
                _umem = null;
            }
            if (_importerRef is not null)
            {
                step.Via("dma_buf_put");
                _importerRef.Put();
                order.Add("importer module: dma_buf_put of its dma_buf_get reference");
                _importerRef = null;
            }
            if (_proc is not null)
            {
                if (_mapAddr != 0)
                {
                    step.Via("do_munmap", "drm_gem_vm_close");
                    _proc.Munmap(_mapAddr, _objSize);
                    order.Add("munmap of the CPU mapping (drops its GEM object reference)");
                    _mapAddr = 0;
                }
                if (_dmabufFd >= 0)
                {
                    step.Via("close_fd");
                    _proc.Close(_dmabufFd);
                    order.Add($"close(fd {_dmabufFd}): the dma-buf lives on in the PRIME cache of the handle");
                    _dmabufFd = -1;
                }
                if (_handle != 0)
                {
                    var destroy = new byte[4];
                    BinaryPrimitives.WriteUInt32LittleEndian(destroy, _handle);
                    step.Via("drm_mode_destroy_dumb_ioctl", "drm_gem_handle_delete", "drm_prime_remove_buf_handle", "dma_buf_release",
                        "drm_gem_dmabuf_release", "drm_gem_object_free");
                    step.Via(_dmaHelper ? ["drm_gem_dma_free", "dma_free_wc", "cma_release"] : ["drm_gem_shmem_free"]);
                    _proc.Ioctl(_drmFd, DrmH.DRM_IOCTL_MODE_DESTROY_DUMB, new UserArg(UserStructAddr, destroy));
                    order.Add(_exported
                        ? "DESTROY_DUMB: the handle goes, its PRIME cache entry drops the last dma-buf reference, the dma-buf's release drops the GEM object, which frees its memory"
                        : "DESTROY_DUMB: the handle drops the last reference of the GEM object, which frees its memory");
                    _handle = 0;
                }
                step.Via("do_exit");
                _proc.Exit();
                order.Add($"exit: close(fd {_drmFd}) of the DRM file");
                _proc = null;
            }
            if (_fence is not null)
            {
                _fence.Put();
                _fence = null;
            }
            return 0;
        });
        for (int k = 0; k < order.Count; k++)
        {
            step.Add($"{k + 1}.", order[k]);
        }
        if (_cma is not null)
        {
            step.Add("CMA", $"{_cma.UsedPages} pages used ({(_cma.UsedPages == _cmaUsedAtBoot ? "as after boot: every page of the buffer is back in the pool" : $"after boot: {_cmaUsedAtBoot}")})");
            step.Figures.Add(CmaStrip(_cma, "CMA area after the teardown", new PageRun(0, _cmaUsedAtBoot, "atomic pool")));
        }
        if (_machine.GetService<Shmem>() is { } shmem && !_dmaHelper)
        {
            step.Add("shmem pages", $"{shmem.PagesInUse} in use{(shmem.PagesInUse == 0 ? ": every page of the buffer went back to the page allocator" : "")}");
        }
        int live = _live.Count();
        step.Add("live objects", $"{live} (after boot: {_liveAtBoot}){(live == _liveAtBoot ? ": nothing leaked" : "")}");
        if (live != _liveAtBoot)
        {
            foreach (var o in _live.Alive().Skip(_liveAtBoot).Take(8))
            {
                step.Add("still alive", $"{o.Type}: {o.Description}");
            }
        }
        return step;
    }

    // ---- the reference graph ------------------------------------------------------------------------------------

    private RefGraphFigure RefGraph(string caption)
    {
        var view = MachineView.Capture(_machine);
        return view.RefGraph(caption);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_umem is not null)
        {
            IbUmem.Release(_umem.Umem);
        }
        _importerRef?.Put();
        _proc?.Exit();
        _fence?.Put();
        _machine.Dispose();
    }
}
