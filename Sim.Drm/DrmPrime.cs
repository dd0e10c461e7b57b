// Models drivers/gpu/drm/drm_prime.c (Linux 6.1): the per-file PRIME cache (dma-buf <-> handle) and the
// PRIME ioctls' entry points.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Fs;

namespace Sim.Drm;

/// <summary>
/// <c>struct drm_prime_file_private</c>: the file's cache of (dma-buf, handle) pairs (the kernel's two rbtrees
/// <c>dmabufs</c> and <c>handles</c>); each entry holds a reference to its dma-buf.
/// </summary>
[Kernel("struct drm_prime_file_private", "include/drm/drm_file.h")]
public sealed class DrmPrimeFilePrivate
{
    private readonly List<(object DmaBuf, uint Handle)> _members = [];

    /// <summary>Entries (dma-buf, handle).</summary>
    public IReadOnlyList<(object DmaBuf, uint Handle)> Members => _members;

    /// <summary><c>drm_prime_add_buf_handle</c>: caches the pair; the caller has taken the dma-buf reference for it.</summary>
    [Kernel("drm_prime_add_buf_handle", "drivers/gpu/drm/drm_prime.c")]
    public int AddBufHandle(object dmaBuf, uint handle)
    {
        _members.Add((dmaBuf, handle));
        return 0;
    }

    /// <summary><c>drm_prime_lookup_buf_handle</c>: the handle cached for a dma-buf, or null.</summary>
    [Kernel("drm_prime_lookup_buf_handle", "drivers/gpu/drm/drm_prime.c")]
    public uint? LookupBufHandle(object dmaBuf)
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
    public object? LookupBufByHandle(uint handle)
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
                DrmPrime.DmaBufPut(b);
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
    /// <c>drm_prime_handle_to_fd_ioctl</c>: <c>-ENOSYS</c> without the driver hook; flags other than DRM_CLOEXEC and
    /// DRM_RDWR <c>-EINVAL</c> (before the handle is looked at); then the driver's <c>prime_handle_to_fd</c>.
    /// </summary>
    [Kernel("drm_prime_handle_to_fd_ioctl", "drivers/gpu/drm/drm_prime.c")]
    public static int HandleToFdIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var args = ref System.Runtime.InteropServices.MemoryMarshal.AsRef<Uapi.drm_prime_handle>(data);
        if (dev.Driver.PrimeHandleToFd is null)
        {
            return -(int)Sim.Core.Uapi.Errno.ENOSYS;
        }
        if ((args.flags & ~(Uapi.DrmH.DRM_CLOEXEC | Uapi.DrmH.DRM_RDWR)) != 0)
        {
            return -(int)Sim.Core.Uapi.Errno.EINVAL;
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
        ref var args = ref System.Runtime.InteropServices.MemoryMarshal.AsRef<Uapi.drm_prime_handle>(data);
        if (dev.Driver.PrimeFdToHandle is null)
        {
            return -(int)Sim.Core.Uapi.Errno.ENOSYS;
        }
        var (handle, err) = dev.Driver.PrimeFdToHandle(dev, file, args.fd);
        if (err == 0)
        {
            args.handle = handle;
        }
        return err;
    }

    /// <summary><c>drm_prime_gem_destroy</c>: unmaps, detaches and drops the dma-buf of an imported object.</summary>
    [Kernel("drm_prime_gem_destroy", "drivers/gpu/drm/drm_prime.c")]
    public static void GemDestroy(DrmGemObject obj, Sim.Core.Lib.SgTable? sg) =>
        throw new InvalidOperationException("drm_prime_gem_destroy: imports need the dma-buf core");

    /// <summary><c>dma_buf_put</c> of a dma-buf the DRM core holds (its file's reference).</summary>
    [Kernel("dma_buf_put", "drivers/dma-buf/dma-buf.c")]
    public static void DmaBufPut(object dmaBuf)
    {
        if (dmaBuf is KernelFile f)
        {
            f.Put();
        }
        else
        {
            throw new InvalidOperationException("DrmPrime.DmaBufPut: not a dma-buf");
        }
    }
}
