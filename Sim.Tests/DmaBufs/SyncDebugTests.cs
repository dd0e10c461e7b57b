using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Time;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// debugfs <c>/sys/kernel/debug/sync/info</c> (drivers/dma-buf/sync_debug.c <c>sync_info_debugfs_show</c>, the same in
/// 6.1.192 and 6.12.118): the sw_sync timelines in creation order with their value and pending points, what a closed
/// timeline's points show, and the always-empty sync_file list. Expected text from the source's format strings.
/// </summary>
public sealed class SyncDebugTests
{
    private sealed class Machine : IDisposable
    {
        private readonly ServiceProvider _sp;

        public Machine(string options)
        {
            _sp = Composition.BuildMachine(Composition.ParseMachine(options));
            _ = _sp.GetRequiredService<SwSync>();
            P = _sp.GetRequiredService<ProcessTable>().Spawn("synctest");
        }

        public Process P { get; }

        public T Get<T>() where T : notnull => _sp.GetRequiredService<T>();

        public (int Ret, string? Text) Info() => Get<Syscalls>().ReadSeqFile(P, SyncDebug.InfoPath);

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

        public void Dispose() => _sp.Dispose();
    }

    [Theory]
    [InlineData("kernel=6.1 sw_sync")]
    [InlineData("kernel=6.12 sw_sync")]
    public void InfoListsTimelinesAndTheirPendingPoints(string options)
    {
        using var m = new Machine(options);
        Assert.Equal((0, "objs:\n--------------\nfences:\n--------------\n"), m.Info());
        int a = m.P.Openat(SwSync.Path, OpenFlags.O_RDWR);
        int b = m.P.Openat(SwSync.Path, OpenFlags.O_RDWR);
        int f5 = m.CreateFence(a, 5);
        int f3 = m.CreateFence(a, 3);
        Assert.True(f5 >= 0 && f3 >= 0);
        Assert.Equal(0, m.Inc(a, 1));
        int g1 = m.CreateFence(b, 1);
        Assert.True(g1 >= 0);
        Assert.Equal(0, m.Inc(b, 1)); // signalled: off pt_list
        // sync_print_obj: "%s: %d" (the opener's comm, the value), its points in seqno order as
        // "  fence %s" + ": %s / %s" (sw_sync's fence_value_str, timeline_value_str), a blank line after each
        Assert.Equal((0,
            "objs:\n--------------\n" +
            "synctest: 1\n  fence active: 3 / 1\n  fence active: 5 / 1\n\n" +
            "synctest: 1\n\n" +
            "fences:\n--------------\n"), m.Info());
        // closing the timeline's file signals its points with -ENOENT; they stay on pt_list while their sync_files
        // hold them: "error" with the signal timestamp ("@%lld.%09ld" of the simulated clock)
        var clock = m.Get<Ktime>();
        clock.AdvanceNs(2_000_000_123);
        long now = clock.NowNs;
        Assert.Equal(0, m.P.Close(a));
        string stamp = $"@{now / 1_000_000_000}.{now % 1_000_000_000:D9}";
        Assert.Equal((0,
            "objs:\n--------------\n" +
            $"synctest: 1\n  fence error{stamp}: 3 / 1\n  fence error{stamp}: 5 / 1\n\n" +
            "synctest: 1\n\n" +
            "fences:\n--------------\n"), m.Info());
        // the last point's release frees the timeline: sync_timeline_debug_remove
        Assert.Equal(0, m.P.Close(f3));
        Assert.Equal(0, m.P.Close(f5));
        Assert.Equal(0, m.P.Close(b));
        Assert.Equal(0, m.P.Close(g1));
        Assert.Equal((0, "objs:\n--------------\nfences:\n--------------\n"), m.Info());
    }

    [Fact]
    public void NoInfoFileWithoutSwSync()
    {
        // sync_debug.o is built with CONFIG_SW_SYNC, which Debian's kernels lack
        using var m = new Machine("kernel=6.12");
        Assert.Equal(-(int)Errno.ENOENT, m.Info().Ret);
        Assert.DoesNotContain(SyncDebug.InfoPath, m.Get<Syscalls>().SeqFilePaths);
    }
}
