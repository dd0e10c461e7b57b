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
    private ulong _nextIno = 100;

    /// <summary>The char device registry.</summary>
    public CharDevices CharDevices { get; } = chrdevs;

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
        return 0;
    }

    /// <summary>Removes a node (<c>unlink</c>): 0 or <c>-ENOENT</c>.</summary>
    public int Unlink(string path) => _nodes.Remove(path) ? 0 : -(int)Errno.ENOENT;

    /// <summary>Adds a plain file served by <paramref name="fops"/> (replaces one at the same path).</summary>
    public Inode AddFile(string path, IFileOperations fops, uint mode = Inode.S_IFREG | 0x1a4)
    {
        var inode = new Inode(NextIno(), mode);
        _nodes[path] = inode;
        _plain[inode] = fops;
        return inode;
    }

    /// <summary>The inode at <paramref name="path"/>, or null.</summary>
    public Inode? Lookup(string path) => _nodes.GetValueOrDefault(path);

    /// <summary>
    /// The entries of directory <paramref name="dir"/> (the names of the nodes directly below it, sorted), or null
    /// when no node lies below it (the directory does not exist: the models keep nodes, not directories).
    /// </summary>
    public IReadOnlyList<(string Name, Inode Inode)>? ListDirectory(string dir)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string prefix = dir.TrimEnd('/') + "/";
        var list = _nodes.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && kv.Key.IndexOf('/', prefix.Length) < 0)
            .Select(kv => (kv.Key[prefix.Length..], kv.Value)).OrderBy(e => e.Item1, StringComparer.Ordinal).ToList();
        return list.Count == 0 ? null : list;
    }

    /// <summary>
    /// <c>do_filp_open</c> + <c>do_dentry_open</c>: a new file with one reference, or a negative errno
    /// (<c>-ENOENT</c> no such path, <c>-ENXIO</c> no device behind a char node, or the driver's open error).
    /// </summary>
    [Kernel("do_dentry_open", "fs/open.c")]
    public (KernelFile? File, int Err) Open(string path, uint flags)
    {
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
