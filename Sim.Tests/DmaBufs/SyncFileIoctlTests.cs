using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// The sync_file ioctls (drivers/dma-buf/sync_file.c of 6.1.192, SET_DEADLINE of 6.12.118) and the sw_sync debugfs
/// file (drivers/dma-buf/sw_sync.c), through the process's syscalls. Expected values are read from the C source:
/// the errno of each early return, the name format of <c>sync_file_get_name</c>, <c>__dma_fence_unwrap_merge</c>'s
/// result shapes.
/// </summary>
public sealed class SyncFileIoctlTests
{
    internal sealed class Machine : IDisposable
    {
        private readonly ServiceProvider _sp;

        public Machine(string options = "sw_sync")
        {
            _sp = Composition.BuildMachine(Composition.ParseMachine(options));
            _ = _sp.GetRequiredService<SwSync>();
            P = _sp.GetRequiredService<ProcessTable>().Spawn("synctest");
        }

        public Process P { get; }

        public Ktime Clock => _sp.GetRequiredService<Ktime>();

        public LiveObjects Live => _sp.GetRequiredService<LiveObjects>();

        public FaultInject Inject => _sp.GetRequiredService<FaultInject>();

        public Warnings Warnings => _sp.GetRequiredService<Warnings>();

        public int OpenTimeline() => P.Openat(SwSync.Path, OpenFlags.O_RDWR);

        /// <summary>SW_SYNC_IOC_CREATE_FENCE: the new fd (or the negative errno).</summary>
        public int CreateFence(int tl, uint value)
        {
            var buf = new sw_sync_create_fence_data { value = value, name = "pt" }.ToBytes();
            long r = P.Ioctl(tl, SyncFileUapi.SW_SYNC_IOC_CREATE_FENCE, new UserArg(0x1000, buf));
            return r < 0 ? (int)r : BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(36));
        }

        public long Inc(int tl, uint by)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, by);
            return P.Ioctl(tl, SyncFileUapi.SW_SYNC_IOC_INC, new UserArg(0x1000, b));
        }

        /// <summary>SYNC_IOC_MERGE: the new fd (or the negative errno).</summary>
        public int Merge(int fd1, int fd2, string name = "merged", uint flags = 0, uint pad = 0)
        {
            var buf = new sync_merge_data { name = name, fd2 = fd2, flags = flags, pad = pad }.ToBytes();
            long r = P.Ioctl(fd1, SyncFileUapi.SYNC_IOC_MERGE, new UserArg(0x1000, buf));
            return r < 0 ? (int)r : BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(36));
        }

        /// <summary>SYNC_IOC_FILE_INFO, the two-call protocol: the struct and the info array.</summary>
        public (long Ret, sync_file_info Info, sync_fence_info[] Fences) FileInfo(int fd, uint capacity = 16)
        {
            var first = new sync_file_info().ToBytes();
            long r = P.Ioctl(fd, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, first));
            if (r != 0)
            {
                return (r, default, []);
            }
            var arr = new byte[capacity * sync_fence_info.Size];
            var second = new sync_file_info { num_fences = capacity, sync_fence_info = 0x8000 }.ToBytes();
            r = P.Ioctl(fd, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, second) { Pointees = new Dictionary<ulong, byte[]> { [0x8000] = arr } });
            var info = sync_file_info.Read(second);
            var fences = new sync_fence_info[r == 0 ? info.num_fences : 0];
            for (int i = 0; i < fences.Length; i++)
            {
                fences[i] = sync_fence_info.Read(arr.AsSpan(i * sync_fence_info.Size));
            }
            return (r, info, fences);
        }

        public DmaFence FenceOf(int fd)
        {
            var f = SyncFile.GetFence(P, fd)!;
            f.Put();
            return f;
        }

        public void Dispose() => _sp.Dispose();
    }

    [Fact]
    public void SwSyncFileExistsOnlyWithTheOption()
    {
        using (var m = new Machine(""))
        {
            Assert.Equal(-(int)Errno.ENOENT, m.OpenTimeline());
        }
        using (var m = new Machine())
        {
            Assert.Equal(0, m.OpenTimeline());
        }
    }

    [Fact]
    public void CreateFenceGivesACloexecSyncFileNamedAfterDriverTimelineContextSeqno()
    {
        using var m = new Machine();
        int tl = m.OpenTimeline();
        int fd = m.CreateFence(tl, 5);
        Assert.Equal(1, fd);
        Assert.Equal(Process.FD_CLOEXEC, m.P.Fcntl(fd, Process.F_GETFD));
        var f = m.FenceOf(fd);
        var (r, info, fences) = m.FileInfo(fd);
        Assert.Equal(0, r);
        // sync_file_get_name: "%s-%s%llu-%lld" of driver "sw_sync", timeline = the opener's comm, context, seqno.
        Assert.Equal($"sw_sync-synctest{f.Context}-5", info.name);
        Assert.Equal(0, info.status);
        Assert.Equal(1u, info.num_fences);
        Assert.Equal("synctest", fences[0].obj_name);
        Assert.Equal("sw_sync", fences[0].driver_name);
        Assert.Equal(0, fences[0].status);
        Assert.Equal(0UL, fences[0].timestamp_ns);
    }

    [Fact]
    public void IncSignalsReachedPointsWithTheirTimestamp()
    {
        using var m = new Machine();
        int tl = m.OpenTimeline();
        int a = m.CreateFence(tl, 2);
        int b = m.CreateFence(tl, 3);
        m.Clock.AdvanceNs(1000);
        Assert.Equal(0, m.Inc(tl, 2));
        Assert.Equal(1, m.FenceOf(a).GetStatus());
        Assert.Equal(0, m.FenceOf(b).GetStatus());
        var (_, info, fences) = m.FileInfo(a);
        Assert.Equal(1, info.status);
        Assert.Equal((ulong)m.Clock.NowNs, fences[0].timestamp_ns);
        // A u32 above INT_MAX is applied in INT_MAX steps: the first step takes the counter to 2 + INT_MAX, which
        // is past point 3 in wrapping u32 order, so it signals, although the counter ends at 2 + 0xffffffff = 1.
        Assert.Equal(0, m.Inc(tl, 0xffffffff));
        Assert.Equal(1, m.FenceOf(b).GetStatus());
        Assert.Equal(0, m.CreateFence(tl, 2) > 0 ? m.FenceOf(m.P.Files.OpenFds().Last()).GetStatus() : -1); // counter 1: point 2 pending
    }

    [Fact]
    public void ClosingTheTimelineSignalsPendingPointsWithENOENT()
    {
        using var m = new Machine();
        int tl = m.OpenTimeline();
        int fd = m.CreateFence(tl, 1);
        Assert.Equal(0, m.P.Close(tl));
        var (_, info, fences) = m.FileInfo(fd);
        Assert.Equal(-(int)Errno.ENOENT, info.status);
        Assert.Equal(-(int)Errno.ENOENT, fences[0].status);
        Assert.Equal(0, m.P.Close(fd));
        Assert.Equal(0, m.Live.Count("sync_timeline"));
        Assert.Equal(0, m.Live.Count("sync_file"));
    }

    [Fact]
    public void SwSyncErrnos()
    {
        using var m = new Machine();
        int tl = m.OpenTimeline();
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(tl, SyncFileUapi.SW_SYNC_IOC_CREATE_FENCE, new UserArg(0)));
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(tl, SyncFileUapi.SW_SYNC_IOC_INC, new UserArg(0)));
        Assert.Equal(-(long)Errno.ENOTTY, m.P.Ioctl(tl, 0xC0105702, new UserArg(0))); // SW_SYNC_GET_DEADLINE: not on 6.1
        Assert.Equal(-(long)Errno.ENOTTY, m.P.Ioctl(tl, 0x5702, new UserArg(0)));
        // get_unused_fd_flags first: with the table full, -EMFILE before anything is read.
        m.P.Files.Limit = 1;
        Assert.Equal(-(int)Errno.EMFILE, m.CreateFence(tl, 1));
        m.P.Files.Limit = 1024;
        // A struct shorter than sizeof(struct sw_sync_create_fence_data): copy_from_user fails, nothing is made.
        var ro = new UserArg(0x1000, new sw_sync_create_fence_data { value = 1 }.ToBytes()[..36]);
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(tl, SyncFileUapi.SW_SYNC_IOC_CREATE_FENCE, ro));
        Assert.Equal(0, m.Live.Count("sync_file"));
        Assert.Equal(0, m.P.Close(tl));
        Assert.Equal(0, m.Live.Count("sync_timeline"));
    }

    [Fact]
    public void MergeOfTwoPointsOnOneTimelineIsTheLaterPointItself()
    {
        using var m = new Machine();
        int tl = m.OpenTimeline();
        int a = m.CreateFence(tl, 1);
        int b = m.CreateFence(tl, 4);
        int c = m.Merge(a, b, "ab");
        Assert.Equal(3, c);
        Assert.Equal(Process.FD_CLOEXEC, m.P.Fcntl(c, Process.F_GETFD));
        Assert.Same(m.FenceOf(b), m.FenceOf(c));
        var (_, info, fences) = m.FileInfo(c);
        Assert.Equal("ab", info.name);
        Assert.Equal(1u, info.num_fences);
        Assert.Equal(0, fences[0].status);
    }

    [Fact]
    public void MergeAcrossTimelinesIsAnArraySortedByContextSignalledOnAll()
    {
        using var m = new Machine();
        int tl1 = m.OpenTimeline();
        int tl2 = m.OpenTimeline();
        int b = m.CreateFence(tl2, 7);
        int a = m.CreateFence(tl1, 3);
        int c = m.Merge(b, a, "");
        var merged = m.FenceOf(c);
        Assert.True(merged.IsArray);
        var inner = DmaFenceUnwrap.ForEach(merged);
        Assert.Equal([m.FenceOf(a), m.FenceOf(b)], inner); // tl1's context is the lower one
        Assert.Equal(1UL, merged.Seqno);
        var (_, info, fences) = m.FileInfo(c);
        // No user name: the default name of the array fence (driver dma_fence_array, timeline unbound).
        Assert.Equal($"dma_fence_array-unbound{merged.Context}-1", info.name);
        Assert.Equal(2u, info.num_fences);
        Assert.Equal(0, info.status);
        Assert.Equal(0, m.Inc(tl1, 3));
        Assert.False(merged.IsSignaled());
        (_, info, fences) = m.FileInfo(c);
        Assert.Equal([1, 0], fences.Select(f => f.status));
        Assert.Equal(0, info.status); // status: the first non-positive one
        Assert.Equal(0, m.Inc(tl2, 7));
        Assert.True(merged.IsSignaled());
    }

    [Fact]
    public void MergeOfSignalledFencesIsAPrivateStubAtTheLatestTimestamp()
    {
        using var m = new Machine();
        int tl1 = m.OpenTimeline();
        int tl2 = m.OpenTimeline();
        int a = m.CreateFence(tl1, 1);
        int b = m.CreateFence(tl2, 1);
        m.Clock.AdvanceNs(500);
        m.Inc(tl1, 1);
        long t1 = m.Clock.NowNs;
        m.Clock.AdvanceNs(500);
        m.Inc(tl2, 1);
        long t2 = m.Clock.NowNs;
        m.Clock.AdvanceNs(500);
        int c = m.Merge(a, b);
        var stub = m.FenceOf(c);
        Assert.True(stub.IsSignaled());
        Assert.Equal(0UL, stub.Context);
        Assert.Equal(Math.Max(t1, t2), stub.Timestamp());
        var (_, info, fences) = m.FileInfo(c);
        Assert.Equal(1, info.status);
        Assert.Equal("stub", fences[0].driver_name);
        Assert.Equal((ulong)t2, fences[0].timestamp_ns);
    }

    [Fact]
    public void MergeDropsSignalledFencesAndKeepsTheOnlyPendingOne()
    {
        using var m = new Machine();
        int tl1 = m.OpenTimeline();
        int tl2 = m.OpenTimeline();
        int a = m.CreateFence(tl1, 1);
        int b = m.CreateFence(tl2, 1);
        m.Inc(tl1, 1);
        int c = m.Merge(a, b);
        Assert.Same(m.FenceOf(b), m.FenceOf(c));
    }

    [Fact]
    public void MergeErrnosInTheKernelsOrder()
    {
        using var m = new Machine();
        int tl = m.OpenTimeline();
        int a = m.CreateFence(tl, 1);
        Assert.Equal(-(int)Errno.EINVAL, m.Merge(a, a, flags: 1));
        Assert.Equal(-(int)Errno.EINVAL, m.Merge(a, a, pad: 1));
        Assert.Equal(-(int)Errno.ENOENT, m.Merge(a, 99));
        Assert.Equal(-(int)Errno.ENOENT, m.Merge(a, tl)); // fd2 is not a sync_file
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(a, SyncFileUapi.SYNC_IOC_MERGE, new UserArg(0)));
        // flags are checked before fd2 is looked up.
        Assert.Equal(-(int)Errno.EINVAL, m.Merge(a, 99, flags: 2));
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(a, SyncFileUapi.SYNC_IOC_MERGE, new UserArg(0x1000, new byte[47])));
        Assert.Equal(1, m.Live.Count("sync_file")); // nothing was made by the failed calls
        Assert.Equal(-(long)Errno.ENOTTY, m.P.Ioctl(a, 0xC0303E09, new UserArg(0)));
        m.P.Files.Limit = m.P.Files.OpenFds().Count();
        Assert.Equal(-(int)Errno.EMFILE, m.Merge(a, a));
    }

    [Theory]
    [InlineData("sync_file_alloc:kzalloc")]
    [InlineData("dma_fence_array_create:kzalloc")]
    [InlineData("__dma_fence_unwrap_merge:kmalloc_array")]
    public void MergeAllocationFailureIsENOMEMAndLeavesNothing(string site)
    {
        using var m = new Machine();
        int tl1 = m.OpenTimeline();
        int tl2 = m.OpenTimeline();
        int a = m.CreateFence(tl1, 1);
        int b = m.CreateFence(tl2, 1);
        var fa = m.FenceOf(a);
        int refs = fa.RefCount;
        int files = m.Live.Count("sync_file");
        using (m.Inject.Activate())
        {
            m.Inject.FailSite(site);
            Assert.Equal(-(int)Errno.ENOMEM, m.Merge(a, b));
        }
        Assert.Equal(refs, fa.RefCount);
        Assert.Equal(files, m.Live.Count("sync_file"));
        Assert.Equal(4, m.Merge(a, b)); // the fd reserved by the failed call was given back
    }

    [Fact]
    public void FileInfoErrnosAndTheSizeProtocol()
    {
        using var m = new Machine();
        int tl1 = m.OpenTimeline();
        int tl2 = m.OpenTimeline();
        int c = m.Merge(m.CreateFence(tl1, 1), m.CreateFence(tl2, 1));
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0)));
        var flags = new sync_file_info { flags = 1 }.ToBytes();
        Assert.Equal(-(long)Errno.EINVAL, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, flags)));
        var pad = new sync_file_info { pad = 1 }.ToBytes();
        Assert.Equal(-(long)Errno.EINVAL, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, pad)));
        // First call: num_fences 0 returns the count, the status of the whole fence, the name.
        var first = new sync_file_info().ToBytes();
        Assert.Equal(0, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, first)));
        Assert.Equal(2u, sync_file_info.Read(first).num_fences);
        // Too small an array: -EINVAL.
        var small = new sync_file_info { num_fences = 1, sync_fence_info = 0x8000 }.ToBytes();
        Assert.Equal(-(long)Errno.EINVAL, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, small)));
        // An array pointer the program does not own: -EFAULT, and the struct is not written back.
        var bad = new sync_file_info { num_fences = 2, sync_fence_info = 0x9000 }.ToBytes();
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, bad)));
        Assert.Equal(2u, sync_file_info.Read(bad).num_fences);
        Assert.Equal("", sync_file_info.Read(bad).name);
        using (m.Inject.Activate())
        {
            m.Inject.FailSite("sync_file_ioctl_fence_info:kzalloc");
            var big = new sync_file_info { num_fences = 2, sync_fence_info = 0x8000 }.ToBytes();
            Assert.Equal(-(long)Errno.ENOMEM, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_FILE_INFO,
                new UserArg(0x1000, big) { Pointees = new Dictionary<ulong, byte[]> { [0x8000] = new byte[160] } }));
        }
        var (r, info, fences) = m.FileInfo(c);
        Assert.Equal(0, r);
        Assert.Equal(2, fences.Length);
        Assert.Equal(1u * 2, info.num_fences);
    }

    [Fact]
    public void SetDeadlineIsENOTTYOn61()
    {
        using var m = new Machine();
        int fd = m.CreateFence(m.OpenTimeline(), 1);
        var d = new sync_set_deadline { deadline_ns = 100 }.ToBytes();
        Assert.Equal(-(long)Errno.ENOTTY, m.P.Ioctl(fd, SyncFileUapi.SYNC_IOC_SET_DEADLINE, new UserArg(0x1000, d)));
    }

    [Theory]
    [InlineData("sw_sync sync_set_deadline")]
    [InlineData("sw_sync kernel=6.12")]
    public void SetDeadlineKeepsTheEarliestOnEveryPointOfAMerge(string options)
    {
        using var m = new Machine(options);
        int tl1 = m.OpenTimeline();
        int tl2 = m.OpenTimeline();
        int a = m.CreateFence(tl1, 1);
        int b = m.CreateFence(tl2, 1);
        int c = m.Merge(a, b);

        long GetDeadline(int fenceFd, out ulong deadline)
        {
            var g = new sw_sync_get_deadline { fence_fd = fenceFd }.ToBytes();
            long r = m.P.Ioctl(tl1, SyncFileUapi.SW_SYNC_GET_DEADLINE, new UserArg(0x1000, g));
            deadline = BinaryPrimitives.ReadUInt64LittleEndian(g);
            return r;
        }

        Assert.Equal(-(long)Errno.ENOENT, GetDeadline(a, out _));
        Assert.Equal(-(long)Errno.EINVAL, GetDeadline(c, out _)); // an array is not a sync_pt
        Assert.Equal(-(long)Errno.EINVAL, GetDeadline(tl2, out _)); // not a sync_file
        var pad = new sync_set_deadline { deadline_ns = 1, pad = 1 }.ToBytes();
        Assert.Equal(-(long)Errno.EINVAL, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_SET_DEADLINE, new UserArg(0x1000, pad)));
        Assert.Equal(-(long)Errno.EFAULT, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_SET_DEADLINE, new UserArg(0)));
        Assert.Equal(0, m.P.Ioctl(c, SyncFileUapi.SYNC_IOC_SET_DEADLINE, new UserArg(0x1000, new sync_set_deadline { deadline_ns = 500 }.ToBytes())));
        Assert.Equal(0, m.P.Ioctl(a, SyncFileUapi.SYNC_IOC_SET_DEADLINE, new UserArg(0x1000, new sync_set_deadline { deadline_ns = 900 }.ToBytes())));
        Assert.Equal(0, m.P.Ioctl(b, SyncFileUapi.SYNC_IOC_SET_DEADLINE, new UserArg(0x1000, new sync_set_deadline { deadline_ns = 200 }.ToBytes())));
        Assert.Equal(0, GetDeadline(a, out ulong da));
        Assert.Equal(500UL, da);
        Assert.Equal(0, GetDeadline(b, out ulong db));
        Assert.Equal(200UL, db);
        var nz = new sw_sync_get_deadline { deadline_ns = 1, fence_fd = a }.ToBytes();
        Assert.Equal(-(long)Errno.EINVAL, m.P.Ioctl(tl1, SyncFileUapi.SW_SYNC_GET_DEADLINE, new UserArg(0x1000, nz)));
    }

    [Fact]
    public void TimelineAllocationFailuresAreENOMEM()
    {
        using var m = new Machine();
        using (m.Inject.Activate())
        {
            m.Inject.FailSite("sync_timeline_create:kzalloc");
            Assert.Equal(-(int)Errno.ENOMEM, m.OpenTimeline());
        }
        int tl = m.OpenTimeline();
        Assert.Equal(0, tl);
        foreach (var site in new[] { "sync_pt_create:kzalloc", "sync_file_alloc:kzalloc" })
        {
            using (m.Inject.Activate())
            {
                m.Inject.FailSite(site);
                Assert.Equal(-(int)Errno.ENOMEM, m.CreateFence(tl, 1));
            }
        }
        Assert.Equal(0, m.Live.Count("sync_file"));
        Assert.Equal(1, m.CreateFence(tl, 1));
    }
}
