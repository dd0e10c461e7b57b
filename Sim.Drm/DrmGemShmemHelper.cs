// Models drivers/gpu/drm/drm_gem_shmem_helper.c (Linux 6.1): shmem-backed GEM objects (create with a fake
// offset, pages on demand, mmap through a PFN map whose fault handler ignores vm_pgoff, dumb create).
using System.Runtime.InteropServices;
using Sim.Core;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>
/// <c>struct drm_gem_shmem_object</c>: a GEM object whose pages live in its shmem file (<see cref="DrmGemObject.Filp"/>,
/// frames from the buddy allocator, zero-filled when first read in).
/// </summary>
[Kernel("struct drm_gem_shmem_object", "include/drm/drm_gem_shmem_helper.h")]
public class DrmGemShmemObject : DrmGemObject
{
    /// <summary><c>pages</c>: the page frames while someone holds them (<see cref="PagesUseCount"/> &gt; 0), else null.</summary>
    public ulong[]? Pages { get; internal set; }
    /// <summary><c>pages_use_count</c>.</summary>
    public int PagesUseCount { get; internal set; }
    /// <summary><c>map_wc</c>.</summary>
    public bool MapWc { get; set; }
    /// <summary><c>madv</c>.</summary>
    public int Madv { get; set; }
    /// <summary><c>sgt</c>: the table of <c>drm_gem_shmem_get_pages_sgt</c> or of the import, or null.</summary>
    public Sim.Core.Lib.SgTable? Sgt { get; set; }
}

/// <summary>The shmem GEM helpers.</summary>
[Kernel("drm_gem_shmem_helper", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
public static class DrmGemShmemHelper
{
    /// <summary><c>drm_gem_shmem_vm_ops</c>.</summary>
    public static readonly IVmOperations VmOps = new ShmemVmOps();

    /// <summary><c>drm_gem_shmem_funcs</c>: the object vtable of plain shmem objects (vgem's).</summary>
    public static readonly DrmGemObjectFuncs Funcs = new()
    {
        Free = o => Free((DrmGemShmemObject)o),
        Mmap = (o, vma) => Mmap((DrmGemShmemObject)o, vma),
        VmOps = VmOps,
        Pin = o => Pin((DrmGemShmemObject)o),
        Unpin = o => Unpin((DrmGemShmemObject)o),
        GetSgTable = o => GetSgTable((DrmGemShmemObject)o),
    };

    /// <summary>
    /// <c>__drm_gem_shmem_create</c>: the driver's <c>gem_create_object</c> (or a plain shmem object), init, then a
    /// fake mmap offset (a failure releases the object: a size of 0 pages is <c>-ENOSPC</c>).
    /// </summary>
    [Kernel("__drm_gem_shmem_create", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static (DrmGemShmemObject? Shmem, int Err) Create(DrmDevice dev, ulong size, bool isPrivate = false)
    {
        size = unchecked((size + 4095) & ~4095UL);
        DrmGemShmemObject shmem;
        if (dev.Driver.GemCreateObject is not null)
        {
            var (obj, err) = dev.Driver.GemCreateObject(dev, size);
            if (obj is null)
            {
                return (null, err);
            }
            shmem = (DrmGemShmemObject)obj;
        }
        else
        {
            shmem = new DrmGemShmemObject();
        }
        shmem.Funcs ??= Funcs;
        int ret;
        if (isPrivate)
        {
            DrmGem.PrivateObjectInit(dev, shmem, size);
            shmem.MapWc = false;
            ret = 0;
        }
        else
        {
            ret = DrmGem.ObjectInit(dev, shmem, size);
        }
        if (ret != 0)
        {
            return (null, ret);
        }
        ret = DrmGem.CreateMmapOffset(shmem);
        if (ret != 0)
        {
            DrmGem.ObjectRelease(shmem);
            return (null, ret);
        }
        return (shmem, 0);
    }

    /// <summary><c>drm_gem_shmem_free</c>: the pages go back, then <c>drm_gem_object_release</c>.</summary>
    [Kernel("drm_gem_shmem_free", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static void Free(DrmGemShmemObject shmem)
    {
        if (shmem.ImportAttach is not null)
        {
            DrmPrime.GemDestroy(shmem, shmem.Sgt);
        }
        else
        {
            if (shmem.Sgt is not null)
            {
                shmem.Sgt = null;
            }
            if (shmem.Pages is not null)
            {
                PutPages(shmem);
            }
        }
        shmem.Dev.Warnings.On(shmem.PagesUseCount != 0, "drm_gem_shmem_free: pages_use_count");
        DrmGem.ObjectRelease(shmem);
    }

    /// <summary>
    /// <c>drm_gem_shmem_get_pages</c>: the first user reads every page of the shmem file in
    /// (<c>drm_gem_get_pages</c>: new pages are zero-filled); a failure leaves the use count at 0.
    /// </summary>
    [Kernel("drm_gem_shmem_get_pages", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static int GetPages(DrmGemShmemObject shmem)
    {
        shmem.Dev.Warnings.On(shmem.ImportAttach is not null, "drm_gem_shmem_get_pages: imported object");
        if (shmem.PagesUseCount++ > 0)
        {
            return 0;
        }
        var (pages, err) = DrmGem.GetPages(shmem);
        if (pages is null)
        {
            shmem.PagesUseCount = 0;
            return err;
        }
        shmem.Pages = pages;
        return 0;
    }

    /// <summary><c>drm_gem_shmem_put_pages</c>: the last user drops the page array (the pages stay in the shmem file).</summary>
    [Kernel("drm_gem_shmem_put_pages", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static void PutPages(DrmGemShmemObject shmem)
    {
        if (shmem.Dev.Warnings.On(shmem.PagesUseCount == 0, "drm_gem_shmem_put_pages: use count 0"))
        {
            return;
        }
        if (--shmem.PagesUseCount > 0)
        {
            return;
        }
        shmem.Pages = null; // drm_gem_put_pages
    }

    /// <summary><c>drm_gem_shmem_get_sg_table</c>: the pinned pages as a table (<c>drm_prime_pages_to_sg</c>).</summary>
    [Kernel("drm_gem_shmem_get_sg_table", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static (Sim.Core.Lib.SgTable? Table, int Err) GetSgTable(DrmGemShmemObject shmem)
    {
        shmem.Dev.Warnings.On(shmem.ImportAttach is not null, "drm_gem_shmem_get_sg_table: imported object");
        if (shmem.Pages is null)
        {
            // NULL pages: the kernel would oops; the callers pin first.
            throw new InvalidOperationException("drm_gem_shmem_get_sg_table without pinned pages");
        }
        return DrmPrime.PagesToSg(shmem.Dev, shmem.Pages, (uint)(shmem.Size >> 12));
    }

    /// <summary>
    /// <c>drm_gem_shmem_prime_import_sg_table</c>: a private shmem object of PAGE_ALIGN(dma-buf size) holding the
    /// importer's table.
    /// </summary>
    [Kernel("drm_gem_shmem_prime_import_sg_table", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static (DrmGemObject? Obj, int Err) PrimeImportSgTable(DrmDevice dev, Sim.DmaBufs.DmaBufAttachment attach, Sim.Core.Lib.SgTable sgt)
    {
        ulong size = (attach.DmaBuf!.Size + 4095) & ~4095UL;
        var (shmem, err) = Create(dev, size, isPrivate: true);
        if (shmem is null)
        {
            return (null, err);
        }
        shmem.Sgt = sgt;
        return (shmem, 0);
    }

    /// <summary><c>drm_gem_shmem_pin</c>: the pages are held while the buffer is exported.</summary>
    [Kernel("drm_gem_shmem_pin", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static int Pin(DrmGemShmemObject shmem)
    {
        shmem.Dev.Warnings.On(shmem.ImportAttach is not null, "drm_gem_shmem_pin: imported object");
        return GetPages(shmem);
    }

    /// <summary><c>drm_gem_shmem_unpin</c>.</summary>
    [Kernel("drm_gem_shmem_unpin", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static void Unpin(DrmGemShmemObject shmem)
    {
        shmem.Dev.Warnings.On(shmem.ImportAttach is not null, "drm_gem_shmem_unpin: imported object");
        PutPages(shmem);
    }

    /// <summary>
    /// <c>drm_gem_shmem_mmap</c>: copy-on-write mappings (MAP_PRIVATE) <c>-EINVAL</c>; pages taken for the
    /// mapping; VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP. (Imported objects map through their dma-buf.)
    /// </summary>
    [Kernel("drm_gem_shmem_mmap", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static int Mmap(DrmGemShmemObject shmem, Vma vma)
    {
        if (shmem.ImportAttach is not null)
        {
            // Reset vm_ops and vm_private_data, then map through the dma-buf; success drops drm_gem_mmap_obj's reference.
            vma.PrivateData = null;
            vma.Ops = null;
            int r = shmem.DmaBuf!.Mmap(vma, 0);
            if (r == 0)
            {
                shmem.Put();
            }
            return r;
        }
        // is_cow_mapping: VM_MAYWRITE without VM_SHARED.
        if ((vma.Flags & (Vma.VM_SHARED | Vma.VM_MAYWRITE)) == Vma.VM_MAYWRITE)
        {
            return -(int)Errno.EINVAL;
        }
        int ret = GetPages(shmem);
        if (ret != 0)
        {
            return ret;
        }
        vma.Flags |= Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        return 0;
    }

    /// <summary>
    /// <c>drm_gem_shmem_create_with_handle</c>: create, a handle in <paramref name="file"/>, then the creation
    /// reference is dropped (the handle holds the object).
    /// </summary>
    [Kernel("drm_gem_shmem_create_with_handle", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static (DrmGemShmemObject? Shmem, int Err, uint Handle) CreateWithHandle(DrmFile file, DrmDevice dev, ulong size)
    {
        var (shmem, err) = Create(dev, size);
        if (shmem is null)
        {
            return (null, err, 0);
        }
        int ret = DrmGem.HandleCreate(file, shmem, out uint handle);
        shmem.Put();
        if (ret != 0)
        {
            return (null, ret, 0);
        }
        return (shmem, 0, handle);
    }

    /// <summary>
    /// <c>drm_gem_shmem_dumb_create</c>: pitch = DIV_ROUND_UP(width * bpp, 8) and size = PAGE_ALIGN(pitch * height)
    /// in u32 arithmetic (both wrap), kept when user space asked for more.
    /// </summary>
    [Kernel("drm_gem_shmem_dumb_create", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    public static int DumbCreate(DrmFile file, DrmDevice dev, Span<drm_mode_create_dumb> argsSpan)
    {
        ref var args = ref argsSpan[0];
        uint minPitch = unchecked((args.width * args.bpp + 7) / 8);
        if (args.pitch == 0 || args.size == 0)
        {
            args.pitch = minPitch;
            args.size = unchecked((args.pitch * args.height + 4095u) & ~4095u);
        }
        else
        {
            if (args.pitch < minPitch)
            {
                args.pitch = minPitch;
            }
            if (args.size < unchecked(args.pitch * args.height))
            {
                args.size = unchecked((args.pitch * args.height + 4095u) & ~4095u);
            }
        }
        var (_, err, handle) = CreateWithHandle(file, dev, args.size);
        if (err == 0)
        {
            args.handle = handle;
        }
        return err;
    }

    /// <summary><c>drm_gem_shmem_vm_ops</c>: fault by (address - vm_start), open/close take and drop pages and the object.</summary>
    [Kernel("drm_gem_shmem_vm_ops", "drivers/gpu/drm/drm_gem_shmem_helper.c")]
    private sealed class ShmemVmOps : IVmOperations
    {
        /// <summary><c>drm_gem_shmem_vm_open</c>: one more page user (the pages are held already), one more object reference.</summary>
        public void Open(Vma vma)
        {
            var shmem = (DrmGemShmemObject)vma.PrivateData!;
            shmem.Dev.Warnings.On(shmem.ImportAttach is not null, "drm_gem_shmem_vm_open: imported");
            if (!shmem.Dev.Warnings.On(shmem.PagesUseCount == 0, "drm_gem_shmem_vm_open: pages_use_count 0"))
            {
                shmem.PagesUseCount++;
            }
            shmem.Get();
        }

        /// <summary><c>drm_gem_shmem_vm_close</c>.</summary>
        public void Close(Vma vma)
        {
            var shmem = (DrmGemShmemObject)vma.PrivateData!;
            PutPages(shmem);
            shmem.Put();
        }

        /// <summary><c>drm_gem_shmem_fault</c>: the page at (address - vm_start), ignoring vm_pgoff; past the object SIGBUS.</summary>
        public long Fault(Vma vma, ulong pgoff)
        {
            var shmem = (DrmGemShmemObject)vma.PrivateData!;
            ulong pageOffset = pgoff - vma.PgOff;
            ulong numPages = shmem.Size >> 12;
            if (pageOffset >= numPages || shmem.Dev.Warnings.On(shmem.Pages is null, "drm_gem_shmem_fault: !shmem->pages") || shmem.Madv < 0)
            {
                return -(long)Errno.EFAULT; // VM_FAULT_SIGBUS
            }
            return (long)shmem.Pages![pageOffset];
        }
    }
}
