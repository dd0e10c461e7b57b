using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Userspace;
using Sim.DmaBufs.Kvmfr;
using Xunit;

namespace Sim.Tests.Kvmfr;

/// <summary>kvmfr module load, parameters, references and rmmod, with expectations from the kvmfr traces and README.</summary>
public class KvmfrModuleTests
{
    private static (T1, T2, T3, T4) Get<T1, T2, T3, T4>(IServiceProvider m) where T1 : notnull where T2 : notnull where T3 : notnull where T4 : notnull =>
        ((T1)m.GetService(typeof(T1))!, (T2)m.GetService(typeof(T2))!, (T3)m.GetService(typeof(T3))!, (T4)m.GetService(typeof(T4))!);

    [Fact]
    public void ElevenValuesAreRejectedBeforeInit()
    {
        using var m = Composition.BuildMachine(new MachineOptions());
        var (bb, printk, list, _) = Get<Busybox, Printk, ModuleList, Vfs>(m);
        var (status, output) = bb.Exec("insmod /mods/kvmfr.ko static_size_mb=1,1,1,1,1,1,1,1,1,1,1");
        Assert.Equal(22, status);
        Assert.Equal("insmod: can't insert '/mods/kvmfr.ko': Invalid argument\n", output);
        var lines = printk.ReadClear().ConvertAll(r => (r.Level, r.Text));
        // kvmfr-load-errors i=12 (after the two first-load taint messages of a fresh boot).
        Assert.Equal(
        [
            (4, "kvmfr: loading out-of-tree module taints kernel."),
            (5, "kvmfr: module verification failed: signature and/or required key missing - tainting kernel"),
            (3, "static_size_mb: can only take 10 arguments"),
            (3, "kvmfr: `1' invalid for parameter `static_size_mb'"),
            (3, "static_size_mb: can only take 10 arguments"),
            (3, "kvmfr: `1' invalid for parameter `static_size_mb'"),
        ], lines);
        Assert.Null(list.Find("kvmfr"));
    }

    [Theory]
    [InlineData("4097", 0, 1048576UL)]
    [InlineData("4096", 19, 0UL)]
    [InlineData("2048", 19, 0UL)]
    [InlineData("-1", 19, 0UL)]
    [InlineData("abc", 22, 0UL)]
    [InlineData("", 22, 0UL)]
    public void SizeArithmeticIsCInt(string value, int expectedStatus, ulong expectedSize)
    {
        using var m = Composition.BuildMachine(new MachineOptions());
        var (bb, _, _, _) = Get<Busybox, Printk, ModuleList, Vfs>(m);
        var image = (KvmfrModuleImage)m.GetService(typeof(KvmfrModuleImage))!;
        var (status, _) = bb.Exec("insmod /mods/kvmfr.ko static_size_mb=" + value);
        Assert.Equal(expectedStatus, status);
        if (expectedStatus == 0)
        {
            Assert.Equal(expectedSize, image.Loaded!.Devices[0].Value.Size);
        }
    }

    [Fact]
    public void OpenFilesAndDmaBufsHoldModuleReferences()
    {
        var o = new MachineOptions();
        o.Apply("kvmfr.static_size_mb=1,2", strict: true);
        using var m = Composition.BuildMachine(o);
        ((BootState)m.GetService(typeof(BootState))!).Apply();
        var (bb, _, list, vfs) = Get<Busybox, Printk, ModuleList, Vfs>(m);
        var current = (CurrentTask)m.GetService(typeof(CurrentTask))!;
        var p = ((ProcessTable)m.GetService(typeof(ProcessTable))!).Spawn("t");
        using var _ = current.Enter(p);
        Assert.Equal(0x2180u, vfs.Lookup("/dev/kvmfr1")!.Mode);
        Assert.Equal(246u, vfs.Lookup("/dev/kvmfr1")!.Major);
        int fd = p.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        Assert.Equal(0, fd);
        Assert.Equal(2, list.Find("kvmfr")!.Refcount);
        var create = new kvmfr_dmabuf_create { flags = 1, offset = 4096, size = 8192 };
        long dfd = p.Ioctl(fd, KvmfrUapi.KVMFR_DMABUF_CREATE, new UserArg(0x1000, create.ToBytes()));
        Assert.Equal(1, dfd);
        Assert.Equal(3, list.Find("kvmfr")!.Refcount);
        Assert.Equal((1, "rmmod: can't unload module 'kvmfr': Resource temporarily unavailable\n"), bb.Exec("rmmod kvmfr"));
        p.Close(fd);
        p.Close((int)dfd);
        Assert.Equal(0, list.Find("kvmfr")!.Refcount);
        Assert.Equal((0, ""), bb.Exec("rmmod kvmfr"));
        Assert.Null(vfs.Lookup("/dev/kvmfr0"));
        Assert.Equal("Modules linked in: [last unloaded: kvmfr(OE)]", list.ModulesLinkedIn());
    }

    [Fact]
    public void UnalignedCreateLogsWithoutNewlineUntilTheNextMessage()
    {
        var o = new MachineOptions();
        o.Apply("kvmfr.static_size_mb=1", strict: true);
        using var m = Composition.BuildMachine(o);
        ((BootState)m.GetService(typeof(BootState))!).Apply();
        var (_, printk, _, _) = Get<Busybox, Printk, ModuleList, Vfs>(m);
        var current = (CurrentTask)m.GetService(typeof(CurrentTask))!;
        var p = ((ProcessTable)m.GetService(typeof(ProcessTable))!).Spawn("t");
        using var _ = current.Enter(p);
        int fd = p.Openat("/dev/kvmfr0", OpenFlags.O_RDWR);
        var create = new kvmfr_dmabuf_create { offset = 100, size = 4096 };
        Assert.Equal(-22, p.Ioctl(fd, KvmfrUapi.KVMFR_DMABUF_CREATE, new UserArg(0x1000, create.ToBytes())));
        Assert.Empty(printk.ReadClear());
        printk.Info("capture: end of section\n");
        Assert.Equal([new LogRecord(4, "kvmfr: buffer not aligned to 0x1000 bytes"), new LogRecord(6, "capture: end of section")], printk.ReadClear());
        Assert.Equal(-14, p.Ioctl(fd, KvmfrUapi.KVMFR_DMABUF_CREATE, new UserArg(0)));
    }
}
