// Models what drivers/base/core.c (Linux 6.1) makes visible in sysfs when a device is added: device_add's
// directory (under its parent, in the class "glue" directory for a class device, or under /sys/devices/virtual),
// its "uevent" attribute (dev_uevent: MAJOR, MINOR, DEVNAME, DEVTYPE, DRIVER, the OF node's variables, then the
// bus's), "dev", the "subsystem", "device" and "driver" links, and the /sys/class, /sys/bus and /sys/dev/char links.
using System.Globalization;
using Sim.Core.Fs;

namespace Sim.Core.Base;

/// <summary>An attribute file of a device: its name, content and mode (binary when <see cref="Size"/> is set).</summary>
public sealed record SysAttr(string Name, Func<byte[]> Read, uint Mode = 0x124, long? Size = null)
{
    /// <summary>A text attribute.</summary>
    public static SysAttr Text(string name, Func<string> show, uint mode = 0x124) =>
        new(name, () => System.Text.Encoding.ASCII.GetBytes(show()), mode);
}

/// <summary>The device-tree node of a device (what <c>of_device_uevent</c> reports).</summary>
/// <param name="Name">OF_NAME (<c>%pOFn</c>).</param>
/// <param name="FullName">OF_FULLNAME (<c>%pOF</c>).</param>
/// <param name="Compatible">The "compatible" strings, in order.</param>
public sealed record OfNode(string Name, string FullName, IReadOnlyList<string> Compatible);

/// <summary>
/// The sysfs side of <c>struct device</c>: name, parent, bus or class, device number, devnode name, type name,
/// bound driver, OF node, the bus's uevent variables and extra attributes.
/// </summary>
[Kernel("struct device", "include/linux/device.h")]
public sealed class SysDevice
{
    /// <summary><c>dev_name</c>.</summary>
    public required string Name { get; init; }
    /// <summary><c>parent</c> (null: a root device, or a class device under /sys/devices/virtual).</summary>
    public SysDevice? Parent { get; init; }
    /// <summary><c>bus-&gt;name</c> ("platform", "pci", "amba", "virtio"), or null.</summary>
    public string? Bus { get; init; }
    /// <summary><c>class-&gt;name</c> ("drm", "kvmfr", "misc"), or null.</summary>
    public string? Class { get; init; }
    /// <summary><c>devt</c> (a char device), or null.</summary>
    public (uint Major, uint Minor)? Devt { get; init; }
    /// <summary>The devnode name (DEVNAME, relative to /dev; "dri/card0"); null = the device name.</summary>
    public string? DevNode { get; init; }
    /// <summary><c>type-&gt;name</c> (DEVTYPE), or null.</summary>
    public string? DevType { get; init; }
    /// <summary><c>driver-&gt;name</c> of the bound driver (DRIVER, the "driver" link), or null.</summary>
    public string? Driver { get; init; }
    /// <summary><c>of_node</c>, or null.</summary>
    public OfNode? Of { get; init; }
    /// <summary>The bus's <c>uevent</c> variables (<c>platform_uevent</c>, <c>pci_uevent</c>, ...).</summary>
    public Func<IEnumerable<string>>? BusUevent { get; init; }
    /// <summary>Attributes beyond "uevent" and "dev" (the bus's and the driver's groups).</summary>
    public IReadOnlyList<SysAttr> Attrs { get; init; } = [];

    /// <summary>
    /// The sysfs directory: the parent's directory + "/name" for a bus device, + "/class/name" for a class device
    /// with a parent (the class glue directory), /sys/devices/virtual/class/name for a class device without one,
    /// /sys/devices/name for a root device.
    /// </summary>
    [Kernel("get_device_parent", "drivers/base/core.c")]
    public string Path => Parent is { } p
        ? (Class is not null ? $"{p.Path}/{Class}/{Name}" : $"{p.Path}/{Name}")
        : (Class is not null ? $"{Sysfs.Mount}/devices/virtual/{Class}/{Name}" : $"{Sysfs.Mount}/devices/{Name}");

    /// <summary>
    /// <c>dev_uevent</c> as the "uevent" attribute prints it (<c>uevent_show</c>: no ACTION, DEVPATH or SUBSYSTEM):
    /// MAJOR, MINOR, DEVNAME (no DEVMODE: no devnode mode is set for these devices), DEVTYPE, DRIVER, the OF node's
    /// OF_NAME, OF_FULLNAME, OF_COMPATIBLE_i, OF_COMPATIBLE_N, then the bus's variables.
    /// </summary>
    [Kernel("dev_uevent", "drivers/base/core.c")]
    public IEnumerable<string> Uevent()
    {
        if (Devt is var (major, minor))
        {
            yield return $"MAJOR={major}";
            yield return $"MINOR={minor}";
            yield return $"DEVNAME={DevNode ?? Name}";
        }
        if (DevType is not null)
        {
            yield return $"DEVTYPE={DevType}";
        }
        if (Driver is not null)
        {
            yield return $"DRIVER={Driver}";
        }
        if (Of is not null)
        {
            yield return $"OF_NAME={Of.Name}";
            yield return $"OF_FULLNAME={Of.FullName}";
            for (int i = 0; i < Of.Compatible.Count; i++)
            {
                yield return string.Create(CultureInfo.InvariantCulture, $"OF_COMPATIBLE_{i}={Of.Compatible[i]}");
            }
            yield return string.Create(CultureInfo.InvariantCulture, $"OF_COMPATIBLE_N={Of.Compatible.Count}");
        }
        if (BusUevent is not null)
        {
            foreach (var v in BusUevent())
            {
                yield return v;
            }
        }
    }
}

/// <summary>The device model's sysfs side (drivers/base/core.c, bus.c, class.c) over the machine's <see cref="Sysfs"/>.</summary>
[Kernel("device_add", "drivers/base/core.c")]
public sealed class DeviceCore
{
    private readonly HashSet<string> _classes = new(StringComparer.Ordinal);

    /// <summary>The device model of <paramref name="sysfs"/>.</summary>
    public DeviceCore(Sysfs sysfs)
    {
        Sysfs = sysfs;
        // platform_bus_init: the "platform" root device and bus; the "pci" and "virtio" buses exist on every x86 guest.
        Sysfs.Mkdir(Sysfs.Mount + "/devices/platform");
        Sysfs.Mkdir(Sysfs.Mount + "/devices/virtual");
    }

    /// <summary>The sysfs the devices appear in.</summary>
    public Sysfs Sysfs { get; }

    /// <summary>The platform bus root device (<c>platform_bus</c>, /sys/devices/platform).</summary>
    public static SysDevice PlatformBus { get; } = new() { Name = "platform" };

    /// <summary><c>class_register</c>: /sys/class/name.</summary>
    [Kernel("class_register", "drivers/base/class.c")]
    public void ClassRegister(string name)
    {
        if (_classes.Add(name))
        {
            Sysfs.Mkdir($"{Sysfs.Mount}/class/{name}");
        }
    }

    /// <summary><c>class_unregister</c>: /sys/class/name goes.</summary>
    [Kernel("class_unregister", "drivers/base/class.c")]
    public void ClassUnregister(string name)
    {
        if (_classes.Remove(name))
        {
            Sysfs.Remove($"{Sysfs.Mount}/class/{name}");
        }
    }

    /// <summary>
    /// <c>device_add</c>: the directory with "uevent" (0644), "dev" (0444, "MAJOR:MINOR") and "power"; the
    /// "subsystem" link to its bus or class; "device" to the parent for a class device; "driver" to the bound
    /// driver; /sys/class/CLASS/NAME, /sys/bus/BUS/devices/NAME and /sys/dev/char/MAJOR:MINOR links to it.
    /// </summary>
    [Kernel("device_add", "drivers/base/core.c")]
    public void DeviceAdd(SysDevice dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        string path = dev.Path;
        string sys = Sysfs.Mount;
        Sysfs.Mkdir(path);
        Sysfs.Mkdir(path + "/power");
        Sysfs.CreateFile(path + "/uevent", () => string.Concat(dev.Uevent().Select(l => l + "\n")), 0x1a4);
        if (dev.Devt is var (major, minor))
        {
            Sysfs.CreateFile(path + "/dev", () => $"{major}:{minor}\n");
            Sysfs.Symlink($"{sys}/dev/char/{major}:{minor}", path);
        }
        if (dev.Class is not null)
        {
            ClassRegister(dev.Class);
            Sysfs.Symlink(path + "/subsystem", $"{sys}/class/{dev.Class}");
            Sysfs.Symlink($"{sys}/class/{dev.Class}/{dev.Name}", path);
            if (dev.Parent is not null)
            {
                Sysfs.Symlink(path + "/device", dev.Parent.Path);
            }
        }
        if (dev.Bus is not null)
        {
            Sysfs.Mkdir($"{sys}/bus/{dev.Bus}/drivers");
            Sysfs.Symlink(path + "/subsystem", $"{sys}/bus/{dev.Bus}");
            Sysfs.Symlink($"{sys}/bus/{dev.Bus}/devices/{dev.Name}", path);
            if (dev.Driver is not null)
            {
                Sysfs.Mkdir($"{sys}/bus/{dev.Bus}/drivers/{dev.Driver}");
                Sysfs.Symlink(path + "/driver", $"{sys}/bus/{dev.Bus}/drivers/{dev.Driver}");
                Sysfs.Symlink($"{sys}/bus/{dev.Bus}/drivers/{dev.Driver}/{dev.Name}", path);
            }
        }
        foreach (var a in dev.Attrs)
        {
            if (a.Size is long size)
            {
                Sysfs.CreateBinFile(path + "/" + a.Name, a.Read, size, a.Mode);
            }
            else
            {
                Sysfs.CreateFile(path + "/" + a.Name, () => System.Text.Encoding.ASCII.GetString(a.Read()), a.Mode);
            }
        }
    }

    /// <summary><c>device_del</c>: the directory and every link device_add made.</summary>
    [Kernel("device_del", "drivers/base/core.c")]
    public void DeviceDel(SysDevice dev)
    {
        ArgumentNullException.ThrowIfNull(dev);
        string sys = Sysfs.Mount;
        if (dev.Devt is var (major, minor))
        {
            Sysfs.Remove($"{sys}/dev/char/{major}:{minor}");
        }
        if (dev.Class is not null)
        {
            Sysfs.Remove($"{sys}/class/{dev.Class}/{dev.Name}");
        }
        if (dev.Bus is not null)
        {
            Sysfs.Remove($"{sys}/bus/{dev.Bus}/devices/{dev.Name}");
            if (dev.Driver is not null)
            {
                Sysfs.Remove($"{sys}/bus/{dev.Bus}/drivers/{dev.Driver}/{dev.Name}");
            }
        }
        Sysfs.Remove(dev.Path);
    }

    /// <summary>
    /// <c>platform_device_register</c>: a platform device under /sys/devices/platform with <c>platform_uevent</c>
    /// (the OF node's MODALIAS when it has one, else "MODALIAS=platform:NAME") and the platform attributes
    /// "modalias" and "driver_override".
    /// </summary>
    [Kernel("platform_device_add", "drivers/base/platform.c")]
    public SysDevice PlatformDeviceAdd(string name, string? driver = null, OfNode? of = null)
    {
        string modalias = of is null ? "platform:" + name : $"of:N{of.Name}T(null){string.Concat(of.Compatible.Select(c => "C" + c))}";
        var dev = new SysDevice
        {
            Name = name,
            Parent = PlatformBus,
            Bus = "platform",
            Driver = driver,
            Of = of,
            BusUevent = () => ["MODALIAS=" + modalias],
            Attrs =
            [
                SysAttr.Text("modalias", () => modalias + "\n"),
                SysAttr.Text("driver_override", () => "(null)\n", 0x1a4),
            ],
        };
        DeviceAdd(dev);
        return dev;
    }
}
