// Models fs/char_dev.c: char device majors (register_chrdev, dynamic majors), cdev lookup at open, /proc/devices.
using Sim.Core.Uapi;

namespace Sim.Core.Fs;

/// <summary>
/// The machine's char device registry. <c>register_chrdev(0, ...)</c> picks a dynamic major as 6.1's
/// <c>find_dynamic_major</c> does: the highest free major from 254 down to 234, then 511 down to 384.
/// </summary>
[Kernel("chrdevs", "fs/char_dev.c")]
public sealed class CharDevices
{
    /// <summary>CHRDEV_MAJOR_MAX.</summary>
    public const int CHRDEV_MAJOR_MAX = 512;

    private readonly List<Region> _regions = [];

    /// <summary>An empty registry.</summary>
    public CharDevices()
    {
    }

    /// <summary>
    /// The registry after boot: built-in drivers of the traced x86_64 Debian 6.1 kernel take
    /// <see cref="Boot.MachineOptions.BootDynamicMajors"/> dynamic majors (254 downwards) before any module
    /// loads, which is why kvmfr's <c>register_chrdev(0, ...)</c> gets 246 there.
    /// </summary>
    public CharDevices(Boot.MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // dma_heap_init (subsys_initcall) takes the fourth dynamic major of the boot: /proc/devices of Debian's
        // 6.12.118 under QEMU pc lists 254 gpiochip, 253 tpm, 252 dax, 251 dma_heap, 250 cxl .. 246 bsg. Its
        // slot stays free here for DmaHeap's alloc_chrdev_region at boot; the other built-ins move down past it.
        int gap = options.DmaHeapEnabled ? Math.Min(DmaHeapBootSlot, options.BootDynamicMajors) : -1;
        int major = 254;
        for (int k = 0; k < options.BootDynamicMajors; k++)
        {
            if (k == gap)
            {
                major--;
            }
            _regions.Add(new Region(major--, 0, 256, "(built-in)", null));
        }
    }

    /// <summary>How many built-in dynamic majors are handed out before <c>dma_heap_init</c> runs (3: 251 on x86_64).</summary>
    public const int DmaHeapBootSlot = 3;

    private readonly List<(int Major, int Minor, int Count, IFileOperations Fops)> _cdevs = [];

    /// <summary>
    /// <c>alloc_chrdev_region(&amp;dev, baseminor, count, name)</c>: a dynamic major with a minor range and no cdev
    /// (<c>cdev_add</c> adds them). Returns the major or a negative errno (<c>-EBUSY</c> with no free major).
    /// </summary>
    [Kernel("alloc_chrdev_region", "fs/char_dev.c")]
    public int AllocChrdevRegion(int baseMinor, int count, string name)
    {
        int major = FindDynamicMajor();
        if (major < 0)
        {
            return major;
        }
        _regions.Add(new Region(major, baseMinor, count, name, null));
        return major;
    }

    /// <summary><c>unregister_chrdev_region(MKDEV(major, baseminor), count)</c>.</summary>
    [Kernel("unregister_chrdev_region", "fs/char_dev.c")]
    public void UnregisterChrdevRegion(int major, int baseMinor, int count) =>
        _regions.RemoveAll(r => r.Major == major && r.BaseMinor == baseMinor && r.MinorCount == count);

    /// <summary><c>cdev_add(cdev, MKDEV(major, minor), count)</c>: the fops opened for those numbers; 0.</summary>
    [Kernel("cdev_add", "fs/char_dev.c")]
    public int CdevAdd(int major, int minor, int count, IFileOperations fops)
    {
        _cdevs.Add((major, minor, count, fops));
        return 0;
    }

    /// <summary><c>cdev_del</c>.</summary>
    [Kernel("cdev_del", "fs/char_dev.c")]
    public void CdevDel(int major, int minor) => _cdevs.RemoveAll(c => c.Major == major && c.Minor == minor);

    /// <summary>One registered region: major, minor range, name and the fops of its cdev (null = region only).</summary>
    public sealed record Region(int Major, int BaseMinor, int MinorCount, string Name, IFileOperations? Fops);

    /// <summary>Registered regions.</summary>
    public IReadOnlyList<Region> Regions => _regions;

    /// <summary>
    /// <c>__register_chrdev(major, 0, 256, name, fops)</c>: a whole major with a cdev. Returns the major (the
    /// dynamic one when <paramref name="major"/> is 0), <c>-EBUSY</c> when taken, <c>-EINVAL</c> out of range.
    /// </summary>
    [Kernel("register_chrdev", "fs/char_dev.c")]
    public int RegisterChrdev(int major, string name, IFileOperations? fops, int baseMinor = 0, int count = 256)
    {
        if (major >= CHRDEV_MAJOR_MAX)
        {
            return -(int)Errno.EINVAL;
        }
        if (major == 0)
        {
            major = FindDynamicMajor();
            if (major < 0)
            {
                return major;
            }
        }
        foreach (var r in _regions)
        {
            if (r.Major == major && r.BaseMinor < baseMinor + count && baseMinor < r.BaseMinor + r.MinorCount)
            {
                return -(int)Errno.EBUSY;
            }
        }
        _regions.Add(new Region(major, baseMinor, count, name, fops));
        return major;
    }

    /// <summary><c>unregister_chrdev</c>.</summary>
    [Kernel("unregister_chrdev", "fs/char_dev.c")]
    public void UnregisterChrdev(int major, string name) => _regions.RemoveAll(r => r.Major == major && r.Name == name);

    private int FindDynamicMajor()
    {
        for (int i = 254; i >= 234; i--)
        {
            if (!_regions.Exists(r => r.Major == i))
            {
                return i;
            }
        }
        for (int i = 511; i >= 384; i--)
        {
            if (!_regions.Exists(r => r.Major == i))
            {
                return i;
            }
        }
        return -(int)Errno.EBUSY;
    }

    /// <summary>The cdev's fops for (major, minor), or null (<c>chrdev_open</c> then fails with <c>-ENXIO</c>).</summary>
    public IFileOperations? Lookup(uint major, uint minor)
    {
        foreach (var c in _cdevs)
        {
            if (c.Major == major && minor >= c.Minor && minor < c.Minor + c.Count)
            {
                return c.Fops;
            }
        }
        foreach (var r in _regions)
        {
            if (r.Major == major && minor >= r.BaseMinor && minor < r.BaseMinor + r.MinorCount)
            {
                return r.Fops;
            }
        }
        return null;
    }

    /// <summary>The "Character devices:" part of <c>/proc/devices</c> (<c>chrdev_show</c>: "%3d %s").</summary>
    public IEnumerable<string> ProcDevicesLines()
    {
        var sorted = new List<Region>(_regions);
        sorted.Sort((a, b) => a.Major != b.Major ? a.Major.CompareTo(b.Major) : a.BaseMinor.CompareTo(b.BaseMinor));
        foreach (var r in sorted)
        {
            yield return $"{r.Major,3} {r.Name}";
        }
    }
}
