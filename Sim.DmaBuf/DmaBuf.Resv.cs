// The parts of drivers/dma-buf/dma-buf.c (Linux 6.1) that use the dma-buf's reservation object (dma_resv):
// init/fini, lock/unlock/assert, the kernel-fence wait of __map_dma_buf, the CPU-access wait, dma_buf_poll with its
// fence callbacks, EXPORT/IMPORT_SYNC_FILE and dma_resv_describe in bufinfo.
using System.Buffers.Binary;
using System.Text;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Time;
using Sim.Core.Uapi;
using static Sim.DmaBufs.Uapi.DmaBufUapi;

namespace Sim.DmaBufs;

/// <summary><c>struct dma_buf_poll_cb_t</c>: a fence callback with the poll events it waits for (<c>active</c>).</summary>
[Kernel("dma_buf_poll_cb_t", "include/linux/dma-buf.h")]
public sealed class DmaBufPollCb : DmaFenceCb
{
    /// <summary><c>active</c>: EPOLLIN/EPOLLOUT while a callback is queued (or being set up), else 0.</summary>
    public uint Active { get; internal set; }
}

public sealed partial class DmaBuf
{
    private readonly DmaBufPollCb _cbIn = new();
    private readonly DmaBufPollCb _cbOut = new();
    private bool _resvEmbedded;

    /// <summary><c>resv</c>: the exporter's reservation object, or the one embedded in the dma-buf.</summary>
    public DmaResv Resv { get; private set; } = null!;

    /// <summary><c>cb_in</c> (POLLIN callback).</summary>
    public DmaBufPollCb CbIn => _cbIn;

    /// <summary><c>cb_out</c> (POLLOUT callback).</summary>
    public DmaBufPollCb CbOut => _cbOut;

    // dma_buf_export: resv given (exp_info->resv) or embedded (dma_resv_init of &dmabuf[1]).
    private void InitResv(DmaResv? given)
    {
        _resvEmbedded = given is null;
        Resv = given ?? new DmaResv(_dbList.FenceCore);
    }

    // dma_buf_release: dma_resv_fini of the embedded object only.
    private void FiniResv()
    {
        if (_resvEmbedded)
        {
            Resv.Fini();
        }
    }

    // BUG_ON(dmabuf->cb_in.active || dmabuf->cb_out.active) in dma_buf_release.
    private void ReleaseResvCallbacksCheck() =>
        KernelBugException.On(_cbIn.Active != 0 || _cbOut.Active != 0, "dma_buf_release: poll callback active");

    /// <summary><c>dma_resv_lock(dmabuf-&gt;resv, NULL)</c>.</summary>
    internal void ResvLock() => Resv.Lock(null);

    /// <summary><c>dma_resv_unlock(dmabuf-&gt;resv)</c>.</summary>
    internal void ResvUnlock() => Resv.Unlock();

    /// <summary><c>dma_resv_assert_held(dmabuf-&gt;resv)</c> (a WARN when not held).</summary>
    internal void ResvAssertHeld() => Resv.AssertHeld();

    // __map_dma_buf: dma_resv_wait_timeout(resv, DMA_RESV_USAGE_KERNEL, true, MAX_SCHEDULE_TIMEOUT).
    private long WaitKernelFencesForMap() => Resv.WaitTimeout(DmaResvUsage.KERNEL, true, Ktime.MAX_SCHEDULE_TIMEOUT);

    // __dma_buf_begin_cpu_access: wait on the implicit fences: writers for a read, everyone for a write.
    [Kernel("__dma_buf_begin_cpu_access", "drivers/dma-buf/dma-buf.c")]
    private int BeginCpuAccessWait(DmaDataDirection direction)
    {
        bool write = direction is DmaDataDirection.DMA_BIDIRECTIONAL or DmaDataDirection.DMA_TO_DEVICE;
        long ret = Resv.WaitTimeout(DmaResvUsageExtensions.UsageRw(write), true, Ktime.MAX_SCHEDULE_TIMEOUT);
        return ret < 0 ? (int)ret : 0;
    }

    /// <summary>
    /// The resv part of <c>dma_buf_poll</c> for the requested POLLIN/POLLOUT: an event whose callback is already
    /// queued is not ready; otherwise (taking a file reference, paired with the callback's <c>fput</c>) a callback is
    /// queued on the first unsignalled fence of the usage (POLLOUT: all fences, POLLIN: writers), and the event is
    /// ready only when there is none.
    /// </summary>
    internal uint PollResv(uint events)
    {
        ResvLock();
        if ((events & Poll_h.POLLOUT) != 0)
        {
            events = PollOne(events, Poll_h.POLLOUT, _cbOut, write: true);
        }
        if ((events & Poll_h.POLLIN) != 0)
        {
            events = PollOne(events, Poll_h.POLLIN, _cbIn, write: false);
        }
        ResvUnlock();
        return events;
    }

    private uint PollOne(uint events, uint ev, DmaBufPollCb dcb, bool write)
    {
        // Check that the callback isn't busy.
        if (dcb.Active != 0)
        {
            return events & ~ev;
        }
        dcb.Active = ev;
        // Paired with fput in dma_buf_poll_cb.
        File.Get();
        if (!PollAddCb(write, dcb))
        {
            // No callback queued: wake up any other waiters.
            PollCb(null, dcb);
            return events;
        }
        return events & ~ev;
    }

    [Kernel("dma_buf_poll_add_cb", "drivers/dma-buf/dma-buf.c")]
    private bool PollAddCb(bool write, DmaBufPollCb dcb)
    {
        var cursor = new DmaResvIter(Resv, DmaResvUsageExtensions.UsageRw(write));
        for (var fence = cursor.First(); fence is not null; fence = cursor.Next())
        {
            fence.Get();
            int r = fence.AddCallback(dcb, (f, cb) => PollCb(f, (DmaBufPollCb)cb));
            if (r == 0)
            {
                cursor.End();
                return true;
            }
            fence.Put();
        }
        cursor.End();
        return false;
    }

    [Kernel("dma_buf_poll_cb", "drivers/dma-buf/dma-buf.c")]
    private void PollCb(DmaFence? fence, DmaBufPollCb dcb)
    {
        dcb.Active = 0;
        fence?.Put();
        // Paired with get_file in dma_buf_poll.
        File.Put();
    }

    /// <summary><c>dma_resv_describe</c> under the reservation lock, for bufinfo.</summary>
    internal void DescribeResv(StringBuilder s)
    {
        ResvLock();
        s.Append(Resv.Describe());
        ResvUnlock();
    }

    /// <summary>
    /// <c>dma_buf_export_sync_file</c>: flags must be READ and/or WRITE (<c>-EINVAL</c>); the unsignalled fences of
    /// the reservation object (writers for READ, all for WRITE) become one fence (<c>dma_resv_get_singleton</c>; the
    /// signalled stub when there is none) in a new sync_file at the lowest free fd (O_CLOEXEC).
    /// </summary>
    [Kernel("dma_buf_export_sync_file", "drivers/dma-buf/dma-buf.c")]
    internal long ExportSyncFile(UserArg arg, Process current)
    {
        Span<byte> b = stackalloc byte[8];
        if (arg.CopyFromUser(b) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(b);
        if ((flags & ~(uint)DMA_BUF_SYNC_RW) != 0)
        {
            return -(long)Errno.EINVAL;
        }
        if ((flags & (uint)DMA_BUF_SYNC_RW) == 0)
        {
            return -(long)Errno.EINVAL;
        }
        int fd = current.Files.NextFree();
        if (fd < 0)
        {
            return fd;
        }
        var usage = DmaResvUsageExtensions.UsageRw((flags & (uint)DMA_BUF_SYNC_WRITE) != 0);
        int ret = Resv.GetSingleton(usage, out var fence);
        if (ret != 0)
        {
            return ret;
        }
        fence ??= _dbList.FenceCore.GetStub();
        if (SyncFile.s_kzalloc.ShouldFail())
        {
            fence.Put(); // sync_file_create returned NULL: -ENOMEM (err_put_fd)
            return -(long)Errno.ENOMEM;
        }
        var syncFile = SyncFile.Create(_dbList, fence);
        fence.Put();

        BinaryPrimitives.WriteInt32LittleEndian(b[4..], fd);
        if (arg.CopyToUser(b) != 0)
        {
            syncFile.File.Put();
            return -(long)Errno.EFAULT;
        }
        current.InstallFile(syncFile.File, cloexec: true);
        return 0;
    }

    /// <summary>
    /// <c>dma_buf_import_sync_file</c>: flags must be READ and/or WRITE (<c>-EINVAL</c>); a fd that is not a sync_file
    /// is <c>-EINVAL</c>; its fences (unwrapped from arrays) are added with usage WRITE (WRITE set) or READ.
    /// </summary>
    [Kernel("dma_buf_import_sync_file", "drivers/dma-buf/dma-buf.c")]
    internal long ImportSyncFile(UserArg arg, Process current)
    {
        Span<byte> b = stackalloc byte[8];
        if (arg.CopyFromUser(b) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(b);
        int fd = BinaryPrimitives.ReadInt32LittleEndian(b[4..]);
        if ((flags & ~(uint)DMA_BUF_SYNC_RW) != 0)
        {
            return -(long)Errno.EINVAL;
        }
        if ((flags & (uint)DMA_BUF_SYNC_RW) == 0)
        {
            return -(long)Errno.EINVAL;
        }
        var fence = SyncFile.GetFence(current, fd);
        if (fence is null)
        {
            return -(long)Errno.EINVAL;
        }
        var usage = (flags & (uint)DMA_BUF_SYNC_WRITE) != 0 ? DmaResvUsage.WRITE : DmaResvUsage.READ;
        var unwrapped = new List<DmaFence>();
        SyncFile.Unwrap(fence, unwrapped);
        int ret = 0;
        if (unwrapped.Count > 0)
        {
            ResvLock();
            ret = Resv.ReserveFences((uint)unwrapped.Count);
            if (ret == 0)
            {
                foreach (var f in unwrapped)
                {
                    Resv.AddFence(f, usage);
                }
            }
            ResvUnlock();
        }
        fence.Put();
        return ret;
    }
}
