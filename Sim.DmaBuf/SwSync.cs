// Models drivers/dma-buf/sw_sync.c and sync_debug.h (Linux 6.1; 6.12's deadline additions): software timelines
// whose fences tests signal by hand, and the debugfs file /sys/kernel/debug/sync/sw_sync (machine option sw_sync)
// with SW_SYNC_IOC_CREATE_FENCE, SW_SYNC_IOC_INC and, on 6.12, SW_SYNC_GET_DEADLINE. Debian builds sw_sync on
// neither kernel: this follows the upstream source.
using System.Buffers.Binary;
using System.Globalization;
using Sim.Core;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Sim.DmaBufs.Uapi;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct sync_timeline</c>: a counter (<see cref="Value"/>) on its own fence context; its points
/// (<see cref="SyncPt"/>) signal once the counter reaches their seqno (u32 wrap-around compare). Refcounted: each
/// point holds a reference, the creator (the sw_sync file) one more.
/// </summary>
[Kernel("sync_timeline", "drivers/dma-buf/sync_debug.h")]
public sealed class SyncTimeline
{
    private readonly List<SyncPt> _ptList = [];
    private Kref _kref;
    private long _liveId;
    private SyncDebug? _debug;

    private SyncTimeline(DmaFenceCore core, string name)
    {
        Core = core;
        Name = name;
    }

    /// <summary>The machine's fence core.</summary>
    public DmaFenceCore Core { get; }

    /// <summary><c>name</c> (the creating task's comm).</summary>
    public string Name { get; }

    /// <summary><c>context</c>: one fence context of its own.</summary>
    public ulong Context { get; private set; }

    /// <summary><c>value</c>: the last signalled point.</summary>
    public uint Value { get; private set; }

    /// <summary>Points not yet signalled, in seqno order (<c>pt_list</c>).</summary>
    public IReadOnlyList<SyncPt> ActivePoints => _ptList;

    /// <summary><c>kref_read</c>.</summary>
    public int RefCount => _kref.Read;

    /// <summary><c>sync_timeline_create(name)</c>: a new timeline at value 0 with a new context.</summary>
    /// <remarks>With <paramref name="debug"/>, the timeline goes on sync_debug.c's list (<c>sync_timeline_debug_add</c>).</remarks>
    [Kernel("sync_timeline_create", "drivers/dma-buf/sw_sync.c")]
    public static SyncTimeline Create(DmaFenceCore core, string name, SyncDebug? debug = null)
    {
        var obj = new SyncTimeline(core, name);
        obj._kref.Init();
        obj.Context = core.ContextAlloc(1);
        obj._liveId = core.LiveObjects.Register("sync_timeline", name);
        obj._debug = debug;
        debug?.Add(obj);
        return obj;
    }

    /// <summary><c>sync_timeline_get</c>.</summary>
    [Kernel("sync_timeline_get", "drivers/dma-buf/sw_sync.c")]
    public void Get() => _kref.Get();

    /// <summary><c>sync_timeline_put</c>: the last reference frees the timeline.</summary>
    [Kernel("sync_timeline_put", "drivers/dma-buf/sw_sync.c")]
    public void Put() => _kref.Put(Free);

    [Kernel("sync_timeline_free", "drivers/dma-buf/sw_sync.c")]
    private void Free()
    {
        _debug?.Remove(this);
        Core.LiveObjects.Unregister(_liveId);
    }

    /// <summary>
    /// <c>sync_timeline_signal(obj, inc)</c>: advances the counter by <paramref name="inc"/> and signals, in order,
    /// every point it reached.
    /// </summary>
    [Kernel("sync_timeline_signal", "drivers/dma-buf/sw_sync.c")]
    public void Signal(uint inc)
    {
        Value = unchecked(Value + inc);
        var signalled = new List<SyncPt>();
        while (_ptList.Count > 0)
        {
            var pt = _ptList[0];
            if (!SyncPt.TimelineFenceSignaled(pt))
            {
                break;
            }
            pt.Get();
            _ptList.RemoveAt(0);
            pt.Linked = false;
            signalled.Add(pt);
            pt.SignalLocked();
        }
        foreach (var pt in signalled)
        {
            pt.Put();
        }
    }

    /// <summary>
    /// <c>sync_pt_create(obj, value)</c>: a point at <paramref name="value"/> (a reference for the caller). An
    /// unsignalled point with the same value that is still alive is returned instead of a new one.
    /// </summary>
    [Kernel("sync_pt_create", "drivers/dma-buf/sw_sync.c")]
    public SyncPt CreatePt(uint value)
    {
        var pt = new SyncPt(this);
        Get();
        pt.Init(Core, SyncPt.TimelineFenceOps, Context, value);
        if (!pt.IsSignaledLocked())
        {
            // The rb-tree walk: equal values reuse a live point, otherwise go left of it.
            int pos = 0;
            for (; pos < _ptList.Count; pos++)
            {
                var other = _ptList[pos];
                int cmp = unchecked((int)(value - (uint)other.Seqno));
                if (cmp > 0)
                {
                    continue;
                }
                if (cmp == 0 && other.GetRcu() is not null)
                {
                    // kfree(pt) of the unused point: it was initialised, so undo that without a release.
                    pt.Abandon();
                    Put();
                    return other;
                }
                break;
            }
            _ptList.Insert(pos, pt);
            pt.Linked = true;
        }
        return pt;
    }

    /// <summary>
    /// <c>sw_sync_debugfs_release</c>: closing the sw_sync file signals every pending point with <c>-ENOENT</c>
    /// and drops the creator's reference.
    /// </summary>
    [Kernel("sw_sync_debugfs_release", "drivers/dma-buf/sw_sync.c")]
    public void Close()
    {
        foreach (var pt in _ptList.ToArray())
        {
            pt.SetError(-(int)Errno.ENOENT);
            pt.SignalLocked();
        }
        Put();
    }

    internal void Unlink(SyncPt pt) => _ptList.Remove(pt);
}

/// <summary><c>struct sync_pt</c>: a fence on a <see cref="SyncTimeline"/>.</summary>
[Kernel("sync_pt", "drivers/dma-buf/sync_debug.h")]
public sealed class SyncPt : DmaFence
{
    /// <summary><c>timeline_fence_ops</c>: driver <c>sw_sync</c>, the timeline's name, 32-bit seqnos.</summary>
    [Kernel("timeline_fence_ops", "drivers/dma-buf/sw_sync.c")]
    public static readonly DmaFenceOps TimelineFenceOps = new()
    {
        GetDriverName = static _ => "sw_sync",
        GetTimelineName = static f => ((SyncPt)f).Parent.Name,
        EnableSignaling = static _ => true,
        Signaled = static f => TimelineFenceSignaled((SyncPt)f),
        Release = static f => ((SyncPt)f).TimelineFenceRelease(),
        SetDeadline = static (f, deadline) => ((SyncPt)f).TimelineFenceSetDeadline(deadline),
    };

    /// <summary>SW_SYNC_HAS_DEADLINE_BIT = DMA_FENCE_FLAG_USER_BITS (6.12).</summary>
    public const int SW_SYNC_HAS_DEADLINE_BIT = DMA_FENCE_FLAG_USER_BITS;

    /// <summary><c>deadline</c> (6.12): the earliest deadline set, valid with <see cref="SW_SYNC_HAS_DEADLINE_BIT"/>.</summary>
    public long Deadline { get; private set; }

    /// <summary><c>timeline_fence_set_deadline</c> (6.12): keeps the earliest deadline.</summary>
    [Kernel("timeline_fence_set_deadline", "drivers/dma-buf/sw_sync.c")]
    private void TimelineFenceSetDeadline(long deadline)
    {
        if (TestFlag(SW_SYNC_HAS_DEADLINE_BIT))
        {
            if (deadline < Deadline)
            {
                Deadline = deadline;
            }
        }
        else
        {
            Deadline = deadline;
            SetFlag(SW_SYNC_HAS_DEADLINE_BIT);
        }
    }

    /// <summary><c>dma_fence_to_sync_pt</c>: the point, or null when the fence is not a sw_sync one.</summary>
    [Kernel("dma_fence_to_sync_pt", "drivers/dma-buf/sw_sync.c")]
    public static SyncPt? From(DmaFence fence) => fence is SyncPt pt && ReferenceEquals(fence.Ops, TimelineFenceOps) ? pt : null;

    internal SyncPt(SyncTimeline parent) => Parent = parent;

    /// <summary><c>dma_fence_parent(fence)</c>: the timeline.</summary>
    [Kernel("dma_fence_parent", "drivers/dma-buf/sync_debug.h")]
    public SyncTimeline Parent { get; }

    internal bool Linked { get; set; }

    /// <summary><c>timeline_fence_value_str</c>.</summary>
    public string ValueStr() => Seqno.ToString(CultureInfo.InvariantCulture);

    [Kernel("timeline_fence_signaled", "drivers/dma-buf/sw_sync.c")]
    internal static bool TimelineFenceSignaled(SyncPt pt) => !IsLaterRaw(pt.Seqno, pt.Parent.Value, pt.Ops);

    [Kernel("timeline_fence_release", "drivers/dma-buf/sw_sync.c")]
    private void TimelineFenceRelease()
    {
        if (Linked)
        {
            Parent.Unlink(this);
            Linked = false;
        }
        Parent.Put();
        Free();
    }

    internal void Abandon() => AbandonInit();
}

/// <summary>
/// The sw_sync debugfs file (<c>sw_sync_debugfs_fops</c>, <c>/sys/kernel/debug/sync/sw_sync</c>, created by
/// <c>sync_debugfs_init</c> when the machine has the <c>sw_sync</c> option): each open makes a timeline named after
/// the opening task; its ioctls create points (as sync_files) and advance the counter; closing it signals the
/// points left with <c>-ENOENT</c>.
/// </summary>
[Kernel("sw_sync_debugfs_fops", "drivers/dma-buf/sw_sync.c")]
public sealed class SwSync : IFileOperations
{
    /// <summary>The debugfs path.</summary>
    public const string Path = "/sys/kernel/debug/sync/sw_sync";
    private const uint INT_MAX = int.MaxValue;

    private static readonly FaultSite s_kzallocTimeline = FaultSite.Register("sync_timeline_create:kzalloc");
    private static readonly FaultSite s_kzallocPt = FaultSite.Register("sync_pt_create:kzalloc");

    private readonly DmaBufList _dbList;
    private readonly CurrentTask _current;
    private readonly SyncDebug? _debug;

    /// <summary><c>sync_debugfs_init</c>: the file exists when the machine has the <c>sw_sync</c> option.</summary>
    public SwSync(MachineOptions options, Vfs vfs, DmaBufList dbList, CurrentTask current, SyncDebug? debug = null)
    {
        _debug = debug;
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(vfs);
        _dbList = dbList;
        _current = current;
        if (options.SwSync)
        {
            vfs.AddFile(Path, this, Inode.S_IFREG | 0x1a4); // debugfs_create_file_unsafe("sw_sync", 0644, ...)
        }
    }

    /// <summary><c>sw_sync_debugfs_open</c>: a timeline named after the current task's comm (<c>-ENOMEM</c>).</summary>
    [Kernel("sw_sync_debugfs_open", "drivers/dma-buf/sw_sync.c")]
    public int Open(Inode inode, KernelFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        string comm = _current.Comm.Length > 15 ? _current.Comm[..15] : _current.Comm; // get_task_comm: TASK_COMM_LEN 16
        if (s_kzallocTimeline.ShouldFail())
        {
            return -(int)Errno.ENOMEM;
        }
        file.PrivateData = SyncTimeline.Create(_dbList.FenceCore, comm, _debug);
        return 0;
    }

    /// <summary><c>sw_sync_debugfs_release</c>.</summary>
    public void Release(Inode inode, KernelFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        ((SyncTimeline)file.PrivateData!).Close();
    }

    /// <summary><c>sw_sync_ioctl</c>: CREATE_FENCE, INC, GET_DEADLINE on kernels with deadlines, else <c>-ENOTTY</c>.</summary>
    [Kernel("sw_sync_ioctl", "drivers/dma-buf/sw_sync.c")]
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Process current)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(arg);
        ArgumentNullException.ThrowIfNull(current);
        var obj = (SyncTimeline)file.PrivateData!;
        return cmd switch
        {
            SyncFileUapi.SW_SYNC_IOC_CREATE_FENCE => IoctlCreateFence(obj, arg, current),
            SyncFileUapi.SW_SYNC_IOC_INC => IoctlInc(obj, arg),
            SyncFileUapi.SW_SYNC_GET_DEADLINE when _dbList.Options.SyncIocSetDeadline => IoctlGetDeadline(arg, current),
            _ => -(long)Errno.ENOTTY,
        };
    }

    /// <summary>
    /// <c>sw_sync_ioctl_create_fence</c>: reserves the lowest free fd (its error as is), copy_from_user
    /// (<c>-EFAULT</c>), <c>sync_pt_create(obj, value)</c> (<c>-ENOMEM</c>), <c>sync_file_create</c>
    /// (<c>-ENOMEM</c>), copy_to_user with <c>fence</c> = the fd (<c>-EFAULT</c>, the sync_file put), then the fd
    /// installed close-on-exec. The struct's <c>name</c> is not used.
    /// </summary>
    [Kernel("sw_sync_ioctl_create_fence", "drivers/dma-buf/sw_sync.c")]
    internal long IoctlCreateFence(SyncTimeline obj, UserArg arg, Process current)
    {
        int fd = current.Files.NextFree();
        if (fd < 0)
        {
            return fd;
        }
        Span<byte> data = stackalloc byte[sw_sync_create_fence_data.Size];
        if (arg.CopyFromUser(data) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (s_kzallocPt.ShouldFail())
        {
            return -(long)Errno.ENOMEM;
        }
        var pt = obj.CreatePt(value);
        var syncFile = SyncFile.TryCreate(_dbList, pt);
        pt.Put();
        if (syncFile is null)
        {
            return -(long)Errno.ENOMEM;
        }
        BinaryPrimitives.WriteInt32LittleEndian(data[36..], fd);
        if (arg.CopyToUser(data) != 0)
        {
            syncFile.File.Put();
            return -(long)Errno.EFAULT;
        }
        current.InstallFile(syncFile.File, cloexec: true);
        return 0;
    }

    /// <summary>
    /// <c>sw_sync_ioctl_inc</c>: copy_from_user of the u32 (<c>-EFAULT</c>), then the timeline advanced by it, in
    /// steps of at most INT_MAX.
    /// </summary>
    [Kernel("sw_sync_ioctl_inc", "drivers/dma-buf/sw_sync.c")]
    internal static long IoctlInc(SyncTimeline obj, UserArg arg)
    {
        Span<byte> b = stackalloc byte[4];
        if (arg.CopyFromUser(b) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(b);
        while (value > INT_MAX)
        {
            obj.Signal(INT_MAX);
            value -= INT_MAX;
        }
        obj.Signal(value);
        return 0;
    }

    /// <summary>
    /// <c>sw_sync_ioctl_get_deadline</c> (6.12): copy_from_user (<c>-EFAULT</c>), non-zero deadline or pad
    /// (<c>-EINVAL</c>), a fd that is not a sync_file (<c>-EINVAL</c>) or not a sw_sync point (<c>-EINVAL</c>), no
    /// deadline set (<c>-ENOENT</c>), then the deadline copied back (<c>-EFAULT</c>).
    /// </summary>
    [Kernel("sw_sync_ioctl_get_deadline", "drivers/dma-buf/sw_sync.c")]
    internal static long IoctlGetDeadline(UserArg arg, Process current)
    {
        Span<byte> data = stackalloc byte[sw_sync_get_deadline.Size];
        if (arg.CopyFromUser(data) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(data) != 0 || BinaryPrimitives.ReadUInt32LittleEndian(data[8..]) != 0)
        {
            return -(long)Errno.EINVAL;
        }
        var fence = SyncFile.GetFence(current, BinaryPrimitives.ReadInt32LittleEndian(data[12..]));
        if (fence is null)
        {
            return -(long)Errno.EINVAL;
        }
        var pt = SyncPt.From(fence);
        if (pt is null)
        {
            fence.Put();
            return -(long)Errno.EINVAL;
        }
        if (!fence.TestFlag(SyncPt.SW_SYNC_HAS_DEADLINE_BIT))
        {
            fence.Put();
            return -(long)Errno.ENOENT;
        }
        BinaryPrimitives.WriteUInt64LittleEndian(data, (ulong)pt.Deadline);
        fence.Put();
        return arg.CopyToUser(data) != 0 ? -(long)Errno.EFAULT : 0;
    }
}
