// Models the page-array export path of drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c (Linux 6.1):
// amdgpu_gem_prime_get_sg_table-style tables built by drm_prime_pages_to_sg from a buffer object's page array
// (bo->tbo.ttm->pages), so an importer sees one entry per physically contiguous run. The buffer objects belong to
// a small DRM driver "pages" (not amdgpu's TTM/VRAM machinery): its dumb buffers are arrays of order-0 pages from
// the buddy allocator, deliberately scattered by a seeded generator.
using Sim.Core;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm.Drivers.Amdgpu;

/// <summary>
/// A GEM object backed by an array of pages (<c>struct amdgpu_bo</c> with its <c>ttm_tt</c> page array): page k of
/// the object is frame <see cref="Pages"/>[k]; the frames need not be contiguous.
/// </summary>
[Kernel("struct amdgpu_bo", "drivers/gpu/drm/amd/amdgpu/amdgpu_object.h")]
public sealed class PagesGemObject : DrmGemObject
{
    /// <summary><c>tbo.ttm-&gt;pages</c>: the frames, in object page order.</summary>
    public ulong[] Pages { get; internal set; } = [];

    /// <summary><c>tbo.ttm-&gt;num_pages</c>.</summary>
    public int NumPages => Pages.Length;
}

/// <summary>
/// The per-device state of a "pages" device: where pages come from and the seeded scatter generator.
/// </summary>
public sealed class PagesDevice(PageAlloc pageAlloc, int seed)
{
    /// <summary>The buddy allocator.</summary>
    public PageAlloc PageAlloc { get; } = pageAlloc;

    /// <summary>The scatter generator (seeded: the same seed gives the same frames on a fresh machine).</summary>
    public Random Scatter { get; } = new(seed);

    /// <summary>One page in this many is preceded by a hole (a frame taken and given back after the object's allocation).</summary>
    public int HoleEvery { get; init; } = 4;
}

/// <summary>The page-array exporter: <c>amdgpu_gem_prime_get_sg_table</c> and the "pages" driver around it.</summary>
[Kernel("amdgpu_dma_buf", "drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c")]
public static class AmdgpuDmaBuf
{
    /// <summary>The driver (and machine option) name.</summary>
    public const string DRIVER_NAME = "pages";

    /// <summary>The object vtable: free, get_sg_table, mmap, vm_ops.</summary>
    public static readonly DrmGemObjectFuncs Funcs = new()
    {
        Free = o => Free((PagesGemObject)o),
        GetSgTable = o => GemPrimeGetSgTable(o),
        Mmap = (o, vma) => Mmap((PagesGemObject)o, vma),
        VmOps = new PagesVmOps(),
    };

    /// <summary>The registration that binds <c>pages</c> devices of the machine.</summary>
    public static DrmDriverRegistration Registration(PageAlloc pageAlloc, int seed) =>
        new(DRIVER_NAME, CreateDriver, drm => drm.DevPrivate = new PagesDevice(pageAlloc, seed));

    /// <summary>
    /// The "pages" driver table: DRIVER_GEM | DRIVER_RENDER, dumb buffers of scattered pages, PRIME through the
    /// core with <see cref="GemPrimeGetSgTable"/> as the object's table.
    /// </summary>
    public static DrmDriver CreateDriver() => new()
    {
        Name = DRIVER_NAME,
        Desc = "Page-array GEM exporter (amdgpu_dma_buf.c model)",
        Date = "20250101",
        Major = 1,
        Minor = 0,
        Patchlevel = 0,
        DriverFeatures = DrmDriverFeature.DRIVER_GEM | DrmDriverFeature.DRIVER_RENDER,
        DumbCreate = DumbCreate,
        PrimeHandleToFd = DrmPrime.GemPrimeHandleToFd,
        PrimeFdToHandle = DrmPrime.GemPrimeFdToHandle,
        GemPrimeMmap = DrmPrime.GemPrimeMmap,
    };

    /// <summary>
    /// <c>amdgpu_gem_prime_get_sg_table</c> (the system-memory case of <c>amdgpu_dma_buf_map</c>):
    /// <c>drm_prime_pages_to_sg(obj-&gt;dev, bo-&gt;tbo.ttm-&gt;pages, bo-&gt;tbo.ttm-&gt;num_pages)</c>.
    /// </summary>
    [Kernel("amdgpu_gem_prime_get_sg_table", "drivers/gpu/drm/amd/amdgpu/amdgpu_dma_buf.c")]
    public static (SgTable? Table, int Err) GemPrimeGetSgTable(DrmGemObject obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var bo = (PagesGemObject)obj;
        return DrmPrime.PagesToSg(obj.Dev, bo.Pages, (uint)bo.NumPages);
    }

    /// <summary>
    /// Dumb create of the "pages" driver: pitch = DIV_ROUND_UP(width * bpp, 8), size = PAGE_ALIGN(pitch * height)
    /// (u32 arithmetic), then an object of that many scattered pages with a handle.
    /// </summary>
    public static int DumbCreate(DrmFile file, DrmDevice dev, Span<drm_mode_create_dumb> argsSpan)
    {
        ArgumentNullException.ThrowIfNull(file);
        ref var args = ref argsSpan[0];
        args.pitch = unchecked((args.width * args.bpp + 7) / 8);
        args.size = Align.PageAlign32(unchecked(args.pitch * args.height));
        var (bo, err) = Create(dev, args.size);
        if (bo is null)
        {
            return err;
        }
        int ret = DrmGem.HandleCreate(file, bo, out uint handle);
        bo.Put();
        if (ret != 0)
        {
            return ret;
        }
        args.handle = handle;
        return 0;
    }

    /// <summary>
    /// Creates an object of <paramref name="size"/> bytes (page aligned): init, a fake offset (<c>-ENOSPC</c> for 0
    /// pages), then the pages (<see cref="AllocScattered"/>; <c>-ENOMEM</c> when memory runs out).
    /// </summary>
    public static (PagesGemObject? Bo, int Err) Create(DrmDevice dev, ulong size)
    {
        ArgumentNullException.ThrowIfNull(dev);
        var pd = (PagesDevice)dev.DevPrivate!;
        size = Align.PageAlign(size);
        var bo = new PagesGemObject { Funcs = Funcs };
        DrmGem.PrivateObjectInit(dev, bo, size);
        int ret = DrmGem.CreateMmapOffset(bo);
        if (ret != 0)
        {
            DrmGem.ObjectRelease(bo);
            return (null, ret);
        }
        var pages = new ulong[size >> Align.PAGE_SHIFT];
        ret = AllocScattered(pd, pages);
        if (ret != 0)
        {
            DrmGem.ObjectRelease(bo);
            return (null, ret);
        }
        bo.Pages = pages;
        return (bo, 0);
    }

    /// <summary>
    /// Fills <paramref name="pages"/> with zeroed order-0 frames from the buddy allocator. Before a page, with
    /// probability 1/<see cref="PagesDevice.HoleEvery"/> (seeded), one extra frame is taken and given back once
    /// the object has all its pages, so the object's frames form runs of random length.
    /// </summary>
    public static int AllocScattered(PagesDevice pd, Span<ulong> pages)
    {
        ArgumentNullException.ThrowIfNull(pd);
        var holes = new List<ulong>();
        int ret = 0;
        int done = 0;
        for (; done < pages.Length; done++)
        {
            if (pd.Scatter.Next(pd.HoleEvery) == 0 && pd.PageAlloc.AllocPage(Gfp.GFP_KERNEL, out ulong hole) == 0)
            {
                holes.Add(hole);
            }
            ret = pd.PageAlloc.AllocPage(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, out pages[done]);
            if (ret != 0)
            {
                break;
            }
        }
        foreach (ulong h in holes)
        {
            pd.PageAlloc.FreePage(h);
        }
        if (ret != 0)
        {
            for (int k = 0; k < done; k++)
            {
                pd.PageAlloc.FreePage(pages[k]);
            }
        }
        return ret;
    }

    /// <summary>The object's release: its frames go back to the buddy allocator, then <c>drm_gem_object_release</c>.</summary>
    [Kernel("amdgpu_bo_unref", "drivers/gpu/drm/amd/amdgpu/amdgpu_object.c")]
    public static void Free(PagesGemObject bo)
    {
        ArgumentNullException.ThrowIfNull(bo);
        var pd = (PagesDevice)bo.Dev.DevPrivate!;
        foreach (ulong pfn in bo.Pages)
        {
            pd.PageAlloc.FreePage(pfn);
        }
        bo.Pages = [];
        DrmGem.ObjectRelease(bo);
    }

    /// <summary>
    /// The object's mmap: the fake offset is taken off <c>vm_pgoff</c> (file page = object page), a PFN map whose
    /// pages are the object's frames; MAP_PRIVATE (copy-on-write) mappings are refused with <c>-EINVAL</c>.
    /// </summary>
    [Kernel("amdgpu_gem_object_mmap", "drivers/gpu/drm/amd/amdgpu/amdgpu_gem.c")]
    public static int Mmap(PagesGemObject bo, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(bo);
        ArgumentNullException.ThrowIfNull(vma);
        if ((vma.Flags & (Vma.VM_SHARED | Vma.VM_MAYWRITE)) == Vma.VM_MAYWRITE)
        {
            return -(int)Errno.EINVAL;
        }
        vma.PgOff -= bo.VmaNode.Start;
        vma.Flags |= Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        return 0;
    }

    /// <summary>The mapping's vm ops: <c>drm_gem_vm_open</c>/<c>drm_gem_vm_close</c> and a fault that hands out the object's frame.</summary>
    private sealed class PagesVmOps : IVmOperations
    {
        public void Open(Vma vma) => DrmGemDmaHelper.VmOpen(vma);

        public void Close(Vma vma) => DrmGemDmaHelper.VmClose(vma);

        public long Fault(Vma vma, ulong pgoff)
        {
            var bo = (PagesGemObject)vma.PrivateData!;
            return pgoff < (ulong)bo.Pages.Length ? (long)bo.Pages[pgoff] : -(long)Errno.EFAULT;
        }
    }
}
