// Models what device_create/device_destroy (drivers/base/core.c) and class_create/class_destroy
// (drivers/base/class.c) make visible: the devtmpfs node /dev/NAME (drivers/base/devtmpfs.c, mode 0600,
// root) and the /sys/class/CLASS/NAME entry with its "dev" attribute.
using Sim.Core.Fs;

namespace Sim.Core.Base;

/// <summary>
/// Device classes and their devices as user space sees them: devtmpfs nodes and /sys/class entries.
/// devtmpfs removes only the node it made (a node made by hand with mknod stays).
/// </summary>
[Kernel("devtmpfs", "drivers/base/devtmpfs.c")]
public sealed class Devtmpfs(Vfs vfs)
{
    private readonly Dictionary<string, List<(string Name, uint Major, uint Minor)>> _classes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Inode> _made = new(StringComparer.Ordinal);
    private readonly Dictionary<(uint, uint), string> _devnodes = [];

    /// <summary><c>class_create(owner, name)</c>: 0, or <c>-EEXIST</c>.</summary>
    [Kernel("class_create", "drivers/base/class.c")]
    public int ClassCreate(string name)
    {
        if (_classes.ContainsKey(name))
        {
            return -(int)Uapi.Errno.EEXIST;
        }
        _classes.Add(name, []);
        return 0;
    }

    /// <summary><c>class_destroy</c>.</summary>
    [Kernel("class_destroy", "drivers/base/class.c")]
    public void ClassDestroy(string name) => _classes.Remove(name);

    /// <summary>
    /// <c>device_create(class, NULL, MKDEV(major, minor), NULL, name)</c>: the sysfs entry and the devtmpfs node
    /// <c>/dev/name</c> (crw-------; an existing node of that name is left alone). Returns 0 or a negative errno.
    /// </summary>
    [Kernel("device_create", "drivers/base/core.c")]
    public int DeviceCreate(string className, string name, uint major, uint minor) => DeviceCreate(className, name, major, minor, name);

    /// <summary>
    /// <c>device_create</c> for a class with a <c>devnode</c> callback: the node is <c>/dev/</c><paramref name="devnode"/>
    /// (<c>dma_heap/system</c> for the dma_heap class).
    /// </summary>
    public int DeviceCreate(string className, string name, uint major, uint minor, string devnode)
    {
        if (!_classes.TryGetValue(className, out var list))
        {
            return -(int)Uapi.Errno.EINVAL;
        }
        if (list.Exists(d => d.Name == name))
        {
            return -(int)Uapi.Errno.EEXIST;
        }
        list.Add((name, major, minor));
        _devnodes[(major, minor)] = devnode;
        string path = "/dev/" + devnode;
        if (vfs.Mknod(path, 0x180, major, minor) == 0)
        {
            _made[path] = vfs.Lookup(path)!;
        }
        return 0;
    }

    /// <summary><c>device_destroy(class, devt)</c>: the sysfs entry and the node devtmpfs made for it.</summary>
    [Kernel("device_destroy", "drivers/base/core.c")]
    public void DeviceDestroy(string className, uint major, uint minor)
    {
        if (!_classes.TryGetValue(className, out var list))
        {
            return;
        }
        int k = list.FindIndex(d => d.Major == major && d.Minor == minor);
        if (k < 0)
        {
            return;
        }
        string path = "/dev/" + (_devnodes.Remove((major, minor), out var node) ? node : list[k].Name);
        list.RemoveAt(k);
        if (_made.Remove(path, out var inode) && ReferenceEquals(vfs.Lookup(path), inode))
        {
            vfs.Unlink(path);
        }
    }

    /// <summary>The entries of <c>/sys/class/&lt;className&gt;</c> (name, and the "dev" attribute "major:minor").</summary>
    public IReadOnlyList<(string Name, uint Major, uint Minor)> ClassDevices(string className) =>
        _classes.TryGetValue(className, out var list) ? list : [];
}
