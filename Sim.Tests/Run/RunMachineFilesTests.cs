// dmabufsim run: what programs read about the machine (sysfs, /proc/meminfo, /proc/PID/fdinfo), served by the
// simulated kernel through the preload library, against the real guest (data/drmdevice, data/proc, data/sysfs).
using System.Diagnostics;
using Sim.Machine;
using Sim.Run;
using Xunit;

namespace Sim.Tests.RunVerb;

public sealed class RunMachineFilesTests(RunPrograms programs) : IClassFixture<RunPrograms>
{
    private static readonly string Data = DataLocator.FindDataDir() ?? throw new InvalidOperationException("data/ not found");

    private (int Status, string Stdout, string Stderr, string Host) Run(string? machine, string program, params string[] args) =>
        programs.Run(machine, program, 300, args);

    // libdrm's drmdevice (Debian package libdrm-tests): installed here when missing and we are root (as CI is).
    private static string Drmdevice()
    {
        foreach (var dir in new[] { "/usr/bin", "/usr/local/bin" })
        {
            if (File.Exists(Path.Combine(dir, "drmdevice")))
            {
                return Path.Combine(dir, "drmdevice");
            }
        }
        if (Environment.UserName == "root")
        {
            var psi = new ProcessStartInfo("apt-get", "install -y -q libdrm-tests") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (File.Exists("/usr/bin/drmdevice"))
            {
                return "/usr/bin/drmdevice";
            }
            throw new InvalidOperationException("apt-get install libdrm-tests failed: " + err.Result);
        }
        throw new InvalidOperationException("this test runs libdrm's drmdevice: install it (apt-get install libdrm-tests)");
    }

    [Fact]
    public void DrmdeviceOnVirtioGpuPrintsWhatTheRealGuestPrints()
    {
        // The run machine loads vgem (card0) before virtio-gpu (card1), as the guest did for this capture;
        // drmGetDevices2 lists /dev/dri in devtmpfs's readdir order (newest first), so virtio-gpu comes first.
        var expected = File.ReadAllText(Path.Combine(Data, "drmdevice", "linux-6.1-qemu-pc-vgem-then-virtio-gpu.txt"));
        var (status, stdout, stderr, host) = Run("virtio-gpu", Drmdevice());
        Assert.Equal(expected, stdout);
        Assert.Equal("", stderr);
        Assert.Equal("", host);
        Assert.Equal(0, status);
    }

    [Fact]
    public void DrmdeviceOnVgemAloneReportsAPlatformDeviceNamedVgem()
    {
        // vgem is a platform device without an OF node: libdrm 2.4.114 reports bustype 2 with fullname and compatible
        // "vgem", read from its uevent (MODALIAS=platform:vgem), as in the real guest with vgem alone.
        var expected = File.ReadAllText(Path.Combine(Data, "drmdevice", "linux-6.1-qemu-pc-vgem.txt"));
        var (status, stdout, stderr, _) = Run(null, Drmdevice());
        Assert.Equal(expected, stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void SysfsLinksAttributesDirectoriesAndFdinfoAreTheSimulatedKernels()
    {
        var (status, stdout, stderr, _) = Run("virtio-gpu", programs.Own("sysfs_proc"));
        var lines = stdout.Split('\n');
        // kernfs_get_target_path's relative targets, as in data/sysfs/linux-6.1-qemu-pc-virtio-gpu-vgem.txt (there
        // virtio-gpu is card0 and vgem card1; here the other way round).
        Assert.Contains("readlink /sys/dev/char/226:0: ../../devices/platform/vgem/drm/card0", lines);
        Assert.Contains("readlink /sys/dev/char/226:1: ../../devices/pci0000:00/0000:00:03.0/drm/card1", lines);
        Assert.Contains("readlink /sys/dev/char/226:129: ../../devices/pci0000:00/0000:00:03.0/drm/renderD129", lines);
        Assert.Contains("readlinkat device: ../../../0000:00:03.0", lines);
        // readlink of a regular file: EINVAL; of nothing: ENOENT (do_readlinkat).
        Assert.Contains("readlink /sys/class/drm/card1/dev: Invalid argument", lines);
        Assert.Contains("readlink /sys/class/drm/card9: No such file or directory", lines);
        Assert.Contains("realpath 226:1/device: /sys/devices/pci0000:00/0000:00:03.0", lines);
        Assert.Contains("realpath 226:0/device/subsystem: /sys/bus/platform", lines);
        // The PCI function's uevent and vgem's, as the guest printed them.
        Assert.Contains(
            "fopen /sys/dev/char/226:1/device/uevent:\n  DRIVER=virtio-pci\n  PCI_CLASS=38000\n  PCI_ID=1AF4:1050\n" +
            "  PCI_SUBSYS_ID=1AF4:1100\n  PCI_SLOT_NAME=0000:00:03.0\n  MODALIAS=pci:v00001AF4d00001050sv00001AF4sd00001100bc03sc80i00\n",
            stdout, StringComparison.Ordinal);
        Assert.Contains("fopen /sys/class/drm/card0/device/uevent:\n  MODALIAS=platform:vgem\n", stdout, StringComparison.Ordinal);
        Assert.Contains("open+read card1/dev: 6 226:1", lines);
        // sysfs attributes are 0644 files of 4096 bytes, class links 0777 links to 0755 directories.
        Assert.Contains("stat card1/uevent: 0 mode 100644 size 4096", lines);
        Assert.Contains("lstat class/drm/card1: 0 mode 120777", lines);
        Assert.Contains("stat class/drm/card1: 0 mode 40755", lines);
        Assert.Contains("stat class/drm/card9: -1 No such file or directory", lines);
        // The guest's ls of vgem's card1 directory: dev device power subsystem uevent.
        Assert.Contains("opendir class/drm/card0: . .. dev device power subsystem uevent", lines);
        // Not the machine's: the real file.
        Assert.Contains("fopen /sys/devices/system/cpu/online:\n  " + File.ReadAllText("/sys/devices/system/cpu/online"), stdout, StringComparison.Ordinal);
        // A DRM file opened O_RDWR: fs/proc/fd.c's four lines (O_LARGEFILE added by open on 64-bit, devtmpfs mount
        // 23 as in data/proc/linux-6.1-qemu-pc-fdinfo-drm.txt) and no show_fdinfo in 6.1's DRM core or vgem.
        var drmIno = Between(stdout, "fdinfo of fd 3 (fstat ino ", ")");
        Assert.Contains($"fdinfo of fd 3 (fstat ino {drmIno}):\npos:\t0\nflags:\t0100002\nmnt_id:\t23\nino:\t{drmIno}\nfdinfo", stdout, StringComparison.Ordinal);
        // A PRIME export with DRM_CLOEXEC | DRM_RDWR: f_flags O_RDWR (dma_buf_getfile keeps O_ACCMODE | O_NONBLOCK)
        // plus O_CLOEXEC from the fd table; count = the fd's reference, obj->dma_buf's and the handle cache's
        // (file_count - 1 for seq_show's own); exp_name "drm" (drm_prime.c's KBUILD_MODNAME).
        var bufIno = Between(stdout, "fdinfo of fd 4 (fstat ino ", ")");
        Assert.Contains($"fdinfo of fd 4 (fstat ino {bufIno}):\npos:\t0\nflags:\t02000002\nmnt_id:\t11\nino:\t{bufIno}\nsize:\t16384\ncount:\t3\nexp_name:\tdrm\n", stdout, StringComparison.Ordinal);
        Assert.Contains("fopen /proc/PID/fdinfo: pos:\t0", lines);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void ProcMeminfoHasTheRealGuestsLinesWithTheModelsCounters()
    {
        var (status, stdout, _, _) = Run(null, "/bin/cat", "/proc/meminfo");
        Assert.Equal(0, status);
        // The labels, their order and the column layout of Debian's x86_64 6.1 kernel (no CmaTotal: CONFIG_CMA off).
        var guest = File.ReadAllLines(Path.Combine(Data, "proc", "linux-6.1-qemu-pc-meminfo.txt"));
        var ours = stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(guest.Select(Label), ours.Select(Label));
        // Right-aligned values (show_val_kb's width 8, hugetlb's %5lu): every value ends in the guest's column.
        Assert.Equal(guest.Select(End), ours.Select(End));
        // The run machine: 1 GiB (MemTotal = totalram_pages, what the model's allocator manages), a 32 TiB vmalloc
        // area (VMALLOC_END - VMALLOC_START, as the guest), 2 MiB huge pages.
        ulong total = ulong.Parse(Value(ours.Single(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(total, 900_000UL, 1UL << 20);
        Assert.Contains("VmallocTotal:   34359738367 kB", ours);
        Assert.Contains("Hugepagesize:       2048 kB", ours);
        Assert.Contains(ours, l => l.StartsWith("HugePages_Total:       0", StringComparison.Ordinal));

        static int End(string l) => l.EndsWith(" kB", StringComparison.Ordinal) ? l.Length - 3 : l.Length;
        static string Label(string l) => l[..(l.IndexOf(':', StringComparison.Ordinal) + 1)];
        static string Value(string l) => l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Replace(" kB", "", StringComparison.Ordinal).Trim();
    }

    [Fact]
    public void SelectPselectAndEpollMixSimulatedAndRealDescriptors()
    {
        var exe = programs.Compile(Path.Combine(programs.Repo, "tools", "dmabufsim-run", "tests", "select_epoll.c"), "select_epoll", "-pthread");
        var (status, stdout, stderr, _) = Run(null, exe);
        Assert.Equal(
            "timeline 3 pipe 4 5 fence 6\n" +
            // sync_file_poll: EPOLLIN once the fence signaled, never writable; an empty pipe is writable only.
            "nothing yet: select 1 fence r0 w0 pipe r0 w1\n" +
            "pipe written: select 2 fence r0 w0 pipe r1 w1\n" +
            "fence signaled: select 3 fence r1 w0 pipe r1 w1\n" +
            "pselect: 1 fence r1\n" +
            // a closed descriptor in a set: EBADF (fs/select.c max_select_fd)
            "select closed: -1 Bad file descriptor\n" +
            "epoll_ctl add fence: 0\n" +
            "epoll_ctl add unsignaled: 0\n" +
            "epoll_ctl add pipe: 0\n" +
            // do_epoll_ctl: EEXIST for a second ADD, ENOENT for DEL of what is not there, EINVAL when epfd is no epoll
            "epoll_ctl add again: -1 File exists\n" +
            "epoll_ctl del unregistered: -1 No such file or directory\n" +
            "epoll_ctl on a pipe: -1 Invalid argument\n" +
            // the signaled fence (data 100) and the readable pipe (data 300), each with events == EPOLLIN
            "epoll_wait: 2 (data+1 each: 402)\n" +
            "epoll_wait max 1: 1\n" +
            "after del and read: 0\n" +
            // a thread signals the fence 50 ms into the wait: the waiter wakes with it, and select leaves the time left
            "epoll_wait woken: 1 data 200\n" +
            "select woken: 1 fence r1 pipe r0, time left about 4.95 s\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void StaticallyLinkedProgramsAreRefusedWithTheLimitNamed()
    {
        var src = Path.Combine(programs.Dir, "hello_static.c");
        File.WriteAllText(src, "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n");
        var exe = programs.Compile(src, "hello_static", "-static");
        Assert.True(ElfInterp.IsStatic(exe));
        var e = Assert.Throws<RunException>(() => Run(null, exe));
        Assert.Contains("statically linked", e.Message, StringComparison.Ordinal);
        Assert.Contains("PT_INTERP", e.Message, StringComparison.Ordinal);
        Assert.Contains("LD_PRELOAD", e.Message, StringComparison.Ordinal);
        // a dynamically linked one and a script are not
        Assert.False(ElfInterp.IsStatic("/bin/cat"));
        Assert.False(ElfInterp.IsStatic(programs.Own("sysfs_proc")));
    }

    private static string Between(string s, string a, string b)
    {
        int i = s.IndexOf(a, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{a}' not in output:\n{s}");
        i += a.Length;
        return s[i..s.IndexOf(b, i, StringComparison.Ordinal)];
    }
}
