// Models drivers/gpu/drm/drm_gem.c (Linux 6.1): object init/release, per-file handles, flink names,
// GEM_CLOSE / GEM_FLINK / GEM_OPEN, fake mmap offsets and drm_gem_mmap.
using System.Runtime.InteropServices;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>The GEM core: <c>drm_gem_*</c> functions of drm_gem.c.</summary>
[Kernel("drm_gem", "drivers/gpu/drm/drm_gem.c")]
public static class DrmGem
{
    /// <summary><c>drm_gem_private_object_init</c>: refcount 1, no handles, no offset yet.</summary>
    [Kernel("drm_gem_private_object_init", "drivers/gpu/drm/drm_gem.c")]
    public static void PrivateObjectInit(DrmDevice dev, DrmGemObject obj, ulong size)
    {
        KernelBugException.On((size & 0xfff) != 0, "drm_gem_private_object_init: size not page aligned");
        obj.InitCommon(dev, size, dev.Live);
    }

    /// <summary><c>drm_gem_object_init</c>: a private init plus the shmem backing file (<c>shmem_file_setup</c>).</summary>
    [Kernel("drm_gem_object_init", "drivers/gpu/drm/drm_gem.c")]
    public static int ObjectInit(DrmDevice dev, DrmGemObject obj, ulong size)
    {
        PrivateObjectInit(dev, obj, size);
        obj.Filp = dev.Shmem.FileSetup(size);
        return 0;
    }

    /// <summary>
    /// <c>drm_gem_get_pages</c>: every page of the object's shmem file, read in (new ones zero-filled) in page
    /// order; the frames or the allocator's errno (pages read in so far stay in the page cache).
    /// </summary>
    [Kernel("drm_gem_get_pages", "drivers/gpu/drm/drm_gem.c")]
    public static (ulong[]? Pages, int Err) GetPages(DrmGemObject obj)
    {
        if (obj.Dev.Warnings.On(obj.Filp is null, "drm_gem_get_pages: no shmem file"))
        {
            return (null, -(int)Errno.EINVAL);
        }
        ulong npages = obj.Size >> 12;
        var pages = new ulong[npages];
        for (ulong i = 0; i < npages; i++)
        {
            int err = obj.Filp!.ReadMappingPage(i, out pages[i]);
            if (err != 0)
            {
                return (null, err);
            }
        }
        return (pages, 0);
    }

    /// <summary>
    /// <c>drm_gem_object_release</c>: the shmem backing (if any) goes, the fake offset goes back to the manager and
    /// the embedded reservation object is finished (its fences dropped).
    /// </summary>
    [Kernel("drm_gem_object_release", "drivers/gpu/drm/drm_gem.c")]
    public static void ObjectRelease(DrmGemObject obj)
    {
        obj.Dev.Warnings.On(obj.DmaBuf is not null, "drm_gem_object_release: obj->dma_buf still set");
        if (obj.Filp is not null)
        {
            obj.Filp.Release(); // fput(obj->filp): the last reference truncates the page cache
            obj.Filp = null;
        }
        obj.EmbeddedResv.Fini();
        FreeMmapOffset(obj);
        obj.Unregister();
    }

    /// <summary><c>drm_gem_create_mmap_offset</c>: a fake offset of size/PAGE_SIZE pages (kept if it has one).</summary>
    [Kernel("drm_gem_create_mmap_offset", "drivers/gpu/drm/drm_gem.c")]
    public static int CreateMmapOffset(DrmGemObject obj) => obj.Dev.VmaOffsetManager.Add(obj.VmaNode, obj.Size >> 12);

    /// <summary><c>drm_gem_free_mmap_offset</c>.</summary>
    [Kernel("drm_gem_free_mmap_offset", "drivers/gpu/drm/drm_gem.c")]
    public static void FreeMmapOffset(DrmGemObject obj) => obj.Dev.VmaOffsetManager.Remove(obj.VmaNode);

    /// <summary><c>drm_gem_object_lookup</c>: the object behind a handle with a reference taken, or null.</summary>
    [Kernel("drm_gem_object_lookup", "drivers/gpu/drm/drm_gem.c")]
    public static DrmGemObject? ObjectLookup(DrmFile file, uint handle)
    {
        if (handle > int.MaxValue)
        {
            return null;
        }
        var obj = file.ObjectIdr.Find((int)handle)?.Obj;
        return obj?.Get();
    }

    /// <summary><c>drm_gem_handle_create</c>: a new handle (lowest free from 1) for <paramref name="obj"/>.</summary>
    [Kernel("drm_gem_handle_create", "drivers/gpu/drm/drm_gem.c")]
    public static int HandleCreate(DrmFile file, DrmGemObject obj, out uint handle) => HandleCreateTail(file, obj, out handle);

    /// <summary>
    /// <c>drm_gem_handle_create_tail</c>: the first handle takes a reference; reserve an id, allow the file on the
    /// offset node, call <c>funcs-&gt;open</c>, then publish the object under the id.
    /// </summary>
    [Kernel("drm_gem_handle_create_tail", "drivers/gpu/drm/drm_gem.c")]
    public static int HandleCreateTail(DrmFile file, DrmGemObject obj, out uint handle)
    {
        handle = 0;
        if (obj.HandleCount++ == 0)
        {
            obj.Get();
        }
        var slot = new DrmHandleSlot();
        int ret = file.ObjectIdr.Alloc(slot, 1);
        if (ret < 0)
        {
            HandlePutUnlocked(obj);
            return ret;
        }
        int id = ret;
        ret = obj.VmaNode.Allow(file);
        if (ret != 0)
        {
            file.ObjectIdr.Remove(id);
            HandlePutUnlocked(obj);
            return ret;
        }
        if (obj.Funcs.Open is not null)
        {
            ret = obj.Funcs.Open(obj, file);
            if (ret != 0)
            {
                obj.VmaNode.Revoke(file);
                file.ObjectIdr.Remove(id);
                HandlePutUnlocked(obj);
                return ret;
            }
        }
        slot.Obj = obj;
        handle = (uint)id;
        return 0;
    }

    /// <summary>
    /// <c>drm_gem_object_handle_put_unlocked</c>: the last handle frees the flink name and the exported dma-buf's
    /// reference, then drops the handles' object reference.
    /// </summary>
    [Kernel("drm_gem_object_handle_put_unlocked", "drivers/gpu/drm/drm_gem.c")]
    public static void HandlePutUnlocked(DrmGemObject obj)
    {
        if (obj.Dev.Warnings.On(obj.HandleCount == 0, "drm_gem_object_handle_put_unlocked: handle_count 0"))
        {
            return;
        }
        if (--obj.HandleCount == 0)
        {
            // The last handle: dropped by drm_release's handle cleanup in do_exit, a leak of the object for --check.
            using var lost = obj.Dev.Live.LostAtExit(obj.LiveId);
            // drm_gem_object_handle_free
            if (obj.Name != 0)
            {
                obj.Dev.ObjectNameIdr.Remove(obj.Name);
                obj.Name = 0;
            }
            // drm_gem_object_exported_dma_buf_free
            if (obj.DmaBuf is not null)
            {
                obj.DmaBuf.Put();
                obj.DmaBuf = null;
            }
            obj.Put();
        }
    }

    /// <summary><c>drm_gem_object_release_handle</c>: <c>funcs-&gt;close</c>, the PRIME cache entry, the offset access, the handle count.</summary>
    [Kernel("drm_gem_object_release_handle", "drivers/gpu/drm/drm_gem.c")]
    public static void ObjectReleaseHandle(int id, DrmGemObject obj, DrmFile file)
    {
        obj.Funcs.Close?.Invoke(obj, file);
        file.Prime.RemoveBufHandle((uint)id);
        obj.VmaNode.Revoke(file);
        HandlePutUnlocked(obj);
    }

    /// <summary><c>drm_gem_handle_delete</c>: 0, or <c>-EINVAL</c> for a handle that names nothing.</summary>
    [Kernel("drm_gem_handle_delete", "drivers/gpu/drm/drm_gem.c")]
    public static int HandleDelete(DrmFile file, uint handle)
    {
        if (handle > int.MaxValue)
        {
            return -(int)Errno.EINVAL;
        }
        var slot = file.ObjectIdr.Find((int)handle);
        var obj = slot?.Obj;
        if (obj is null)
        {
            return -(int)Errno.EINVAL;
        }
        slot!.Obj = null; // idr_replace(&filp->object_idr, NULL, handle)
        ObjectReleaseHandle((int)handle, obj, file);
        file.ObjectIdr.Remove((int)handle);
        return 0;
    }

    /// <summary><c>drm_gem_dumb_map_offset</c>: the object's fake offset (created if needed); imported objects <c>-EINVAL</c>.</summary>
    [Kernel("drm_gem_dumb_map_offset", "drivers/gpu/drm/drm_gem.c")]
    public static (ulong Offset, int Err) DumbMapOffset(DrmFile file, DrmDevice dev, uint handle)
    {
        var obj = ObjectLookup(file, handle);
        if (obj is null)
        {
            return (0, -(int)Errno.ENOENT);
        }
        int ret;
        ulong offset = 0;
        if (obj.ImportAttach is not null)
        {
            ret = -(int)Errno.EINVAL;
        }
        else
        {
            ret = CreateMmapOffset(obj);
            if (ret == 0)
            {
                offset = obj.VmaNode.OffsetAddr;
            }
        }
        obj.Put();
        return (offset, ret);
    }

    /// <summary><c>drm_gem_dumb_destroy</c>.</summary>
    [Kernel("drm_gem_dumb_destroy", "drivers/gpu/drm/drm_gem.c")]
    public static int DumbDestroy(DrmFile file, DrmDevice dev, uint handle) => HandleDelete(file, handle);

    /// <summary><c>drm_gem_close_ioctl</c>.</summary>
    [Kernel("drm_gem_close_ioctl", "drivers/gpu/drm/drm_gem.c")]
    public static int CloseIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var args = ref MemoryMarshal.AsRef<drm_gem_close>(data);
        if (!dev.Driver.HasFeature(DrmDriverFeature.DRIVER_GEM))
        {
            return -(int)Errno.EOPNOTSUPP;
        }
        return HandleDelete(file, args.handle);
    }

    /// <summary><c>drm_gem_flink_ioctl</c>: a global name for the object (from 1, kept while it has handles).</summary>
    [Kernel("drm_gem_flink_ioctl", "drivers/gpu/drm/drm_gem.c")]
    public static int FlinkIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var args = ref MemoryMarshal.AsRef<drm_gem_flink>(data);
        if (!dev.Driver.HasFeature(DrmDriverFeature.DRIVER_GEM))
        {
            return -(int)Errno.EOPNOTSUPP;
        }
        var obj = ObjectLookup(file, args.handle);
        if (obj is null)
        {
            return -(int)Errno.ENOENT;
        }
        int ret;
        if (obj.HandleCount == 0)
        {
            ret = -(int)Errno.ENOENT;
        }
        else
        {
            ret = 0;
            if (obj.Name == 0)
            {
                ret = dev.ObjectNameIdr.Alloc(obj, 1);
                if (ret >= 0)
                {
                    obj.Name = ret;
                    ret = 0;
                }
            }
            if (ret == 0)
            {
                args.name = (uint)obj.Name;
            }
        }
        obj.Put();
        return ret;
    }

    /// <summary><c>drm_gem_open_ioctl</c>: a handle in this file for a flink name; <c>-ENOENT</c> for an unknown name.</summary>
    [Kernel("drm_gem_open_ioctl", "drivers/gpu/drm/drm_gem.c")]
    public static int OpenIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var args = ref MemoryMarshal.AsRef<drm_gem_open>(data);
        if (!dev.Driver.HasFeature(DrmDriverFeature.DRIVER_GEM))
        {
            return -(int)Errno.EOPNOTSUPP;
        }
        var obj = dev.ObjectNameIdr.Find((int)args.name);
        if (obj is null)
        {
            return -(int)Errno.ENOENT;
        }
        obj.Get();
        int ret = HandleCreateTail(file, obj, out uint handle);
        if (ret == 0)
        {
            args.handle = handle;
            args.size = obj.Size;
        }
        obj.Put();
        return ret;
    }

    /// <summary><c>drm_gem_release</c>: every handle of a closing file is released, in handle order.</summary>
    [Kernel("drm_gem_release", "drivers/gpu/drm/drm_gem.c")]
    public static void Release(DrmDevice dev, DrmFile file)
    {
        foreach (var (id, slot) in file.ObjectIdr.Entries())
        {
            if (slot.Obj is not null)
            {
                ObjectReleaseHandle(id, slot.Obj, file);
            }
        }
        foreach (var (id, _) in file.ObjectIdr.Entries())
        {
            file.ObjectIdr.Remove(id);
        }
    }

    /// <summary>
    /// <c>drm_gem_mmap_obj</c>: the mapping may not be longer than the object; it takes a reference for the
    /// mapping and calls <c>funcs-&gt;mmap</c> (or uses <c>funcs-&gt;vm_ops</c> as a PFN map).
    /// </summary>
    [Kernel("drm_gem_mmap_obj", "drivers/gpu/drm/drm_gem.c")]
    public static int MmapObj(DrmGemObject obj, ulong objSize, Vma vma)
    {
        if (objSize < vma.End - vma.Start)
        {
            return -(int)Errno.EINVAL;
        }
        obj.Get();
        vma.PrivateData = obj;
        vma.Ops = obj.Funcs.VmOps;
        int ret;
        if (obj.Funcs.Mmap is not null)
        {
            ret = obj.Funcs.Mmap(obj, vma);
            if (ret != 0)
            {
                obj.Put();
                return ret;
            }
            obj.Dev.Warnings.On((vma.Flags & Vma.VM_DONTEXPAND) == 0, "drm_gem_mmap_obj: !VM_DONTEXPAND");
        }
        else
        {
            if (vma.Ops is null)
            {
                obj.Put();
                return -(int)Errno.EINVAL;
            }
            vma.Flags |= Vma.VM_IO | Vma.VM_PFNMAP | Vma.VM_DONTEXPAND | Vma.VM_DONTDUMP;
        }
        return 0;
    }

    /// <summary>
    /// <c>drm_gem_mmap</c>: the vma's page offset must be the exact start of an object's fake offset range and
    /// the mapping no longer than it (<c>-EINVAL</c> otherwise); the file must hold a handle of it (<c>-EACCES</c>).
    /// </summary>
    [Kernel("drm_gem_mmap", "drivers/gpu/drm/drm_gem.c")]
    public static int Mmap(KernelFile filp, Vma vma)
    {
        if (filp.PrivateData is not DrmFile priv)
        {
            return -(int)Errno.ENODEV;
        }
        var dev = priv.Dev;
        var node = dev.VmaOffsetManager.ExactLookup(vma.PgOff, vma.Pages);
        DrmGemObject? obj = null;
        if (node is not null)
        {
            obj = node.Owner;
            if (obj is not null && !obj.GetUnlessZero())
            {
                obj = null;
            }
            else if (obj is null)
            {
                // A kernel-internal object (fbdev) the model does not have: it exists, but no file may map it.
                return -(int)Errno.EACCES;
            }
        }
        if (obj is null)
        {
            return -(int)Errno.EINVAL;
        }
        if (!node!.IsAllowed(priv))
        {
            obj.Put();
            return -(int)Errno.EACCES;
        }
        int ret = MmapObj(obj, node.Size << 12, vma);
        obj.Put();
        return ret;
    }
}
