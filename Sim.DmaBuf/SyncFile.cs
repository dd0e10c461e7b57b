// Models drivers/dma-buf/sync_file.c (Linux 6.1.192; 6.12.118 adds SYNC_IOC_SET_DEADLINE): struct sync_file, the fd
// of a fence (sync_file_create, sync_file_get_fence, poll, release) and its ioctls SYNC_IOC_MERGE (on
// dma_fence_unwrap_merge), SYNC_IOC_FILE_INFO (the two-call size protocol) and, on 6.12, SYNC_IOC_SET_DEADLINE.
using System.Globalization;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;
using Sim.DmaBufs.Uapi;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct sync_file</c>: an anon file (<c>"sync_file"</c>, O_RDONLY) holding one fence reference and an optional
/// user name (<c>user_name</c>, set by merge). Polling it is POLLIN once the fence signalled (the first poll enables
/// signalling with a callback).
/// </summary>
[Kernel("struct sync_file", "include/linux/sync_file.h")]
public sealed class SyncFile
{
    private readonly DmaFenceCb _cb = new();
    private readonly DmaBufList _dbList;
    private readonly long _liveId;
    private bool _pollEnabled;

    [Kernel("sync_file_alloc", "drivers/dma-buf/sync_file.c")]
    private SyncFile(DmaBufList dbList)
    {
        _dbList = dbList;
        File = new KernelFile(dbList.AnonInode, SyncFileFops.Instance, OpenFlags.O_RDONLY, dbList.Live, "anon_inode:sync_file")
        {
            PrivateData = this,
        };
        File.Mode |= KernelFile.FMODE_LSEEK | DmaBuf.FMODE_OPENED;
        _liveId = dbList.Live.Register("sync_file", "sync_file");
    }

    /// <summary><c>file</c>.</summary>
    public KernelFile File { get; }

    /// <summary><c>fence</c> (null only while a merge is being built).</summary>
    public DmaFence Fence { get; private set; } = null!;

    /// <summary><c>user_name</c> (char[32]; empty = none).</summary>
    public string UserName { get; private set; } = "";

    /// <summary><c>sync_file_alloc</c>'s kzalloc (and its anon inode file): callers fail with -ENOMEM.</summary>
    internal static readonly FaultSite s_kzalloc = FaultSite.Register("sync_file_alloc:kzalloc");

    /// <summary><c>sync_file_ioctl_fence_info</c>'s kzalloc of the info array.</summary>
    private static readonly FaultSite s_kzallocInfo = FaultSite.Register("sync_file_ioctl_fence_info:kzalloc");

    /// <summary><c>sync_file_create</c>: a new sync_file with its own reference to <paramref name="fence"/> (the caller checked <c>s_kzalloc</c>).</summary>
    [Kernel("sync_file_create", "drivers/dma-buf/sync_file.c")]
    public static SyncFile Create(DmaBufList dbList, DmaFence fence)
    {
        ArgumentNullException.ThrowIfNull(fence);
        return new SyncFile(dbList) { Fence = fence.Get() };
    }

    /// <summary><c>sync_file_create</c> with its allocation failure: null when <c>sync_file_alloc</c> fails.</summary>
    public static SyncFile? TryCreate(DmaBufList dbList, DmaFence fence) => s_kzalloc.ShouldFail() ? null : Create(dbList, fence);

    /// <summary><c>sync_file_fdget</c>: the sync_file of <paramref name="fd"/> (its file referenced), or null (bad fd, not a sync_file).</summary>
    [Kernel("sync_file_fdget", "drivers/dma-buf/sync_file.c")]
    public static SyncFile? Fdget(Process current, int fd)
    {
        ArgumentNullException.ThrowIfNull(current);
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
        return (SyncFile)file.PrivateData!;
    }

    /// <summary><c>sync_file_get_fence</c>: a reference to the fence of sync_file <paramref name="fd"/>, or null (bad fd, not a sync_file).</summary>
    [Kernel("sync_file_get_fence", "drivers/dma-buf/sync_file.c")]
    public static DmaFence? GetFence(Process current, int fd)
    {
        var syncFile = Fdget(current, fd);
        if (syncFile is null)
        {
            return null;
        }
        var fence = syncFile.Fence.Get();
        syncFile.File.Put();
        return fence;
    }

    /// <summary>
    /// <c>dma_fence_unwrap_for_each</c> over <paramref name="fence"/>, appended to <paramref name="into"/> (see
    /// <see cref="DmaFenceUnwrap.ForEach"/>).
    /// </summary>
    [Kernel("dma_fence_unwrap_for_each", "include/linux/dma-fence-unwrap.h")]
    public static void Unwrap(DmaFence fence, List<DmaFence> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        into.AddRange(DmaFenceUnwrap.ForEach(fence));
    }

    /// <summary>
    /// <c>sync_file_get_name</c>: the user name when set, else <c>"%s-%s%llu-%lld"</c> of the fence's driver name,
    /// timeline name, context and seqno.
    /// </summary>
    [Kernel("sync_file_get_name", "drivers/dma-buf/sync_file.c")]
    public string GetName()
    {
        if (UserName.Length > 0)
        {
            return UserName;
        }
        var f = Fence;
        return string.Create(CultureInfo.InvariantCulture,
            $"{f.Ops.GetDriverName(f)}-{f.Ops.GetTimelineName(f)}{f.Context}-{(long)f.Seqno}");
    }

    /// <summary>
    /// <c>sync_file_merge(name, a, b)</c>: a new sync_file (its allocation can fail: null) whose fence is
    /// <c>dma_fence_unwrap_merge(a-&gt;fence, b-&gt;fence)</c> (null: the new file is put, null) named
    /// <paramref name="name"/>.
    /// </summary>
    [Kernel("sync_file_merge", "drivers/dma-buf/sync_file.c")]
    public static SyncFile? Merge(DmaBufList dbList, string name, SyncFile a, SyncFile b)
    {
        ArgumentNullException.ThrowIfNull(dbList);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (s_kzalloc.ShouldFail())
        {
            return null;
        }
        var syncFile = new SyncFile(dbList);
        var fence = DmaFenceUnwrap.Merge(dbList.FenceCore, a.Fence, b.Fence);
        if (fence is null)
        {
            syncFile.File.Put();
            return null;
        }
        syncFile.Fence = fence;
        syncFile.UserName = name.Length > 31 ? name[..31] : name;
        return syncFile;
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
        // The last fd closed in do_exit: a leak of the sync_file for --check.
        using var lost = _dbList.Live.LostAtExit(_liveId);
        if (_pollEnabled)
        {
            Fence.RemoveCallback(_cb);
        }
        Fence?.Put();
        _dbList.Live.Unregister(_liveId);
    }

    /// <summary>
    /// <c>sync_file_ioctl_merge</c>: reserves the lowest free fd first (its error as is), then copy_from_user
    /// (<c>-EFAULT</c>), non-zero flags or pad (<c>-EINVAL</c>), <c>fd2</c> not a sync_file (<c>-ENOENT</c>), the
    /// merge (<c>-ENOMEM</c>), copy_to_user of the struct with <c>fence</c> = the fd (<c>-EFAULT</c>, the merged
    /// file is put); the fd is installed close-on-exec.
    /// </summary>
    [Kernel("sync_file_ioctl_merge", "drivers/dma-buf/sync_file.c")]
    internal long IoctlMerge(UserArg arg, Process current)
    {
        int fd = current.Files.NextFree();
        if (fd < 0)
        {
            return fd;
        }
        Span<byte> raw = stackalloc byte[sync_merge_data.Size];
        if (arg.CopyFromUser(raw) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        var data = sync_merge_data.Read(raw);
        if (data.flags != 0 || data.pad != 0)
        {
            return -(long)Errno.EINVAL;
        }
        var fence2 = Fdget(current, data.fd2);
        if (fence2 is null)
        {
            return -(long)Errno.ENOENT;
        }
        var fence3 = Merge(_dbList, data.name, this, fence2);
        if (fence3 is null)
        {
            fence2.File.Put();
            return -(long)Errno.ENOMEM;
        }
        data.fence = fd;
        if (arg.CopyToUser(data.ToBytes()) != 0)
        {
            fence3.File.Put();
            fence2.File.Put();
            return -(long)Errno.EFAULT;
        }
        current.InstallFile(fence3.File, cloexec: true);
        fence2.File.Put();
        return 0;
    }

    /// <summary><c>sync_fill_fence_info</c>: timeline and driver names, status, and the signal time (0 while pending).</summary>
    [Kernel("sync_fill_fence_info", "drivers/dma-buf/sync_file.c")]
    private static int FillFenceInfo(DmaFence fence, out sync_fence_info info)
    {
        info = new sync_fence_info
        {
            obj_name = fence.Ops.GetTimelineName(fence),
            driver_name = fence.Ops.GetDriverName(fence),
            status = fence.GetStatus(),
        };
        info.timestamp_ns = fence.IsSignaled() ? (ulong)fence.Timestamp() : 0;
        return info.status;
    }

    /// <summary>
    /// <c>sync_file_ioctl_fence_info</c>: copy_from_user (<c>-EFAULT</c>), flags or pad (<c>-EINVAL</c>); with
    /// <c>num_fences</c> 0 only the status, name and count are returned (the first call of the two-call protocol);
    /// otherwise a capacity below the count is <c>-EINVAL</c>, the array is allocated (<c>-ENOMEM</c>), filled in
    /// unwrap order (status: the first non-positive one, else 1) and copied to <c>sync_fence_info</c>
    /// (<c>-EFAULT</c>, the struct not written), then the struct with name and count.
    /// </summary>
    [Kernel("sync_file_ioctl_fence_info", "drivers/dma-buf/sync_file.c")]
    internal long IoctlFenceInfo(UserArg arg)
    {
        Span<byte> raw = stackalloc byte[sync_file_info.Size];
        if (arg.CopyFromUser(raw) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        var info = sync_file_info.Read(raw);
        if (info.flags != 0 || info.pad != 0)
        {
            return -(long)Errno.EINVAL;
        }
        var fences = DmaFenceUnwrap.ForEach(Fence);
        uint numFences = (uint)fences.Count;
        if (info.num_fences == 0)
        {
            info.status = Fence.GetStatus();
        }
        else
        {
            info.status = 1;
            if (info.num_fences < numFences)
            {
                return -(long)Errno.EINVAL;
            }
            int size = (int)numFences * sync_fence_info.Size;
            // kzalloc(0) is ZERO_SIZE_PTR before any slab hook: it cannot fail.
            if (size > 0 && s_kzallocInfo.ShouldFail())
            {
                return -(long)Errno.ENOMEM;
            }
            var array = new byte[size];
            // The second walk of the kernel (the chain walk may have dropped signalled links in the first).
            fences = DmaFenceUnwrap.ForEach(Fence);
            numFences = 0;
            foreach (var f in fences)
            {
                int status = FillFenceInfo(f, out var fi);
                fi.Write(array.AsSpan((int)numFences++ * sync_fence_info.Size));
                info.status = info.status <= 0 ? info.status : status;
            }
            // copy_to_user of 0 bytes succeeds whatever the pointer.
            if (size > 0 && arg.CopyToUserAt(info.sync_fence_info, array) != 0)
            {
                return -(long)Errno.EFAULT;
            }
        }
        info.name = GetName();
        info.num_fences = numFences;
        return arg.CopyToUser(info.ToBytes()) != 0 ? -(long)Errno.EFAULT : 0;
    }

    /// <summary>
    /// <c>sync_file_ioctl_set_deadline</c> (Linux 6.4+): copy_from_user (<c>-EFAULT</c>), non-zero pad
    /// (<c>-EINVAL</c>), then <c>dma_fence_set_deadline(fence, deadline_ns)</c>.
    /// </summary>
    [Kernel("sync_file_ioctl_set_deadline", "drivers/dma-buf/sync_file.c")]
    internal long IoctlSetDeadline(UserArg arg)
    {
        Span<byte> raw = stackalloc byte[sync_set_deadline.Size];
        if (arg.CopyFromUser(raw) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        ulong deadline = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(raw);
        ulong pad = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(raw[8..]);
        if (pad != 0)
        {
            return -(long)Errno.EINVAL;
        }
        Fence.SetDeadline((long)deadline);
        return 0;
    }

    /// <summary>
    /// <c>sync_file_ioctl</c>: MERGE, FILE_INFO, SET_DEADLINE on kernels that have it (the machine's
    /// <see cref="Sim.Core.Boot.MachineOptions.SyncIocSetDeadline"/>), else <c>-ENOTTY</c>.
    /// </summary>
    [Kernel("sync_file_ioctl", "drivers/dma-buf/sync_file.c")]
    internal long Ioctl(uint cmd, UserArg arg, Process current) => cmd switch
    {
        SyncFileUapi.SYNC_IOC_MERGE => IoctlMerge(arg, current),
        SyncFileUapi.SYNC_IOC_FILE_INFO => IoctlFenceInfo(arg),
        SyncFileUapi.SYNC_IOC_SET_DEADLINE when _dbList.Options.SyncIocSetDeadline => IoctlSetDeadline(arg),
        _ => -(long)Errno.ENOTTY,
    };

    /// <summary><c>sync_file_fops</c>.</summary>
    [Kernel("sync_file_fops", "drivers/dma-buf/sync_file.c")]
    private sealed class SyncFileFops : IFileOperations
    {
        public static readonly SyncFileFops Instance = new();

        public void Release(Inode inode, KernelFile file) => ((SyncFile)file.PrivateData!).Release();

        public uint Poll(KernelFile file) => ((SyncFile)file.PrivateData!).Poll();

        public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Process current) =>
            ((SyncFile)file.PrivateData!).Ioctl(cmd, arg, current);
    }
}
