using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;
using Sim.Machine;
using Sim.Tests.Drm;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// /sys, /dev and /proc/devices as libdrm 2.4.114's drmGetDevices2 / drmGetDevice2 read them, against the capture
/// of a real guest (data/sysfs/linux-6.1-qemu-pc-virtio-gpu-vgem.txt: virtio-gpu loaded first, then vgem) and
/// kernfs's rules.
/// </summary>
public class SysfsTests
{
    private static readonly string[] Capture = File.ReadAllLines(Path.Combine(
        DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found"), "sysfs", "linux-6.1-qemu-pc-virtio-gpu-vgem.txt"));

    private static string Text(Syscalls k, Process p, string path)
    {
        var (ret, data) = k.ReadSysfs(p, path);
        Assert.True(ret == 0, $"{path}: {ret}");
        return Encoding.ASCII.GetString(data!);
    }

    private static string? Link(Syscalls k, Process p, string path) => k.Readlink(p, path).Target;

    // The lines after a "  --name" marker up to the next "  --" marker.
    private static List<string> Block(int from)
    {
        var lines = new List<string>();
        for (int i = from + 1; i < Capture.Length && !Capture[i].StartsWith("  --", StringComparison.Ordinal); i++)
        {
            lines.Add(Capture[i]);
        }
        return lines;
    }

    [Fact]
    public void kernfs_relative_link_targets()
    {
        // kernfs_get_target_path climbs from the link's directory until it reaches an ancestor of the target's
        // parent, then walks down: these are the link targets of the capture.
        Assert.Equal("../../devices/platform/vgem/drm/card1", Sysfs.RelativeTarget("/sys/dev/char/226:1", "/sys/devices/platform/vgem/drm/card1"));
        Assert.Equal("../../../vgem", Sysfs.RelativeTarget("/sys/devices/platform/vgem/drm/card1/device", "/sys/devices/platform/vgem"));
        Assert.Equal("../../../../../class/drm", Sysfs.RelativeTarget("/sys/devices/platform/vgem/drm/card1/subsystem", "/sys/class/drm"));
        Assert.Equal("../../../bus/platform", Sysfs.RelativeTarget("/sys/devices/platform/vgem/subsystem", "/sys/bus/platform"));
        Assert.Equal("card0", Sysfs.RelativeTarget("/sys/devices/pci0000:00/0000:00:03.0/drm/controlD64", "/sys/devices/pci0000:00/0000:00:03.0/drm/card0"));
    }

    [Fact]
    public void drm_devices_match_the_real_guest()
    {
        using var m = TestMachine.WithDrm("virtio_gpu", "vgem");
        var k = m.Process.Kernel;
        int checkedLines = 0;
        for (int i = 0; i < Capture.Length; i++)
        {
            string line = Capture[i];
            if (line.StartsWith("lrwxrwxrwx", StringComparison.Ordinal) && line.Contains(" 226:", StringComparison.Ordinal))
            {
                // "ls -l /sys/dev/char | grep 226:" -> "226:N -> target"
                var parts = line[(line.IndexOf(" 226:", StringComparison.Ordinal) + 1)..].Split(" -> ");
                Assert.Equal(parts[1], Link(k, m.Process, "/sys/dev/char/" + parts[0]));
                checkedLines++;
            }
            else if (line.StartsWith("LINK /sys/class/drm/", StringComparison.Ordinal) && !line.Contains("Virtual", StringComparison.Ordinal)
                && !line.Contains("version", StringComparison.Ordinal))
            {
                var parts = line["LINK ".Length..].Split(" -> ");
                Assert.Equal(parts[1], Link(k, m.Process, parts[0]));
                checkedLines++;
            }
            else if (line.StartsWith("DEV ", StringComparison.Ordinal))
            {
                // DEV /sys/dev/char/226:N real=R, then its device/subsystem/driver links and attribute blocks.
                var parts = line["DEV ".Length..].Split(" real=");
                string d = parts[0];
                Assert.Equal((0, parts[1]), k.Realpath(m.Process, d));
                var dev = Capture[i + 1].Trim().Split(' ');                 // device -> T real=R
                Assert.Equal(dev[2], Link(k, m.Process, d + "/device"));
                Assert.Equal((0, dev[3]["real=".Length..]), k.Realpath(m.Process, d + "/device"));
                Assert.Equal(Capture[i + 2].Split(" -> ")[1], Link(k, m.Process, d + "/subsystem"));
                Assert.Equal(Capture[i + 3].Split(" -> ")[1], Link(k, m.Process, d + "/device/subsystem"));
                string driver = Capture[i + 4].Split(" -> ")[1];
                Assert.Equal(driver.Length == 0 ? null : driver, Link(k, m.Process, d + "/device/driver"));
                Assert.Equal("  --uevent", Capture[i + 5]);
                var uevent = Block(i + 5);
                Assert.Equal(string.Concat(uevent.Select(l => l + "\n")), Text(k, m.Process, d + "/uevent"));
                int at = i + 6 + uevent.Count;
                Assert.Equal("  --device/uevent", Capture[at]);
                var devUevent = Block(at);
                Assert.Equal(string.Concat(devUevent.Select(l => l + "\n")), Text(k, m.Process, d + "/device/uevent"));
                at += 1 + devUevent.Count;
                Assert.Equal("  --dev", Capture[at]);
                Assert.Equal(Capture[at + 1] + "\n", Text(k, m.Process, d + "/dev"));
                checkedLines += 6;
            }
            else if (line.StartsWith("PCI ", StringComparison.Ordinal) && !line.Contains("local_cpus", StringComparison.Ordinal))
            {
                // PCI attr: value, read through the realpath of /sys/dev/char/226:0/device (libdrm's get_pci_path).
                var parts = line["PCI ".Length..].Split(": ");
                Assert.Equal(parts[1] + "\n", Text(k, m.Process, "/sys/dev/char/226:0/device/" + parts[0]));
                checkedLines++;
            }
        }
        Assert.True(checkedLines >= 40, $"only {checkedLines} capture lines checked");
        // The config space (hexdump -C, the last line "*" repeats zeros up to 0x100).
        int c = Array.IndexOf(Capture, "--config");
        var expected = new byte[256];
        for (int i = c + 1; Capture[i] != "00000100"; i++)
        {
            if (Capture[i] == "*")
            {
                continue;
            }
            int off = int.Parse(Capture[i][..8], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            var hex = Capture[i][10..58].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (int b = 0; b < hex.Length; b++)
            {
                expected[off + b] = byte.Parse(hex[b], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
        }
        Assert.Equal(expected, m.Process.Kernel.ReadSysfs(m.Process, "/sys/dev/char/226:0/device/config").Data);
        // The virtio child and the drm class version attribute.
        int v = Array.IndexOf(Capture, "DRIVER=virtio_gpu");
        Assert.Equal(Capture[v] + "\n" + Capture[v + 1] + "\n", Text(k, m.Process, "/sys/devices/pci0000:00/0000:00:03.0/virtio0/uevent"));
        Assert.Equal(Capture[Array.IndexOf(Capture, "--version") + 1] + "\n", Text(k, m.Process, "/sys/class/drm/version"));
        Assert.Equal("../../../../bus/virtio/drivers/virtio_gpu", Link(k, m.Process, "/sys/devices/pci0000:00/0000:00:03.0/virtio0/driver"));
        // The KMS driver's compatibility link (drm under the PCI function: "controlD64 -> card0").
        Assert.Equal("card0", Link(k, m.Process, "/sys/devices/pci0000:00/0000:00:03.0/drm/controlD64"));
        Assert.Null(Link(k, m.Process, "/sys/devices/platform/vgem/drm/controlD65"));   // vgem: no DRIVER_MODESET
    }

    [Fact]
    public void what_libdrm_reads_for_vgem_a_platform_device_without_of_node()
    {
        using var m = TestMachine.WithDrm("vgem");
        var k = m.Process.Kernel;
        // drmNodeIsDRM: stat("/sys/dev/char/226:0/device/drm") succeeds (a directory).
        var (ret, st) = k.Stat(m.Process, "/sys/dev/char/226:0/device/drm");
        Assert.Equal(0, ret);
        Assert.Equal(Inode.S_IFDIR | 0x1ed, st.Mode);
        // get_subsystem_type: readlink(".../device/subsystem") ends in "/platform" -> DRM_BUS_PLATFORM.
        Assert.EndsWith("/platform", Link(k, m.Process, "/sys/dev/char/226:0/device/subsystem"));
        // drmParseOFBusInfo / drmParseOFDeviceInfo: no OF_FULLNAME / OF_COMPATIBLE_N in uevent -> MODALIAS after ':'.
        Assert.Equal("MODALIAS=platform:vgem\n", Text(k, m.Process, "/sys/dev/char/226:128/device/uevent"));
        // /dev: the nodes as stat sees them, and readdir of /dev/dri.
        Assert.Equal(0, k.ReadDir(m.Process, "/dev/dri").Ret);
        // devtmpfs lists newest first (dcache_readdir over d_subdirs, where d_alloc adds at the head): drm_dev_register
        // made card0 before renderD128, so libdrm's drmGetDevices2 meets renderD128 first.
        Assert.Equal([new DirEntry("renderD128", DirEntryType.DT_CHR), new DirEntry("card0", DirEntryType.DT_CHR)], k.ReadDir(m.Process, "/dev/dri").Entries!);
        Assert.Contains(new DirEntry("dri", DirEntryType.DT_DIR), k.ReadDir(m.Process, "/dev").Entries!);
        Assert.Equal(Inode.S_IFDIR | 0x1ed, k.Stat(m.Process, "/dev/dri").Stat.Mode);
        var render = k.Stat(m.Process, "/dev/dri/renderD128").Stat;
        Assert.Equal((Inode.S_IFCHR, 226u, 128u), (render.Mode & Inode.S_IFMT, render.RdevMajor, render.RdevMinor));
        Assert.Contains(new Vfs.DevNode("/dev/dri/card0", 226, 0, Inode.S_IFCHR | 0x1b0), k.DeviceNodes);
        // readdir of sysfs: the card's directory as ls -l lists it (dev, device, power, subsystem, uevent).
        Assert.Equal(["dev", "device", "power", "subsystem", "uevent"], k.ReadDir(m.Process, "/sys/class/drm/card0").Entries!.Select(e => e.Name));
        // lstat of a sysfs link, and errors.
        Assert.Equal(Inode.S_IFLNK | 0x1ff, k.Lstat(m.Process, "/sys/class/drm/card0").Stat.Mode);
        Assert.Equal(-(int)Errno.ENOENT, k.Readlink(m.Process, "/sys/class/drm/card9").Ret);
        Assert.Equal(-(int)Errno.EINVAL, k.Readlink(m.Process, "/sys/class/drm/card0/dev").Ret);
        Assert.Equal(-(int)Errno.ENOTDIR, k.ReadDir(m.Process, "/sys/class/drm/card0/dev").Ret);
    }

    [Fact]
    public void sysfs_attributes_open_and_read_through_the_syscalls()
    {
        using var m = TestMachine.WithDrm("vgem");
        // fopen + fgets of uevent, as sysfs_uevent_get does.
        int fd = m.Process.Openat("/sys/dev/char/226:0/uevent", OpenFlags.O_RDONLY);
        Assert.True(fd >= 0);
        var buf = new byte[256];
        long n = m.Process.Read(fd, buf);
        Assert.Equal("MAJOR=226\nMINOR=0\nDEVNAME=dri/card0\nDEVTYPE=drm_minor\n", Encoding.ASCII.GetString(buf, 0, (int)n));
        Assert.Equal(0, m.Process.Read(fd, buf));                         // end of file
        var st = m.Process.Fstat(fd).Stat;
        Assert.Equal(Inode.S_IFREG | 0x1a4, st.Mode);                // uevent is 0644, size 4096 as ls -l shows
        Assert.Equal(4096, st.Size);
        Assert.Equal(0, m.Process.Close(fd));
        Assert.Equal(-(int)Errno.ENOENT, m.Process.Openat("/sys/dev/char/226:5/uevent", OpenFlags.O_RDONLY));
        Assert.Equal(-(int)Errno.EISDIR, m.Process.Openat("/sys/class/drm/card0", OpenFlags.O_RDONLY));
    }

    [Fact]
    public void proc_devices_lists_the_boot_majors_and_every_simulated_one()
    {
        using var m = TestMachine.WithDrm("virtio_gpu", "vgem");
        // With only DRM loaded, the simulated /proc/devices equals the capture's character part.
        int from = Array.IndexOf(Capture, "Character devices:");
        var want = Capture.Skip(from).TakeWhile(l => l.Length > 0).Select(l => l + "\n");
        Assert.Equal((0, string.Concat(want)), m.Process.Kernel.ReadSeqFile(m.Process, "/proc/devices"));
    }

    [Fact]
    public void kvmfr_and_udmabuf_get_class_devices()
    {
        var o = new MachineOptions { Udmabuf = true };
        o.Apply("kvmfr.static_size_mb=1,1", strict: true);
        using var sp = Composition.BuildMachine(o);
        sp.GetRequiredService<BootState>().Apply();
        _ = sp.GetRequiredService<Sim.DmaBufs.Udmabuf>();
        var p = sp.GetRequiredService<ProcessTable>().Spawn("t");
        var k = p.Kernel;
        var (_, text) = k.ReadSeqFile(p, "/proc/devices");
        // kvmfr's dynamic major: the first free below the eight boot ones (246); udmabuf is a misc device (10).
        Assert.Contains("246 kvmfr\n", text);
        Assert.Contains(" 10 misc\n", text);
        Assert.Equal("../../devices/virtual/kvmfr/kvmfr1", k.Readlink(p, "/sys/dev/char/246:1").Target);
        Assert.Equal("MAJOR=246\nMINOR=0\nDEVNAME=kvmfr0\n", Encoding.ASCII.GetString(k.ReadSysfs(p, "/sys/class/kvmfr/kvmfr0/uevent").Data!));
        Assert.Equal("../../../../class/kvmfr", k.Readlink(p, "/sys/devices/virtual/kvmfr/kvmfr0/subsystem").Target);
        Assert.Equal(-(int)Errno.ENOENT, k.Readlink(p, "/sys/devices/virtual/kvmfr/kvmfr0/device").Ret); // no parent
        Assert.Equal("MAJOR=10\nMINOR=127\nDEVNAME=udmabuf\n", Encoding.ASCII.GetString(k.ReadSysfs(p, "/sys/dev/char/10:127/uevent").Data!));
    }
}
