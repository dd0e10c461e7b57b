// Models drivers/dma-buf/sync_file.c (Linux 6.1): struct sync_file, the fd of a fence (sync_file_create,
// sync_file_get_fence, poll, release). SYNC_IOC_MERGE and SYNC_IOC_FILE_INFO are not modelled (-ENOTTY).
using Sim.Core;
using Sim.Core.Fs;
using Sim.Core.Kernel;

namespace Sim.DmaBuf;

/// <summary>
/// <c>struct sync_file</c>: an anon file (<c>"sync_file"</c>, O_RDONLY) holding one fence reference. Polling it is
/// POLLIN once the fence signalled (the first poll enables signalling with a callback).
/// </summary>
[Kernel("struct sync_file", "include/linux/sync_file.h")]
public sealed class SyncFile
{
    private readonly DmaFenceCb _cb = new();
    private readonly DmaBufList _dbList;
    private readonly long _liveId;
    private bool _pollEnabled;

    private SyncFile(DmaBufList dbList, DmaFence fence)
    {
        _dbList = dbList;
        Fence = fence.Get();
        File = new KernelFile(dbList.AnonInode, SyncFileFops.Instance, OpenFlags.O_RDONLY, dbList.Live, "anon_inode:sync_file")
        {
            PrivateData = this,
        };
        File.Mode |= KernelFile.FMODE_LSEEK | DmaBuf.FMODE_OPENED;
        _liveId = dbList.Live.Register("sync_file", $"sync_file of {fence}");
    }

    /// <summary><c>file</c>.</summary>
    public KernelFile File { get; }

    /// <summary><c>fence</c>.</summary>
    public DmaFence Fence { get; }

    /// <summary><c>sync_file_create</c>: a new sync_file with its own reference to <paramref name="fence"/>.</summary>
    [Kernel("sync_file_create", "drivers/dma-buf/sync_file.c")]
    public static SyncFile Create(DmaBufList dbList, DmaFence fence) => new(dbList, fence);

    /// <summary><c>sync_file_get_fence</c>: a reference to the fence of sync_file <paramref name="fd"/>, or null (bad fd, not a sync_file).</summary>
    [Kernel("sync_file_get_fence", "drivers/dma-buf/sync_file.c")]
    public static DmaFence? GetFence(Process current, int fd)
    {
        var file = current.Fget(fd);
        if (file is null)
        {
            return null;
        }
        file.Get();
        if (!ReferenceEquals(file.Ops, SyncFileFops.Instance))
        {
            file.Put();
            return null;
        }
        var fence = ((SyncFile)file.PrivateData!).Fence.Get();
        file.Put();
        return fence;
    }

    /// <summary>
    /// <c>dma_fence_unwrap_for_each</c>: the fences inside <paramref name="fence"/> (array elements, recursively; a chain
    /// by its contained fence), each without a new reference.
    /// </summary>
    [Kernel("dma_fence_unwrap_for_each", "include/linux/dma-fence-unwrap.h")]
    public static void Unwrap(DmaFence fence, List<DmaFence> into)
    {
        var f = DmaFenceChain.Contained(fence);
        if (DmaFenceArray.From(f) is { } array)
        {
            for (int i = 0; ; i++)
            {
                var e = i == 0 ? DmaFenceArray.First(array) : DmaFenceArray.Next(array, i);
                if (e is null)
                {
                    break;
                }
                Unwrap(e, into);
            }
            return;
        }
        into.Add(f);
    }

    [Kernel("sync_file_poll", "drivers/dma-buf/sync_file.c")]
    internal uint Poll()
    {
        if (!_cb.Pending && !_pollEnabled)
        {
            _pollEnabled = true;
            Fence.AddCallback(_cb, static (f, cb) => { });
        }
        return Fence.IsSignaled() ? Poll_h.POLLIN : 0;
    }

    [Kernel("sync_file_release", "drivers/dma-buf/sync_file.c")]
    internal void Release()
    {
        if (_pollEnabled)
        {
            Fence.RemoveCallback(_cb);
        }
        Fence.Put();
        _dbList.Live.Unregister(_liveId);
    }

    /// <summary><c>sync_file_fops</c>.</summary>
    [Kernel("sync_file_fops", "drivers/dma-buf/sync_file.c")]
    private sealed class SyncFileFops : IFileOperations
    {
        public static readonly SyncFileFops Instance = new();

        public void Release(Inode inode, KernelFile file) => ((SyncFile)file.PrivateData!).Release();

        public uint Poll(KernelFile file) => ((SyncFile)file.PrivateData!).Poll();
    }
}
