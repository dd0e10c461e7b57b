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
using Sim.DmaBufs;
using Sim.Drm;
using Sim.Drm.Uapi;
using Sim.Machine;
using Sim.RdmaUmem;
using static Sim.Teaching.MachineFigures;

namespace Sim.Teaching;

/// <summary>The tour's steps 1 to 4, the exporter side: boot, CREATE_DUMB, MAP_DUMB and a CPU write, PRIME export.</summary>
public sealed partial class Tour
{
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
            step.Add("CMA taken at boot", cma.UsedPages == 0 ? "0 pages (every bitmap bit clear)" : $"{Dec(cma.UsedPages)} pages (bitmap bits 0..{Dec(cma.UsedPages - 1)})");
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
            step.Add("DRM device", _options.DrmDevices.Count == 0
                ? "none (the machine options name no DRM driver: add vgem, virtio-gpu, pl111 or pages)"
                : "none bound (no driver model for " + string.Join(", ", _options.DrmDevices.Select(d => d.Driver)) + ")");
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
            return Blocked(step, "the machine has no DRM device (add vgem, virtio-gpu, pl111 or pages to --machine)");
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
                        step.Add("cma_alloc result", $"pfn {Hex(pfn)}: bitmap bits {Dec(bit)} .. {Dec(bit + rec.U64("count") - 1)} (first fit over the aligned starts; {(bit == 0 ? "the first start fits" : $"bits 0..{Dec(bit - 1)} skipped")})");
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
        var buf = file?.PrivateData as DmaBuf;
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
}
