using System.Buffers.Binary;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;
using Sim.Drm.Uapi;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.Reliability;

/// <summary>
/// Fault injection belongs to the task (<c>current-&gt;fail_nth</c>, fs/proc/base.c's per-task fail-nth): an
/// injector set on one process fails that process's allocations only, whichever host thread its system calls
/// run on, while another thread drives another process of the same machine.
/// </summary>
public class TaskFaultTests
{
    private const int Rounds = 150;

    // DRM_IOCTL_MODE_CREATE_DUMB 16x16x32, then GEM_CLOSE of the handle it gave; returns CREATE_DUMB's result.
    private static long CreateAndClose(Process p, int fd)
    {
        var b = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8), 32);
        long r = p.Ioctl(fd, DrmH.DRM_IOCTL_MODE_CREATE_DUMB, new UserArg(0x1000, b));
        if (r == 0)
        {
            var c = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(c, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(16)));
            Assert.Equal(0, p.Ioctl(fd, DrmH.DRM_IOCTL_GEM_CLOSE, new UserArg(0x1000, c)));
        }
        return r;
    }

    [Fact]
    public void Two_threads_drive_one_machine_and_only_the_armed_task_fails()
    {
        using var m = TestMachine.WithDrm("vgem");
        var armed = m.Get<ProcessTable>().Spawn("armed");
        var other = m.Process;
        // vgem_gem_create_object's kzalloc fails for every call of the armed task: drm_gem_shmem_create gets
        // ERR_PTR(-ENOMEM), so DRM_IOCTL_MODE_CREATE_DUMB returns -ENOMEM (drivers/gpu/drm/vgem/vgem_drv.c).
        armed.Faults = new FaultInject();
        armed.Faults.FailSite("vgem_gem_create_object:kzalloc", times: -1);
        var armedResults = new long[Rounds];
        var otherResults = new long[Rounds];
        using var start = new Barrier(2);
        void Drive(Process p, long[] results)
        {
            int fd = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
            Assert.True(fd >= 0);
            start.SignalAndWait();
            for (int i = 0; i < Rounds; i++)
            {
                results[i] = CreateAndClose(p, fd);
            }
            Assert.Equal(0, p.Close(fd));
        }
        Exception? error = null;
        var threads = new[]
        {
            new Thread(() => { try { Drive(armed, armedResults); } catch (Exception e) { error = e; } }),
            new Thread(() => { try { Drive(other, otherResults); } catch (Exception e) { error = e; } }),
        };
        foreach (var t in threads)
        {
            t.Start();
        }
        foreach (var t in threads)
        {
            t.Join();
        }
        Assert.Null(error);
        Assert.All(armedResults, r => Assert.Equal(-(long)Errno.ENOMEM, r));
        Assert.All(otherResults, r => Assert.Equal(0, r));
        Assert.Equal(Rounds, armed.Faults.Injected.Count);
        Assert.All(armed.Faults.Injected, i => Assert.Equal("vgem_gem_create_object:kzalloc", i.Site.Name));
        Assert.Equal(0, m.Warnings.Count);
        Assert.Null(FaultInject.Current); // the tasks' injectors were current only inside their syscalls
        Assert.Equal(0, m.Shmem.PagesInUse);
    }

    [Fact]
    public void Fail_nth_of_a_task_fails_its_nth_allocation_once()
    {
        using var m = TestMachine.WithDrm("vgem");
        int fd = m.Open("/dev/dri/card0");
        var inj = new FaultInject();
        m.Process.Faults = inj;
        inj.FailNth(1);
        // The first site CREATE_DUMB reaches fails; the next call succeeds again (fail-nth fires once).
        Assert.True(m.CreateDumb(fd, 16, 16, 32).Ret < 0);
        Assert.Single(inj.Injected);
        Assert.Equal(0, m.CreateDumb(fd, 16, 16, 32).Ret);
        Assert.Single(inj.Injected);
    }
}
