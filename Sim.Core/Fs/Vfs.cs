// A small VFS: the paths a simulated program opens (device nodes, a few proc/regular files), inode numbers,
// and open(2) as fs/open.c + chrdev_open do it.
using Sim.Core.Debug;
using Sim.Core.Uapi;

namespace Sim.Core.Fs;

/// <summary>
/// Path lookup for the simulated programs: char device nodes made by drivers or <c>mknod</c>, and plain files
/// with their own operations (<c>/proc/self/stat</c>, the logger's output files). Opening a char node goes
/// through <see cref="CharDevices"/> (<c>chrdev_open</c>): no cdev for the node's numbers is <c>-ENXIO</c>.
/// </summary>
public sealed class Vfs(CharDevices chrdevs, LiveObjects live, Kernel.ModuleList? modules = null)
{
    private readonly Dictionary<string, Inode> _nodes = new(StringComparer.Ordinal);
    private readonly Dictionary<Inode, IFileOperations> _plain = [];
    private readonly Dictionary<string, long> _created = new(StringComparer.Ordinal);
    private long _nextCreated;
    private ulong _nextIno = 100;

    /// <summary>The char device registry.</summary>
    public CharDevices CharDevices { get; } = chrdevs;

    /// <summary>The sysfs mounted at /sys (paths under it resolve there), or null.</summary>
    public Sysfs? Sysfs { get; set; }

    /// <summary>One device node of /dev: path, device numbers and mode (type and permission bits).</summary>
    public readonly record struct DevNode(string Path, uint Major, uint Minor, uint Mode);

    /// <summary>Every character device node the machine has (driver-made and mknod-made), sorted by path.</summary>
    public IReadOnlyList<DevNode> DeviceNodes() =>
        [.. _nodes.Where(kv => kv.Value.IsChr).OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new DevNode(kv.Key, kv.Value.Major, kv.Value.Minor, kv.Value.Mode))];

    /// <summary>
    /// True when <paramref name="path"/> is a directory of the node tree: a proper prefix of some node's path
    /// ("/dev", "/dev/dri"), which devtmpfs creates as 0755 directories.
    /// </summary>
    public bool IsDirectory(string path)
    {
        string prefix = path.TrimEnd('/') + "/";
        return path == "/" || _nodes.Keys.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
    }

    private readonly Dictionary<string, Inode> _dirs = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>stat</c> of a path: a node, a directory of the node tree (S_IFDIR | 0755), or a sysfs entry
    /// (<paramref name="follow"/>: symlinks followed); (0, inode) or (-ENOENT, null).
    /// </summary>
    public (int Ret, Inode? Inode) StatPath(string path, bool follow = true)
    {
        if (Sysfs is not null && Sysfs.Covers(path) && Lookup(path) is null)
        {
            return Sysfs.Stat(path, follow);
        }
        if (Lookup(path) is { } node)
        {
            return (0, node);
        }
        if (IsDirectory(path))
        {
            if (!_dirs.TryGetValue(path, out var dir))
            {
                dir = new Inode(NextIno(), Inode.S_IFDIR | 0x1ed);
                _dirs.Add(path, dir);
            }
            return (0, dir);
        }
        return (-(int)Errno.ENOENT, null);
    }

    /// <summary>
    /// The entries of a directory: sysfs directories from sysfs, the node tree's directories from its paths
    /// (char nodes DT_CHR, subdirectories DT_DIR) in devtmpfs's order, newest first (<c>dcache_readdir</c> walks
    /// <c>d_subdirs</c>, where <c>d_alloc</c> adds each new dentry at the head); or a negative errno.
    /// </summary>
    [Kernel("iterate_dir", "fs/readdir.c")]
    public (int Ret, IReadOnlyList<DirEntry>? Entries) ReadDir(string path)
    {
        if (Sysfs is not null && Sysfs.Covers(path))
        {
            return Sysfs.ReadDir(path);
        }
        if (Lookup(path) is not null)
        {
            return (-(int)Errno.ENOTDIR, null);
        }
        if (!IsDirectory(path))
        {
            return (-(int)Errno.ENOENT, null);
        }
        string prefix = path.TrimEnd('/') + "/";
        var entries = new Dictionary<string, (DirEntryType Type, long Created)>(StringComparer.Ordinal);
        foreach (var (p, inode) in _nodes)
        {
            if (!p.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }
            string rest = p[prefix.Length..];
            int slash = rest.IndexOf('/');
            long created = _created[p];
            if (slash >= 0)
            {
                // The subdirectory's dentry was made with the first node below it.
                string name = rest[..slash];
                entries[name] = (DirEntryType.DT_DIR, entries.TryGetValue(name, out var e) ? Math.Min(e.Created, created) : created);
            }
            else
            {
                entries[rest] = (inode.IsChr ? DirEntryType.DT_CHR : DirEntryType.DT_REG, created);
            }
        }
        return (0, [.. entries.OrderByDescending(kv => kv.Value.Created).Select(kv => new DirEntry(kv.Key, kv.Value.Type))]);
    }

    /// <summary>A fresh inode number.</summary>
    public ulong NextIno() => _nextIno++;

    /// <summary><c>mknod(path, S_IFCHR|mode, makedev(major, minor))</c>: 0, or <c>-EEXIST</c>.</summary>
    [Kernel("vfs_mknod", "fs/namei.c")]
    public int Mknod(string path, uint mode, uint major, uint minor)
    {
        if (_nodes.ContainsKey(path))
        {
            return -(int)Errno.EEXIST;
        }
        _nodes[path] = new Inode(NextIno(), Inode.S_IFCHR | (mode & 0xfff), major, minor);
        _created[path] = _nextCreated++;
        return 0;
    }

    /// <summary>Removes a node (<c>unlink</c>): 0 or <c>-ENOENT</c>.</summary>
    public int Unlink(string path) => _nodes.Remove(path) && _created.Remove(path) ? 0 : -(int)Errno.ENOENT;

    /// <summary>Adds a plain file served by <paramref name="fops"/> (replaces one at the same path).</summary>
    public Inode AddFile(string path, IFileOperations fops, uint mode = Inode.S_IFREG | 0x1a4)
    {
        var inode = new Inode(NextIno(), mode);
        _nodes[path] = inode;
        _created[path] = _nextCreated++;
        _plain[inode] = fops;
        return inode;
    }

    /// <summary>The inode at <paramref name="path"/>, or null.</summary>
    public Inode? Lookup(string path) => _nodes.GetValueOrDefault(path);

    /// <summary>
    /// The entries of directory <paramref name="dir"/> (the nodes directly below it, newest first as
    /// <see cref="ReadDir"/> lists them), or null when no node lies below it (the directory does not exist: the
    /// models keep nodes, not directories).
    /// </summary>
    public IReadOnlyList<(string Name, Inode Inode)>? ListDirectory(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string prefix = dir.TrimEnd('/') + "/";
        var list = _nodes.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && kv.Key.IndexOf('/', prefix.Length) < 0)
            .OrderByDescending(kv => _created[kv.Key]).Select(kv => (kv.Key[prefix.Length..], kv.Value)).ToList();
        return list.Count == 0 ? null : list;
    }

    /// <summary>
    /// <c>do_filp_open</c> + <c>do_dentry_open</c>: a new file with one reference, or a negative errno
    /// (<c>-ENOENT</c> no such path, <c>-ENXIO</c> no device behind a char node, or the driver's open error).
    /// </summary>
    [Kernel("do_dentry_open", "fs/open.c")]
    public (KernelFile? File, int Err) Open(string path, uint flags)
    {
        if (Sysfs is not null && Sysfs.Covers(path) && Lookup(path) is null)
        {
            // A file registered at an exact path under /sys (tracefs's trace_pipe, debugfs files) is another
            // filesystem mounted there; everything else under /sys is sysfs.
            var (sInode, sFops, sErr) = Sysfs.Open(path);
            return sInode is null ? (null, sErr) : (new KernelFile(sInode, sFops!, flags & ~OpenFlags.O_CLOEXEC, live, path), 0);
        }
        var inode = Lookup(path);
        if (inode is null)
        {
            return (null, -(int)Errno.ENOENT);
        }
        IFileOperations? fops = inode.IsChr ? CharDevices.Lookup(inode.Major, inode.Minor) : _plain.GetValueOrDefault(inode);
        if (fops is null)
        {
            return (null, -(int)Errno.ENXIO);
        }
        // chrdev_open: cdev_get (try_module_get(cdev->owner)), then fops_get (try_module_get(fops->owner)).
        string? owner = inode.IsChr ? fops.Owner : null;
        if (owner is not null && modules is not null)
        {
            if (!modules.TryModuleGet(owner))
            {
                return (null, -(int)Errno.ENXIO);
            }
            if (!modules.TryModuleGet(owner))
            {
                modules.ModulePut(owner);
                return (null, -(int)Errno.ENODEV);
            }
        }
        var file = new KernelFile(inode, fops, flags & ~OpenFlags.O_CLOEXEC, live, path);
        if (owner is not null && modules is not null)
        {
            file.AfterRelease = () =>
            {
                modules.ModulePut(owner);
                modules.ModulePut(owner);
            };
        }
        int err = fops.Open(inode, file);
        if (err < 0)
        {
            file.Discard();
            if (owner is not null && modules is not null)
            {
                modules.ModulePut(owner);
                modules.ModulePut(owner);
            }
            return (null, err);
        }
        return (file, 0);
    }
}

/// <summary>A plain file that does nothing (a console, a log file the traced program writes).</summary>
public sealed class NullFileOperations : IFileOperations
{
    /// <summary>Shared instance.</summary>
    public static readonly NullFileOperations Instance = new();

    /// <inheritdoc/>
    public long Write(KernelFile file, ReadOnlySpan<byte> buffer) => buffer.Length;

    /// <inheritdoc/>
    public long Read(KernelFile file, Span<byte> buffer) => 0;

    /// <inheritdoc/>
    public long Llseek(KernelFile file, long offset, int whence) => file.Pos;
}
