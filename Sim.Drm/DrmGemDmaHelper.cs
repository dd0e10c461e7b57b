// Models drivers/gpu/drm/drm_gem_dma_helper.c (Linux 6.1; named drm_gem_cma_helper.c, with drm_gem_cma_create and
// struct drm_gem_cma_object, before 6.1): GEM objects backed by one physically contiguous DMA buffer from
// dma_alloc_wc (CMA on the ARM board), their dumb create, mmap, sg table and vmap, and the driver's kprobe points
// (drm_gem_dma_create entry/return, drm_gem_dma_free entry) as kernel trace records.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>
/// <c>drm-&gt;dev</c> of a DRM device whose objects come from the DMA API: the <c>struct device</c>, the board's
/// coherent/write-combined allocator (<c>dma_alloc_wc</c>) and the trace sink the driver's kprobes write to.
/// </summary>
/// <param name="Device">The parent <c>struct device</c> (the PL111 CLCD platform device).</param>
/// <param name="Alloc">Its DMA ops' allocator (<c>dma_alloc_wc</c> / <c>dma_free_wc</c>, <c>dma_mmap_wc</c>).</param>
/// <param name="Trace">The machine's trace sink.</param>
public sealed record DrmDmaParent(Device Device, ArmDmaMapping Alloc, KernelTrace Trace);

/// <summary>A driver private (<c>drm-&gt;dev_private</c>) that exposes the DMA parent device of the DRM device.</summary>
public interface IDrmDmaDevice
{
    /// <summary>The parent device with its DMA ops (<c>drm-&gt;dev</c>).</summary>
    DrmDmaParent DmaParent { get; }
}

/// <summary>
/// <c>struct drm_gem_dma_object</c> (<c>drm_gem_cma_object</c> before 6.1): a GEM object with one contiguous DMA
/// buffer: <see cref="DmaAddr"/> (the device address; the physical address on a board without IOMMU),
/// <see cref="Vaddr"/> (the kernel virtual address from <c>dma_alloc_wc</c>, 0 when the allocation failed) and
/// <see cref="Sgt"/> (only for imported buffers).
/// </summary>
[Kernel("struct drm_gem_dma_object", "include/drm/drm_gem_dma_helper.h")]
public class DrmGemDmaObject : DrmGemObject
{
    /// <summary><c>dma_addr</c>; <c>DMA_MAPPING_ERROR</c> after a failed allocation.</summary>
    public ulong DmaAddr { get; internal set; }

    /// <summary><c>sgt</c>: the imported table (null for objects this driver allocated).</summary>
    public SgTable? Sgt { get; internal set; }

    /// <summary><c>vaddr</c>: the kernel virtual address of the buffer, 0 (NULL) when none.</summary>
    public ulong Vaddr { get; internal set; }

    /// <summary><c>map_noncoherent</c> (false: write-combined, the only mode modelled).</summary>
    public bool MapNoncoherent { get; internal set; }
}

/// <summary>The GEM DMA helpers (<c>drm_gem_dma_*</c>).</summary>
[Kernel("drm_gem_dma_helper", "drivers/gpu/drm/drm_gem_dma_helper.c")]
public static class DrmGemDmaHelper
{
    private static readonly FaultSite s_kzalloc = FaultSite.Register("__drm_gem_dma_create:kzalloc");

    /// <summary><c>drm_gem_dma_vm_ops</c>: open/close are <c>drm_gem_vm_open</c>/<c>drm_gem_vm_close</c>.</summary>
    public static readonly IVmOperations VmOps = new DmaVmOps();

    /// <summary>
    /// <c>drm_gem_dma_default_funcs</c>: free, get_sg_table, mmap, vm_ops (vmap is <see cref="Vmap"/>; print_info is
    /// debugfs only).
    /// </summary>
    public static readonly DrmGemObjectFuncs DefaultFuncs = new()
    {
        Free = o => ObjectFree(o),
        GetSgTable = o => ObjectGetSgTable(o),
        Mmap = (o, vma) => ObjectMmap(o, vma),
        VmOps = VmOps,
    };

    /// <summary>The DMA parent of a DRM device whose driver uses these helpers.</summary>
    public static DrmDmaParent Parent(DrmDevice drm)
    {
        ArgumentNullException.ThrowIfNull(drm);
        return (drm.DevPrivate as IDrmDmaDevice)?.DmaParent
            ?? throw new InvalidOperationException($"{drm.Driver.Name}: the device has no DMA parent (dev_private is not an IDrmDmaDevice)");
    }

    /// <summary>
    /// <c>__drm_gem_dma_create</c>: the driver's <c>gem_create_object</c> or a zeroed object, the default funcs,
    /// init (private: no shmem file), then a fake mmap offset; on an offset failure (<c>-ENOSPC</c> for 0 pages or a
    /// size beyond the offset space) the object is released and freed without reaching <c>funcs-&gt;free</c>.
    /// </summary>
    [Kernel("__drm_gem_dma_create", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static (DrmGemDmaObject? Obj, int Err) CreateRaw(DrmDevice drm, ulong size, bool isPrivate)
    {
        ArgumentNullException.ThrowIfNull(drm);
        DrmGemDmaObject dmaObj;
        if (drm.Driver.GemCreateObject is not null)
        {
            var (gem, err) = drm.Driver.GemCreateObject(drm, size);
            if (gem is null)
            {
                return (null, err);
            }
            dmaObj = (DrmGemDmaObject)gem;
        }
        else
        {
            if (s_kzalloc.ShouldFail())
            {
                return (null, -(int)Errno.ENOMEM);
            }
            dmaObj = new DrmGemDmaObject();
        }
        dmaObj.Funcs ??= DefaultFuncs;
        int ret = 0;
        if (isPrivate)
        {
            DrmGem.PrivateObjectInit(drm, dmaObj, size);
            // Always use writecombine for dma-buf mappings.
            dmaObj.MapNoncoherent = false;
        }
        else
        {
            ret = DrmGem.ObjectInit(drm, dmaObj, size);
        }
        if (ret != 0)
        {
            goto error;
        }
        ret = DrmGem.CreateMmapOffset(dmaObj);
        if (ret != 0)
        {
            DrmGem.ObjectRelease(dmaObj);
            goto error;
        }
        return (dmaObj, 0);
    error:
        // kfree(dma_obj)
        return (null, ret);
    }

    /// <summary>
    /// <c>drm_gem_dma_create(drm, size)</c>: <paramref name="size"/> rounded up to PAGE_SIZE (in <c>size_t</c>: 32
    /// bits on the ARM board), the object, then <c>dma_alloc_wc(GFP_KERNEL | __GFP_NOWARN)</c>; when that gives no
    /// memory the object's reference is dropped (so <c>drm_gem_dma_free</c> runs with <c>vaddr</c> NULL) and the
    /// result is <c>-ENOMEM</c>. Fires the <c>drm_gem_dma_create</c> entry and return probes.
    /// </summary>
    [Kernel("drm_gem_dma_create", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static (DrmGemDmaObject? Obj, int Err) Create(DrmDevice drm, ulong size)
    {
        ArgumentNullException.ThrowIfNull(drm);
        var parent = Parent(drm);
        var trace = parent.Trace;
        if (drm.Is32Bit)
        {
            size = (uint)size; // size_t
        }
        if (trace.Enabled)
        {
            trace.Emit(new KernelTraceRecord("drm_gem_dma_create", new KernelTraceField("size", size)));
        }
        var (dmaObj, err) = CreateInner(drm, parent, size);
        if (trace.Enabled)
        {
            trace.Emit(dmaObj is null
                ? new KernelTraceRecord("drm_gem_dma_create:return", new KernelTraceField("ret", (long)err))
                : new KernelTraceRecord("drm_gem_dma_create:return", new("ret", 0L), new("size", dmaObj.Size),
                    new("dma_addr", dmaObj.DmaAddr), new("pfn", dmaObj.DmaAddr >> Align.PAGE_SHIFT), new("vaddr", dmaObj.Vaddr)));
        }
        return (dmaObj, err);
    }

    private static (DrmGemDmaObject? Obj, int Err) CreateInner(DrmDevice drm, DrmDmaParent parent, ulong size)
    {
        size = drm.Is32Bit ? Align.PageAlign32((uint)size) : Align.PageAlign(size);
        var (dmaObj, err) = CreateRaw(drm, size, isPrivate: false);
        if (dmaObj is null)
        {
            return (null, err);
        }
        // map_noncoherent is never set by the modelled drivers: dma_alloc_wc.
        dmaObj.Vaddr = parent.Alloc.AllocWc(size, out ulong dmaAddr, Gfp.GFP_KERNEL | Gfp.__GFP_NOWARN);
        dmaObj.DmaAddr = dmaAddr;
        if (dmaObj.Vaddr == 0)
        {
            // drm_dbg(drm, "failed to allocate buffer with size %zu\n", size);
            dmaObj.Put();
            return (null, -(int)Errno.ENOMEM);
        }
        return (dmaObj, 0);
    }

    /// <summary>
    /// <c>drm_gem_dma_create_with_handle</c>: create, a handle in <paramref name="file"/>, then the creation
    /// reference is dropped (the handle holds the object; a handle failure frees it).
    /// </summary>
    [Kernel("drm_gem_dma_create_with_handle", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static (DrmGemDmaObject? Obj, int Err) CreateWithHandle(DrmFile file, DrmDevice drm, ulong size, out uint handle)
    {
        handle = 0;
        var (dmaObj, err) = Create(drm, size);
        if (dmaObj is null)
        {
            return (null, err);
        }
        int ret = DrmGem.HandleCreate(file, dmaObj, out handle);
        // drop reference from allocate - handle holds it now.
        dmaObj.Put();
        if (ret != 0)
        {
            return (null, ret);
        }
        return (dmaObj, 0);
    }

    /// <summary>
    /// <c>drm_gem_dma_free</c>: an imported object gives its table back (<c>drm_prime_gem_destroy</c>); an own
    /// buffer goes back through <c>dma_free_wc</c> (CMA release) when it was allocated; then
    /// <c>drm_gem_object_release</c>. Fires the <c>drm_gem_dma_free</c> probe first (size, dma_addr, pfn, vaddr;
    /// after a failed allocation dma_addr null and <c>dma_mapping_error</c> true).
    /// </summary>
    [Kernel("drm_gem_dma_free", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static void Free(DrmGemDmaObject dmaObj)
    {
        ArgumentNullException.ThrowIfNull(dmaObj);
        var parent = Parent(dmaObj.Dev);
        var trace = parent.Trace;
        if (trace.Enabled)
        {
            bool mappingError = dmaObj.DmaAddr == parent.Alloc.DmaMappingError;
            trace.Emit(mappingError
                ? new KernelTraceRecord("drm_gem_dma_free", new("size", dmaObj.Size), new("dma_addr", null),
                    new("dma_mapping_error", true), new("vaddr", dmaObj.Vaddr))
                : new KernelTraceRecord("drm_gem_dma_free", new("size", dmaObj.Size), new("dma_addr", dmaObj.DmaAddr),
                    new("pfn", dmaObj.DmaAddr >> Align.PAGE_SHIFT), new("vaddr", dmaObj.Vaddr)));
        }
        if (dmaObj.ImportAttach is not null)
        {
            // dma_buf_vunmap (when vaddr: never, the helpers do not vmap imports here), then drm_prime_gem_destroy.
            DrmPrime.GemDestroy(dmaObj, dmaObj.Sgt);
            dmaObj.Sgt = null;
        }
        else if (dmaObj.Vaddr != 0)
        {
            parent.Alloc.FreeWc(dmaObj.Size, dmaObj.Vaddr, dmaObj.DmaAddr);
        }
        DrmGem.ObjectRelease(dmaObj);
    }

    /// <summary><c>drm_gem_dma_object_free</c>: <c>funcs-&gt;free</c>.</summary>
    [Kernel("drm_gem_dma_object_free", "include/drm/drm_gem_dma_helper.h")]
    public static void ObjectFree(DrmGemObject obj) => Free((DrmGemDmaObject)obj);

    /// <summary>
    /// <c>drm_gem_dma_dumb_create_internal</c>: like <see cref="DumbCreate"/> but keeps a larger pitch/size that
    /// user space (or the driver) asked for.
    /// </summary>
    [Kernel("drm_gem_dma_dumb_create_internal", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static int DumbCreateInternal(DrmFile file, DrmDevice drm, Span<drm_mode_create_dumb> argsSpan)
    {
        ref var args = ref argsSpan[0];
        uint minPitch = unchecked((args.width * args.bpp + 7) / 8);
        if (args.pitch < minPitch)
        {
            args.pitch = minPitch;
        }
        if (args.size < unchecked(args.pitch * args.height))
        {
            args.size = unchecked(args.pitch * args.height);
        }
        var (dmaObj, err) = CreateWithHandle(file, drm, args.size, out uint handle);
        args.handle = handle;
        return dmaObj is null ? err : 0;
    }

    /// <summary>
    /// <c>drm_gem_dma_dumb_create</c>: pitch = DIV_ROUND_UP(width * bpp, 8) and size = pitch * height, both in u32
    /// arithmetic that wraps (no pitch alignment; the object size is rounded up in <see cref="Create"/>).
    /// </summary>
    [Kernel("drm_gem_dma_dumb_create", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static int DumbCreate(DrmFile file, DrmDevice drm, Span<drm_mode_create_dumb> argsSpan)
    {
        ref var args = ref argsSpan[0];
        args.pitch = unchecked((args.width * args.bpp + 7) / 8);
        args.size = unchecked(args.pitch * args.height);
        var (dmaObj, err) = CreateWithHandle(file, drm, args.size, out uint handle);
        args.handle = handle;
        return dmaObj is null ? err : 0;
    }

    /// <summary>
    /// <c>drm_gem_dma_get_sg_table</c>: <c>dma_get_sgtable</c> of the buffer: one entry covering the whole object
    /// (the buffer is contiguous).
    /// </summary>
    [Kernel("drm_gem_dma_get_sg_table", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static (SgTable? Table, int Err) GetSgTable(DrmGemDmaObject dmaObj)
    {
        ArgumentNullException.ThrowIfNull(dmaObj);
        var sgt = new SgTable();
        int ret = Parent(dmaObj.Dev).Alloc.GetSgtable(sgt, dmaObj.Vaddr, dmaObj.DmaAddr, dmaObj.Size);
        if (ret < 0)
        {
            return (null, ret);
        }
        return (sgt, 0);
    }

    /// <summary><c>drm_gem_dma_object_get_sg_table</c>: <c>funcs-&gt;get_sg_table</c>.</summary>
    [Kernel("drm_gem_dma_object_get_sg_table", "include/drm/drm_gem_dma_helper.h")]
    public static (SgTable? Table, int Err) ObjectGetSgTable(DrmGemObject obj) => GetSgTable((DrmGemDmaObject)obj);

    /// <summary><c>drm_gem_dma_vmap</c>: the buffer's kernel address; always 0.</summary>
    [Kernel("drm_gem_dma_vmap", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static int Vmap(DrmGemDmaObject dmaObj, out ulong vaddr)
    {
        ArgumentNullException.ThrowIfNull(dmaObj);
        vaddr = dmaObj.Vaddr;
        return 0;
    }

    /// <summary>
    /// <c>drm_gem_dma_mmap</c>: the fake offset is taken off <c>vm_pgoff</c> (the mapping starts at buffer page
    /// <c>vm_pgoff</c>), VM_PFNMAP cleared, VM_DONTEXPAND set, then <c>dma_mmap_wc</c> (remap of the buffer's frames;
    /// <c>-ENXIO</c> past its end). On failure the mapping's reference is dropped (<c>drm_gem_vm_close</c>).
    /// </summary>
    [Kernel("drm_gem_dma_mmap", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    public static int Mmap(DrmGemDmaObject dmaObj, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(dmaObj);
        ArgumentNullException.ThrowIfNull(vma);
        vma.PgOff -= dmaObj.VmaNode.Start;
        vma.Flags &= ~Vma.VM_PFNMAP;
        vma.Flags |= Vma.VM_DONTEXPAND;
        int ret = Parent(dmaObj.Dev).Alloc.MmapWc(vma, dmaObj.Vaddr, dmaObj.DmaAddr, vma.End - vma.Start);
        if (ret != 0)
        {
            VmClose(vma);
        }
        return ret;
    }

    /// <summary><c>drm_gem_dma_object_mmap</c>: <c>funcs-&gt;mmap</c>.</summary>
    [Kernel("drm_gem_dma_object_mmap", "include/drm/drm_gem_dma_helper.h")]
    public static int ObjectMmap(DrmGemObject obj, Vma vma) => Mmap((DrmGemDmaObject)obj, vma);

    /// <summary><c>drm_gem_vm_open</c>: a copy of the mapping takes an object reference.</summary>
    [Kernel("drm_gem_vm_open", "drivers/gpu/drm/drm_gem.c")]
    public static void VmOpen(Vma vma)
    {
        ArgumentNullException.ThrowIfNull(vma);
        ((DrmGemObject)vma.PrivateData!).Get();
    }

    /// <summary>
    /// <c>drm_gem_vm_close</c>: the mapping's object reference is dropped (the last one frees the object). A mapping
    /// without an object (a failed <c>drm_gem_prime_mmap</c>, which sets <c>vm_private_data</c> only on success)
    /// drops nothing: <c>drm_gem_object_put(NULL)</c> is a no-op.
    /// </summary>
    [Kernel("drm_gem_vm_close", "drivers/gpu/drm/drm_gem.c")]
    public static void VmClose(Vma vma)
    {
        ArgumentNullException.ThrowIfNull(vma);
        (vma.PrivateData as DrmGemObject)?.Put();
    }

    /// <summary>
    /// <c>drm_gem_dma_vm_ops</c>. The mapping is a remap of the buffer's frames (<c>remap_pfn_range</c> at mmap
    /// time), so a CPU access finds frame <c>dma_addr &gt;&gt; PAGE_SHIFT</c> + file page; <see cref="Fault"/> only
    /// reads those page table entries.
    /// </summary>
    [Kernel("drm_gem_dma_vm_ops", "drivers/gpu/drm/drm_gem_dma_helper.c")]
    private sealed class DmaVmOps : IVmOperations
    {
        public void Open(Vma vma) => VmOpen(vma);

        public void Close(Vma vma) => VmClose(vma);

        public long Fault(Vma vma, ulong pgoff)
        {
            var dmaObj = (DrmGemDmaObject)vma.PrivateData!;
            if (pgoff >= dmaObj.Size >> Align.PAGE_SHIFT)
            {
                return -(long)Errno.EFAULT;
            }
            return (long)((dmaObj.DmaAddr >> Align.PAGE_SHIFT) + pgoff);
        }
    }
}
