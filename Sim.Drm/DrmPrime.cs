// Models drivers/gpu/drm/drm_prime.c (Linux 6.1): the per-file PRIME cache (dma-buf <-> handle), export of GEM
// objects as dma-bufs (drm_gem_prime_dmabuf_ops: attach pins, map gives the shmem pages as an sg table mapped
// for the importer, mmap through the GEM object), import (self-import of the same device's objects, or an
// attachment + mapping wrapped by the driver), and the PRIME ioctls.
using System.Runtime.InteropServices;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Drm.Uapi;

namespace Sim.Drm;

/// <summary>
/// <c>struct drm_prime_file_private</c>: the file's cache of (dma-buf, handle) pairs (the kernel's two rbtrees
/// <c>dmabufs</c> and <c>handles</c>); each entry holds a reference to its dma-buf.
/// </summary>
[Kernel("struct drm_prime_file_private", "include/drm/drm_file.h")]
public sealed class DrmPrimeFilePrivate
{
    private readonly List<(DmaBuf DmaBuf, uint Handle)> _members = [];

    /// <summary>Entries (dma-buf, handle).</summary>
    public IReadOnlyList<(DmaBuf DmaBuf, uint Handle)> Members => _members;

    /// <summary><c>drm_prime_add_buf_handle</c>: caches the pair, taking a reference to the dma-buf.</summary>
    [Kernel("drm_prime_add_buf_handle", "drivers/gpu/drm/drm_prime.c")]
    public int AddBufHandle(DmaBuf dmaBuf, uint handle)
    {
        dmaBuf.Get();
        _members.Add((dmaBuf, handle));
        return 0;
    }

    /// <summary><c>drm_prime_lookup_buf_handle</c>: the handle cached for a dma-buf, or null (<c>-ENOENT</c>).</summary>
    [Kernel("drm_prime_lookup_buf_handle", "drivers/gpu/drm/drm_prime.c")]
    public uint? LookupBufHandle(DmaBuf dmaBuf)
    {
        foreach (var (b, h) in _members)
        {
            if (ReferenceEquals(b, dmaBuf))
            {
                return h;
            }
        }
        return null;
    }

    /// <summary><c>drm_prime_lookup_buf_by_handle</c>: the dma-buf cached for a handle, or null.</summary>
    [Kernel("drm_prime_lookup_buf_by_handle", "drivers/gpu/drm/drm_prime.c")]
    public DmaBuf? LookupBufByHandle(uint handle)
    {
        foreach (var (b, h) in _members)
        {
            if (h == handle)
            {
                return b;
            }
        }
        return null;
    }

    /// <summary><c>drm_prime_remove_buf_handle</c>: drops the entry of a handle and its dma-buf reference.</summary>
    [Kernel("drm_prime_remove_buf_handle", "drivers/gpu/drm/drm_prime.c")]
    public void RemoveBufHandle(uint handle)
    {
        for (int k = 0; k < _members.Count; k++)
        {
            if (_members[k].Handle == handle)
            {
                var b = _members[k].DmaBuf;
                _members.RemoveAt(k);
                b.Put();
                return;
            }
        }
    }

    /// <summary><c>drm_prime_destroy_file_private</c>: the cache must be empty by now.</summary>
    [Kernel("drm_prime_destroy_file_private", "drivers/gpu/drm/drm_prime.c")]
    public void Destroy(Warnings warnings) => warnings.On(_members.Count != 0, "drm_prime_destroy_file_private: cache not empty");
}

/// <summary>The PRIME helpers of drm_prime.c.</summary>
[Kernel("drm_prime", "drivers/gpu/drm/drm_prime.c")]
public static class DrmPrime
{
    /// <summary>
    /// <c>drm_gem_prime_dmabuf_ops</c>: cached mappings, attach pins the object, map returns its pages as a table
    /// mapped for the importing device, release drops the object, mmap goes through the driver's
    /// <c>gem_prime_mmap</c>.
    /// </summary>
    public static readonly DmaBufOps DmabufOps = new()
    {
        CacheSgtMapping = true,
        Attach = GemMapAttach,
        Detach = GemMapDetach,
        MapDmaBuf = GemMapDmaBuf,
        UnmapDmaBuf = GemUnmapDmaBuf,
        Release = GemDmabufRelease,
        Mmap = GemDmabufMmap,
    };

    /// <summary>
    /// <c>drm_prime_handle_to_fd_ioctl</c>: <c>-ENOSYS</c> without the driver hook; flags other than DRM_CLOEXEC and
    /// DRM_RDWR <c>-EINVAL</c> (before the handle is looked at); then the driver's <c>prime_handle_to_fd</c>.
    /// </summary>
    [Kernel("drm_prime_handle_to_fd_ioctl", "drivers/gpu/drm/drm_prime.c")]
    public static int HandleToFdIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var args = ref MemoryMarshal.AsRef<drm_prime_handle>(data);
        if (dev.Driver.PrimeHandleToFd is null)
        {
            return -(int)Errno.ENOSYS;
        }
        if ((args.flags & ~(DrmH.DRM_CLOEXEC | DrmH.DRM_RDWR)) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        var (fd, err) = dev.Driver.PrimeHandleToFd(dev, file, args.handle, args.flags);
        if (err == 0)
        {
            args.fd = fd;
        }
        return err;
    }

    /// <summary><c>drm_prime_fd_to_handle_ioctl</c>: <c>-ENOSYS</c> without the driver hook, else the driver's <c>prime_fd_to_handle</c>.</summary>
    [Kernel("drm_prime_fd_to_handle_ioctl", "drivers/gpu/drm/drm_prime.c")]
    public static int FdToHandleIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var args = ref MemoryMarshal.AsRef<drm_prime_handle>(data);
        if (dev.Driver.PrimeFdToHandle is null)
        {
            return -(int)Errno.ENOSYS;
        }
        var (handle, err) = dev.Driver.PrimeFdToHandle(dev, file, args.fd);
        if (err == 0)
        {
            args.handle = handle;
        }
        return err;
    }

    /// <summary><c>drm_gem_dmabuf_export</c>: <c>dma_buf_export</c>, then a device and an object reference for the dma-buf.</summary>
    [Kernel("drm_gem_dmabuf_export", "drivers/gpu/drm/drm_prime.c")]
    public static (DmaBuf? DmaBuf, int Err) GemDmabufExport(DrmDevice dev, DmaBufExportInfo expInfo)
    {
        var obj = (DrmGemObject)expInfo.Priv!;
        var (dmabuf, err) = DmaBuf.Export(dev.DbList, expInfo);
        if (dmabuf is null)
        {
            return (null, err);
        }
        obj.Get();
        return (dmabuf, 0);
    }

    /// <summary><c>drm_gem_dmabuf_release</c>: drops the reference the export held on the object.</summary>
    [Kernel("drm_gem_dmabuf_release", "drivers/gpu/drm/drm_prime.c")]
    public static void GemDmabufRelease(DmaBuf dmaBuf) => ((DrmGemObject)dmaBuf.Priv).Put();

    /// <summary>
    /// <c>drm_gem_prime_fd_to_handle</c>: the dma-buf behind the fd (<c>-EBADF</c>, <c>-EINVAL</c> for another file);
    /// a handle this file already has for it is returned as is; otherwise the driver imports it (the same object
    /// for the device's own export), the object remembers the dma-buf, gets a handle and the pair is cached.
    /// </summary>
    [Kernel("drm_gem_prime_fd_to_handle", "drivers/gpu/drm/drm_prime.c")]
    public static (uint Handle, int Err) GemPrimeFdToHandle(DrmDevice dev, DrmFile file, int primeFd)
    {
        var current = file.Current ?? throw new InvalidOperationException("PRIME import outside a process");
        dev.DbList.Kprobe("drm_gem_prime_fd_to_handle");
        var (dmaBuf, err) = DmaBuf.Get(dev.DbList, current, primeFd);
        if (dmaBuf is null)
        {
            return (0, err);
        }
        uint handle;
        if (file.Prime.LookupBufHandle(dmaBuf) is { } cached)
        {
            dmaBuf.Put();
            return (cached, 0);
        }
        // Never seen this one, need to import.
        var (obj, ierr) = dev.Driver.GemPrimeImport is { } import ? import(dev, dmaBuf) : GemPrimeImport(dev, dmaBuf);
        if (obj is null)
        {
            dmaBuf.Put();
            return (0, ierr);
        }
        if (obj.DmaBuf is not null)
        {
            dev.Warnings.On(!ReferenceEquals(obj.DmaBuf, dmaBuf), "drm_gem_prime_fd_to_handle: obj->dma_buf != dma_buf");
        }
        else
        {
            obj.DmaBuf = dmaBuf;
            dmaBuf.Get();
        }
        int ret = DrmGem.HandleCreateTail(file, obj, out handle);
        obj.Put();
        if (ret != 0)
        {
            dmaBuf.Put();
            return (0, ret);
        }
        ret = file.Prime.AddBufHandle(dmaBuf, handle);
        if (ret != 0)
        {
            DrmGem.HandleDelete(file, handle);
            dmaBuf.Put();
            return (0, ret);
        }
        dmaBuf.Put();
        return (handle, 0);
    }

    /// <summary>
    /// <c>export_and_register_object</c>: an object without handles <c>-ENOENT</c>; the driver's
    /// <c>funcs-&gt;export</c> (or <see cref="GemPrimeExport"/>), then the object keeps a reference in
    /// <c>obj-&gt;dma_buf</c> as long as it has handles.
    /// </summary>
    [Kernel("export_and_register_object", "drivers/gpu/drm/drm_prime.c")]
    private static (DmaBuf? DmaBuf, int Err) ExportAndRegisterObject(DrmDevice dev, DrmGemObject obj, uint flags)
    {
        if (obj.HandleCount == 0)
        {
            return (null, -(int)Errno.ENOENT);
        }
        var (dmabuf, err) = obj.Funcs.Export is { } export ? export(obj, (int)flags) : GemPrimeExport(obj, (int)flags);
        if (dmabuf is null)
        {
            return (null, err);
        }
        obj.DmaBuf = dmabuf;
        dmabuf.Get();
        return (dmabuf, 0);
    }

    /// <summary>
    /// <c>drm_gem_prime_handle_to_fd</c>: an unknown handle <c>-ENOENT</c>; the dma-buf cached for the handle, the
    /// imported object's own dma-buf, the object's earlier export, or a new export (whose file's access mode comes
    /// from these flags and stays); the pair is cached and a new fd of the dma-buf is installed (O_CLOEXEC from
    /// DRM_CLOEXEC).
    /// </summary>
    [Kernel("drm_gem_prime_handle_to_fd", "drivers/gpu/drm/drm_prime.c")]
    public static (int Fd, int Err) GemPrimeHandleToFd(DrmDevice dev, DrmFile file, uint handle, uint flags)
    {
        var current = file.Current ?? throw new InvalidOperationException("PRIME export outside a process");
        dev.DbList.Kprobe("drm_gem_prime_handle_to_fd");
        var obj = DrmGem.ObjectLookup(file, handle);
        if (obj is null)
        {
            return (0, -(int)Errno.ENOENT);
        }
        int ret;
        var dmabuf = file.Prime.LookupBufByHandle(handle);
        if (dmabuf is not null)
        {
            dmabuf.Get();
        }
        else
        {
            if (obj.ImportAttach is not null)
            {
                // Re-export the original imported object.
                dmabuf = obj.ImportAttach.DmaBuf!.Get();
            }
            else if (obj.DmaBuf is not null)
            {
                dmabuf = obj.DmaBuf.Get();
            }
            else
            {
                var (made, err) = ExportAndRegisterObject(dev, obj, flags);
                if (made is null)
                {
                    obj.Put();
                    return (0, err);
                }
                dmabuf = made;
            }
            // If we've exported this buffer then cheat and add it to the import list so we get the correct handle back.
            ret = file.Prime.AddBufHandle(dmabuf, handle);
            if (ret != 0)
            {
                dmabuf.Put();
                obj.Put();
                return (0, ret);
            }
        }
        ret = dmabuf.Fd(current, flags);
        if (ret < 0)
        {
            dmabuf.Put();
            obj.Put();
            return (0, ret);
        }
        obj.Put();
        return (ret, 0);
    }

    /// <summary><c>drm_gem_map_attach</c>: <c>drm_gem_pin</c> (the object's <c>funcs-&gt;pin</c>, or nothing).</summary>
    [Kernel("drm_gem_map_attach", "drivers/gpu/drm/drm_prime.c")]
    public static int GemMapAttach(DmaBuf dmaBuf, DmaBufAttachment attach)
    {
        var obj = (DrmGemObject)dmaBuf.Priv;
        return obj.Funcs.Pin is { } pin ? pin(obj) : 0;
    }

    /// <summary><c>drm_gem_map_detach</c>: <c>drm_gem_unpin</c>.</summary>
    [Kernel("drm_gem_map_detach", "drivers/gpu/drm/drm_prime.c")]
    public static void GemMapDetach(DmaBuf dmaBuf, DmaBufAttachment attach)
    {
        var obj = (DrmGemObject)dmaBuf.Priv;
        obj.Funcs.Unpin?.Invoke(obj);
    }

    /// <summary>
    /// <c>drm_gem_map_dma_buf</c>: DMA_NONE or no <c>get_sg_table</c> is a WARN (<c>-EINVAL</c> / <c>-ENOSYS</c>); the
    /// object's table, mapped for <c>attach-&gt;dev</c> with DMA_ATTR_SKIP_CPU_SYNC (freed again when that fails).
    /// </summary>
    [Kernel("drm_gem_map_dma_buf", "drivers/gpu/drm/drm_prime.c")]
    public static (SgTable? Sgt, int Err) GemMapDmaBuf(DmaBufAttachment attach, DmaDataDirection dir)
    {
        var obj = (DrmGemObject)attach.DmaBuf!.Priv;
        if (obj.Dev.Warnings.On(dir == DmaDataDirection.DMA_NONE, "drm_gem_map_dma_buf: DMA_NONE"))
        {
            return (null, -(int)Errno.EINVAL);
        }
        if (obj.Dev.Warnings.On(obj.Funcs.GetSgTable is null, "drm_gem_map_dma_buf: !get_sg_table"))
        {
            return (null, -(int)Errno.ENOSYS);
        }
        var (sgt, err) = obj.Funcs.GetSgTable!(obj);
        if (sgt is null)
        {
            return (null, err);
        }
        int ret = obj.Dev.DmaMapping.MapSgtable((Device)attach.Dev, sgt, dir, DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
        if (ret != 0)
        {
            sgt.Free();
            return (null, ret);
        }
        return (sgt, 0);
    }

    /// <summary><c>drm_gem_unmap_dma_buf</c>: unmaps for <c>attach-&gt;dev</c> and frees the table.</summary>
    [Kernel("drm_gem_unmap_dma_buf", "drivers/gpu/drm/drm_prime.c")]
    public static void GemUnmapDmaBuf(DmaBufAttachment attach, SgTable sgt, DmaDataDirection dir)
    {
        if (sgt is null)
        {
            return;
        }
        DmaMapping.UnmapSgtable((Device)attach.Dev, sgt, dir, DmaAttrs.DMA_ATTR_SKIP_CPU_SYNC);
        sgt.Free();
    }

    /// <summary>
    /// <c>drm_gem_prime_mmap</c>: the fake offset is added to <c>vm_pgoff</c>, then the object's <c>funcs-&gt;mmap</c>
    /// with a reference for the mapping (dropped again on failure) and the object as the mapping's private data.
    /// </summary>
    [Kernel("drm_gem_prime_mmap", "drivers/gpu/drm/drm_prime.c")]
    public static int GemPrimeMmap(DrmGemObject obj, Vma vma)
    {
        vma.PgOff += obj.VmaNode.Start;
        if (obj.Funcs.Mmap is not null)
        {
            vma.Ops = obj.Funcs.VmOps;
            obj.Get();
            int ret = obj.Funcs.Mmap(obj, vma);
            if (ret != 0)
            {
                obj.Put();
                return ret;
            }
            vma.PrivateData = obj;
            return 0;
        }
        // Objects without funcs->mmap go through the driver's fops->mmap with a fake file (not used by vgem/virtio-gpu).
        return -(int)Errno.ENOSYS;
    }

    /// <summary><c>drm_gem_dmabuf_mmap</c>: the driver's <c>gem_prime_mmap</c>, <c>-ENOSYS</c> without one.</summary>
    [Kernel("drm_gem_dmabuf_mmap", "drivers/gpu/drm/drm_prime.c")]
    public static int GemDmabufMmap(DmaBuf dmaBuf, Vma vma)
    {
        var obj = (DrmGemObject)dmaBuf.Priv;
        return obj.Dev.Driver.GemPrimeMmap is { } mmap ? mmap(obj, vma) : -(int)Errno.ENOSYS;
    }

    /// <summary>
    /// <c>drm_prime_pages_to_sg</c>: the frames as a table coalesced up to <c>dma_max_mapping_size</c> of the device
    /// (UINT_MAX when that is 0; the size is passed as an unsigned int).
    /// </summary>
    [Kernel("drm_prime_pages_to_sg", "drivers/gpu/drm/drm_prime.c")]
    public static (SgTable? Sgt, int Err) PagesToSg(DrmDevice? dev, ReadOnlySpan<ulong> pages, uint nrPages)
    {
        var sg = new SgTable();
        ulong maxSegment = 0;
        if (dev is not null)
        {
            maxSegment = dev.DmaMapping.MaxMappingSize(dev.DmaDev);
        }
        if (maxSegment == 0)
        {
            maxSegment = uint.MaxValue;
        }
        int err = SgTable.AllocFromPagesSegment(sg, pages, nrPages, 0, (ulong)nrPages << 12, unchecked((uint)maxSegment), dev?.Warnings);
        return err != 0 ? (null, err) : (sg, 0);
    }

    /// <summary>
    /// <c>drm_gem_prime_export</c>: a dma-buf of the object with the core's ops, exp_name "drm" (KBUILD_MODNAME of
    /// drm_prime.c), the object's size, the flags as file flags and the object's reservation object.
    /// </summary>
    [Kernel("drm_gem_prime_export", "drivers/gpu/drm/drm_prime.c")]
    public static (DmaBuf? DmaBuf, int Err) GemPrimeExport(DrmGemObject obj, int flags)
    {
        var info = new DmaBufExportInfo
        {
            ExpName = "drm",
            Ops = DmabufOps,
            Size = obj.Size,
            Flags = (uint)flags,
            Priv = obj,
            Resv = obj.Resv,
        };
        return GemDmabufExport(obj.Dev, info);
    }

    /// <summary>
    /// <c>drm_gem_prime_import_dev</c>: this device's own export gives back its object (one more reference);
    /// without <c>gem_prime_import_sg_table</c> <c>-EINVAL</c>; otherwise attach <paramref name="attachDev"/>, take a
    /// dma-buf reference, map DMA_BIDIRECTIONAL and let the driver wrap the table (the object then uses the
    /// dma-buf's reservation object); failures unwind in the kernel's order.
    /// </summary>
    [Kernel("drm_gem_prime_import_dev", "drivers/gpu/drm/drm_prime.c")]
    public static (DrmGemObject? Obj, int Err) GemPrimeImportDev(DrmDevice dev, DmaBuf dmaBuf, Device attachDev)
    {
        dev.DbList.Kprobe("drm_gem_prime_import_dev");
        if (ReferenceEquals(dmaBuf.Ops, DmabufOps) && dmaBuf.Priv is DrmGemObject own && own.Dev == dev)
        {
            // Importing a dma-buf exported from our own gem increases the refcount on the gem itself.
            return (own.Get(), 0);
        }
        if (dev.Driver.GemPrimeImportSgTable is null)
        {
            return (null, -(int)Errno.EINVAL);
        }
        var (attach, err) = dmaBuf.Attach(attachDev);
        if (attach is null)
        {
            return (null, err);
        }
        dmaBuf.Get();
        int ret;
        var (sgt, merr) = DmaBuf.MapAttachment(attach, DmaDataDirection.DMA_BIDIRECTIONAL, dev.Warnings);
        if (sgt is null)
        {
            ret = merr;
            goto fail_detach;
        }
        var (obj, ierr) = dev.Driver.GemPrimeImportSgTable(dev, attach, sgt);
        if (obj is null)
        {
            ret = ierr;
            goto fail_unmap;
        }
        obj.ImportAttach = attach;
        obj.Resv = dmaBuf.Resv;
        return (obj, 0);

    fail_unmap:
        DmaBuf.UnmapAttachment(attach, sgt, DmaDataDirection.DMA_BIDIRECTIONAL, dev.Warnings);
    fail_detach:
        dmaBuf.Detach(attach);
        dmaBuf.Put();
        return (null, ret);
    }

    /// <summary><c>drm_gem_prime_import</c>: <see cref="GemPrimeImportDev"/> with the device's own <c>dev-&gt;dev</c>.</summary>
    [Kernel("drm_gem_prime_import", "drivers/gpu/drm/drm_prime.c")]
    public static (DrmGemObject? Obj, int Err) GemPrimeImport(DrmDevice dev, DmaBuf dmaBuf) => GemPrimeImportDev(dev, dmaBuf, dev.DmaDev);

    /// <summary><c>drm_prime_gem_destroy</c>: unmaps the import's table, detaches and drops the dma-buf reference.</summary>
    [Kernel("drm_prime_gem_destroy", "drivers/gpu/drm/drm_prime.c")]
    public static void GemDestroy(DrmGemObject obj, SgTable? sg)
    {
        var attach = obj.ImportAttach!;
        if (sg is not null)
        {
            DmaBuf.UnmapAttachment(attach, sg, DmaDataDirection.DMA_BIDIRECTIONAL, obj.Dev.Warnings);
        }
        var dmaBuf = attach.DmaBuf!;
        dmaBuf.Detach(attach);
        dmaBuf.Put();
    }
}
