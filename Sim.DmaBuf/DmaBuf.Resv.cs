// The parts of drivers/dma-buf/dma-buf.c (Linux 6.1) that use the dma-buf's reservation object (dma_resv):
// lock/unlock/assert, the kernel-fence wait of __map_dma_buf, the CPU-access wait, poll callbacks and
// dma_resv_describe in bufinfo.
// UNFINISHED: Sim.DmaBuf/DmaResv.cs (branch wip/fence) is not merged yet. Until it is, a dma-buf has no
// reservation object: there is nothing to lock, no fence to wait for and nothing to describe.
using System.Buffers.Binary;
using System.Text;
using Sim.Core;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;
using static Sim.DmaBuf.Uapi.DmaBufUapi;

namespace Sim.DmaBuf;

public sealed partial class DmaBuf
{
    private int _resvLockDepth;

    // dma_resv_init of the embedded object (exp_info->resv == NULL), or the exporter's one.
    private void InitResv()
    {
    }

    // dma_resv_fini of the embedded object at release.
    private void FiniResv()
    {
    }

    // BUG_ON(dmabuf->cb_in.active || dmabuf->cb_out.active) in dma_buf_release.
    private void ReleaseResvCallbacksCheck()
    {
    }

    /// <summary><c>dma_resv_lock(dmabuf-&gt;resv, NULL)</c>.</summary>
    internal void ResvLock() => _resvLockDepth++;

    /// <summary><c>dma_resv_unlock(dmabuf-&gt;resv)</c>.</summary>
    internal void ResvUnlock() => _resvLockDepth--;

    /// <summary><c>dma_resv_assert_held</c> (lockdep only: never fails a call).</summary>
    internal void ResvAssertHeld()
    {
    }

    // __map_dma_buf: dma_resv_wait_timeout(resv, DMA_RESV_USAGE_KERNEL, true, MAX_SCHEDULE_TIMEOUT).
    private long WaitKernelFencesForMap() => 1;

    // __dma_buf_begin_cpu_access: dma_resv_wait_timeout(resv, dma_resv_usage_rw(write), true, MAX_SCHEDULE_TIMEOUT).
    private int BeginCpuAccessWait(DmaDataDirection direction)
    {
        _ = direction;
        return 0;
    }

    /// <summary><c>dma_buf_poll</c>: the ready mask for the requested POLLIN/POLLOUT.</summary>
    internal uint PollResv(uint requested) => requested & (Sim.Core.Fs.Poll_h.POLLIN | Sim.Core.Fs.Poll_h.POLLOUT);

    /// <summary><c>dma_resv_describe</c> for bufinfo.</summary>
    internal void DescribeResv(StringBuilder s)
    {
        _ = s;
    }

    /// <summary>
    /// <c>dma_buf_export_sync_file</c>: flags must be READ and/or WRITE (<c>-EINVAL</c>); the fences of the
    /// reservation object (writers for READ, all for WRITE) become one sync_file at the lowest free fd (O_CLOEXEC).
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
        // UNFINISHED until DmaResv/DmaFence are merged: dma_resv_get_singleton + sync_file_create.
        return -(long)Errno.ENOSYS;
    }

    /// <summary>
    /// <c>dma_buf_import_sync_file</c>: flags must be READ and/or WRITE (<c>-EINVAL</c>); a fd that is not a
    /// sync_file is <c>-EINVAL</c>; its fences are added with usage WRITE (WRITE set) or READ.
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
        // sync_file_get_fence(fd): NULL for anything but a sync_file.
        var file = current.Fget(fd);
        if (file is null)
        {
            return -(long)Errno.EINVAL;
        }
        // UNFINISHED until DmaResv/DmaFence are merged: reserve + add the unwrapped fences.
        return -(long)Errno.ENOSYS;
    }
}
