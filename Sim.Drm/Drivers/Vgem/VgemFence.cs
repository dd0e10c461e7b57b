// Models drivers/gpu/drm/vgem/vgem_fence.c (Linux 6.1): the vgem dma_fence (driver "vgem", timeline "unbound", its
// own context, seqno 1, signalled by ioctl or by a 10 s timer) and DRM_IOCTL_VGEM_FENCE_ATTACH / _SIGNAL.
using System.Runtime.InteropServices;
using Sim.Core;
using Sim.Core.Lib;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Drm.Uapi;

namespace Sim.Drm.Drivers.Vgem;

/// <summary>
/// <c>struct vgem_fence</c>: a <see cref="DmaFence"/> with the timer that forces it to signal
/// <see cref="VgemFence.VGEM_FENCE_TIMEOUT_S"/> seconds after it was created.
/// </summary>
[Kernel("struct vgem_fence", "drivers/gpu/drm/vgem/vgem_fence.c")]
public sealed class VgemFenceObject : DmaFence
{
    /// <summary><c>timer</c>: the armed timeout (null before <c>mod_timer</c>).</summary>
    public Ktime.Timer? Timer { get; internal set; }
}

/// <summary>A slot of a vgem file's fence table: the fence, or null once signalled by ioctl (the id stays taken).</summary>
public sealed class VgemFenceSlot
{
    /// <summary>The fence, or null (<c>idr_replace(..., NULL, id)</c>).</summary>
    public DmaFence? Fence { get; set; }
}

/// <summary>The vgem fence functions of vgem_fence.c.</summary>
[Kernel("vgem_fence", "drivers/gpu/drm/vgem/vgem_fence.c")]
public static class VgemFence
{
    /// <summary>VGEM_FENCE_TIMEOUT in seconds (<c>10*HZ</c> jiffies).</summary>
    public const int VGEM_FENCE_TIMEOUT_S = 10;

    /// <summary><c>vgem_fence_ops</c>: driver "vgem", timeline "unbound", release cancels the timer.</summary>
    public static readonly DmaFenceOps Ops = new()
    {
        GetDriverName = static _ => "vgem",
        GetTimelineName = static _ => "unbound",
        Release = Release,
    };

    /// <summary><c>vgem_fence_release</c>: <c>del_timer_sync</c>, then <c>dma_fence_free</c>.</summary>
    [Kernel("vgem_fence_release", "drivers/gpu/drm/vgem/vgem_fence.c")]
    private static void Release(DmaFence fence)
    {
        var f = (VgemFenceObject)fence;
        if (f.Timer is { } t)
        {
            Ktime.Cancel(t);
        }
        f.Free();
    }

    /// <summary>
    /// <c>vgem_fence_create</c>: a fence of a new context with seqno 1 whose timer signals it at
    /// <c>jiffies + VGEM_FENCE_TIMEOUT</c> (the timer wheel rounds the expiry up).
    /// </summary>
    [Kernel("vgem_fence_create", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static VgemFenceObject Create(DmaFenceCore core)
    {
        var fence = new VgemFenceObject();
        fence.Init(core, Ops, core.ContextAlloc(1), 1);
        var clock = core.Clock;
        // vgem_fence_timeout: dma_fence_signal(&fence->base).
        fence.Timer = KernelTimer.AddTimer(clock, clock.Jiffies + (long)VGEM_FENCE_TIMEOUT_S * clock.Hz, () => fence.Signal());
        return fence;
    }

    private static readonly Sim.Core.Debug.FaultSite s_kzallocFence = Sim.Core.Debug.FaultSite.Register("vgem_fence_create:kzalloc");

    /// <summary>
    /// <c>vgem_fence_attach_ioctl</c>: flags other than VGEM_FENCE_WRITE or a nonzero pad <c>-EINVAL</c>, an unknown
    /// handle <c>-ENOENT</c>; a fence is created, then a conflicting unsignalled fence on the object's reservation
    /// object (any fence for a write, a write fence for a read) fails it with <c>-EBUSY</c> (the new fence is
    /// signalled and dropped); otherwise it is added (WRITE or READ usage) and gets the file's next fence id.
    /// </summary>
    [Kernel("vgem_fence_attach_ioctl", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static int FenceAttachIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var arg = ref MemoryMarshal.AsRef<drm_vgem_fence_attach>(data);
        var vfile = (VgemFile)file.DriverPriv!;
        if ((arg.flags & ~VgemDrmH.VGEM_FENCE_WRITE) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (arg.pad != 0)
        {
            return -(int)Errno.EINVAL;
        }
        var obj = DrmGem.ObjectLookup(file, arg.handle);
        if (obj is null)
        {
            return -(int)Errno.ENOENT;
        }
        bool write = (arg.flags & VgemDrmH.VGEM_FENCE_WRITE) != 0;
        if (s_kzallocFence.ShouldFail())
        {
            obj.Put(); // vgem_fence_create returned NULL: -ENOMEM (err: drm_gem_object_put)
            return -(int)Errno.ENOMEM;
        }
        var fence = Create(dev.FenceCore);
        int ret;
        // Check for a conflicting fence.
        var resv = obj.Resv;
        if (!resv.TestSignaled(DmaResvUsageExtensions.UsageRw(write)))
        {
            ret = -(int)Errno.EBUSY;
        }
        else
        {
            // Expose the fence via the dma-buf.
            resv.Lock(null);
            ret = resv.ReserveFences(1);
            if (ret == 0)
            {
                resv.AddFence(fence, write ? DmaResvUsage.WRITE : DmaResvUsage.READ);
            }
            resv.Unlock();
            // Record the fence in our idr for later signalling.
            if (ret == 0)
            {
                ret = vfile.FenceIdr.Alloc(new VgemFenceSlot { Fence = fence }, 1);
                if (ret > 0)
                {
                    arg.out_fence = (uint)ret;
                    ret = 0;
                }
            }
        }
        if (ret != 0)
        {
            fence.Signal();
            fence.Put();
        }
        obj.Put();
        return ret;
    }

    /// <summary>
    /// <c>vgem_fence_signal_ioctl</c>: flags != 0 <c>-EINVAL</c>; the id's fence is taken out of the table (the id
    /// stays used); an unknown or already consumed id <c>-ENOENT</c>; a fence the timer already signalled
    /// <c>-ETIMEDOUT</c>; the fence is signalled and the table's reference dropped.
    /// </summary>
    [Kernel("vgem_fence_signal_ioctl", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static int FenceSignalIoctl(DrmDevice dev, Span<byte> data, DrmFile file)
    {
        ref var arg = ref MemoryMarshal.AsRef<drm_vgem_fence_signal>(data);
        var vfile = (VgemFile)file.DriverPriv!;
        if (arg.flags != 0)
        {
            return -(int)Errno.EINVAL;
        }
        // idr_replace(&vfile->fence_idr, NULL, arg->fence): ids above INT_MAX or below the base name nothing.
        var slot = arg.fence <= int.MaxValue ? vfile.FenceIdr.Find((int)arg.fence) : null;
        var fence = slot?.Fence;
        if (slot is not null)
        {
            slot.Fence = null;
        }
        if (fence is null)
        {
            return -(int)Errno.ENOENT;
        }
        int ret = 0;
        if (fence.IsSignaled())
        {
            ret = -(int)Errno.ETIMEDOUT;
        }
        fence.Signal();
        fence.Put();
        return ret;
    }

    /// <summary><c>vgem_fence_open</c>: an empty fence table (ids from 1).</summary>
    [Kernel("vgem_fence_open", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static int FenceOpen(VgemFile vfile) => 0;

    /// <summary><c>vgem_fence_close</c>: every fence still in the table is signalled and dropped, in id order.</summary>
    [Kernel("vgem_fence_close", "drivers/gpu/drm/vgem/vgem_fence.c")]
    public static void FenceClose(VgemFile vfile)
    {
        foreach (var (_, slot) in vfile.FenceIdr.Entries())
        {
            // __vgem_fence_idr_fini
            if (slot.Fence is { } fence)
            {
                fence.Signal();
                fence.Put();
                slot.Fence = null;
            }
        }
    }
}
