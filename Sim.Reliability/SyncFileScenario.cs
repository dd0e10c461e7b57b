using System.Buffers.Binary;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.DmaBufs;
using Sim.DmaBufs.Uapi;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>
/// sw_sync and sync_file at the uAPI (machine option <c>sw_sync</c>): two timelines, points made with
/// SW_SYNC_IOC_CREATE_FENCE, merges that give a single fence, an array and a private stub, SYNC_IOC_FILE_INFO with
/// its array, SW_SYNC_IOC_INC, then every descriptor closed.
/// </summary>
public sealed class SyncFileScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "sync_file/sw_sync";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var m = Composition.BuildMachine(Composition.ParseMachine("sw_sync"));
        _ = m.GetRequiredService<SwSync>();
        m.GetRequiredService<ProcessTable>().Spawn("sync");
        return m;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var pt = machine.GetRequiredService<ProcessTable>();
        var p = pt.Processes[^1].Exited ? pt.Spawn("sync") : pt.Processes[^1];
        var fds = new List<int>();
        try
        {
            int tl1 = p.Openat(SwSync.Path, OpenFlags.O_RDWR);
            if (tl1 < 0)
            {
                return (tl1, "open sw_sync");
            }
            fds.Add(tl1);
            int tl2 = p.Openat(SwSync.Path, OpenFlags.O_RDWR);
            if (tl2 < 0)
            {
                return (tl2, "open sw_sync");
            }
            fds.Add(tl2);
            long r;
            int a = 0, b = 0, c = 0, d = 0;
            if ((r = Create(p, tl1, 1, out a)) < 0 || (r = Create(p, tl1, 2, out b)) < 0 || (r = Create(p, tl2, 1, out c)) < 0)
            {
                return (r, "SW_SYNC_IOC_CREATE_FENCE");
            }
            fds.AddRange([a, b, c]);
            if ((r = Merge(p, a, b, out d)) < 0)
            {
                return (r, "SYNC_IOC_MERGE (one timeline)");
            }
            fds.Add(d);
            if ((r = Merge(p, d, c, out int e)) < 0)
            {
                return (r, "SYNC_IOC_MERGE (two timelines)");
            }
            fds.Add(e);
            var arr = new byte[4 * sync_fence_info.Size];
            var info = new sync_file_info { num_fences = 4, sync_fence_info = 0x8000 }.ToBytes();
            r = p.Ioctl(e, SyncFileUapi.SYNC_IOC_FILE_INFO, new UserArg(0x1000, info) { Pointees = new Dictionary<ulong, byte[]> { [0x8000] = arr } });
            if (r < 0)
            {
                return (r, "SYNC_IOC_FILE_INFO");
            }
            var inc = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(inc, 2);
            p.Ioctl(tl1, SyncFileUapi.SW_SYNC_IOC_INC, new UserArg(0x1000, inc));
            p.Ioctl(tl2, SyncFileUapi.SW_SYNC_IOC_INC, new UserArg(0x1000, inc));
            if ((r = Merge(p, a, c, out int s)) < 0)
            {
                return (r, "SYNC_IOC_MERGE (signalled: stub)");
            }
            fds.Add(s);
            return (0, "");
        }
        finally
        {
            foreach (int fd in fds)
            {
                p.Close(fd);
            }
        }
    }

    private static long Create(Process p, int tl, uint value, out int fd)
    {
        var buf = new sw_sync_create_fence_data { value = value }.ToBytes();
        long r = p.Ioctl(tl, SyncFileUapi.SW_SYNC_IOC_CREATE_FENCE, new UserArg(0x1000, buf));
        fd = BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(36));
        return r;
    }

    private static long Merge(Process p, int fd1, int fd2, out int fd)
    {
        var buf = new sync_merge_data { name = "m", fd2 = fd2 }.ToBytes();
        long r = p.Ioctl(fd1, SyncFileUapi.SYNC_IOC_MERGE, new UserArg(0x1000, buf));
        fd = BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(36));
        return r;
    }
}
