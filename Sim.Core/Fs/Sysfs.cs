// Models fs/sysfs (over fs/kernfs, Linux 6.1): the /sys tree of directories, attribute files and symlinks the
// device model creates, with kernfs's relative symlink targets (kernfs_get_target_path) and path walks that follow
// them, so readlink, realpath, stat and readdir of /sys give what Linux gives.
using System.Text;
using Sim.Core.Uapi;

namespace Sim.Core.Fs;

/// <summary>The type of a directory entry (<c>d_type</c> of getdents64).</summary>
public enum DirEntryType : byte
{
    /// <summary>DT_CHR.</summary>
    DT_CHR = 2,
    /// <summary>DT_DIR.</summary>
    DT_DIR = 4,
    /// <summary>DT_REG.</summary>
    DT_REG = 8,
    /// <summary>DT_LNK.</summary>
    DT_LNK = 10,
}

/// <summary>One entry of a directory listing.</summary>
public readonly record struct DirEntry(string Name, DirEntryType Type);

/// <summary>
/// The sysfs tree of one machine. Paths are absolute (<c>/sys/...</c>). Attributes are shown when read
/// (<c>sysfs_kf_seq_show</c>: the show callback's text; binary attributes their bytes); symlinks keep the relative
/// target kernfs computes when they are made.
/// </summary>
[Kernel("sysfs", "fs/sysfs/dir.c")]
public sealed class Sysfs
{
    /// <summary>Where sysfs is mounted.</summary>
    public const string Mount = "/sys";

    private const int MAXSYMLINKS = 40;

    private abstract class Node
    {
        public Dir? Parent { get; set; }
        public string Name { get; set; } = "";
        public Inode? Inode { get; set; }
    }

    private sealed class Dir : Node
    {
        public SortedDictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);
    }

    private sealed class Link(string target) : Node
    {
        public string Target { get; } = target;
    }

    private sealed class Attr(Func<byte[]> read, uint mode, long size) : Node
    {
        public Func<byte[]> Read { get; } = read;
        public uint Mode { get; } = mode;
        public long Size { get; } = size;
    }

    private readonly Dir _root = new() { Name = "" };
    private readonly Func<ulong> _nextIno;

    /// <summary>An empty /sys (the top-level directories appear as the device model adds to them).</summary>
    public Sysfs(Func<ulong>? nextIno = null)
    {
        ulong ino = 10000;
        _nextIno = nextIno ?? (() => ino++);
        foreach (var d in new[] { "block", "bus", "class", "dev", "devices", "firmware", "fs", "kernel", "module", "power" })
        {
            Mkdir(Mount + "/" + d);
        }
        Mkdir(Mount + "/dev/char");
        Mkdir(Mount + "/dev/block");
    }

    /// <summary>The absolute path of <paramref name="relative"/> ("class/drm" -> "/sys/class/drm").</summary>
    public string RootPath(string relative) => Mount + "/" + relative;

    /// <summary>True when <paramref name="path"/> is /sys or below it.</summary>
    public static bool Covers(string path) => path == Mount || path.StartsWith(Mount + "/", StringComparison.Ordinal);

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private Dir MkdirNode(string path)
    {
        var d = _root;
        foreach (var c in Split(path))
        {
            if (!d.Children.TryGetValue(c, out var n))
            {
                n = new Dir { Name = c, Parent = d };
                d.Children.Add(c, n);
            }
            d = n as Dir ?? throw new InvalidOperationException($"sysfs: {path}: {c} is not a directory");
        }
        return d;
    }

    /// <summary><c>kernfs_create_dir</c> (and its parents): the directory at <paramref name="path"/>.</summary>
    [Kernel("kernfs_create_dir_ns", "fs/kernfs/dir.c")]
    public void Mkdir(string path) => MkdirNode(path);

    private void Add(string path, Node node)
    {
        int slash = path.LastIndexOf('/');
        var dir = MkdirNode(path[..slash]);
        node.Name = path[(slash + 1)..];
        node.Parent = dir;
        dir.Children[node.Name] = node;
    }

    /// <summary><c>sysfs_create_file</c>: a text attribute whose content is <paramref name="show"/>'s result.</summary>
    [Kernel("sysfs_create_file_ns", "fs/sysfs/file.c")]
    public void CreateFile(string path, Func<string> show, uint mode = 0x124) =>
        Add(path, new Attr(() => Encoding.ASCII.GetBytes(show()), mode, 4096));

    /// <summary><c>sysfs_create_bin_file</c>: a binary attribute of <paramref name="size"/> bytes.</summary>
    [Kernel("sysfs_create_bin_file", "fs/sysfs/file.c")]
    public void CreateBinFile(string path, Func<byte[]> read, long size, uint mode = 0x1a4) => Add(path, new Attr(read, mode, size));

    /// <summary>
    /// <c>sysfs_create_link</c>: a symlink at <paramref name="path"/> to the node at <paramref name="target"/>
    /// (absolute), stored as kernfs's relative path: "../" up to the first ancestor of the link's directory that is
    /// also an ancestor of the target's parent, then down to the target (<c>kernfs_get_target_path</c>).
    /// </summary>
    [Kernel("sysfs_create_link", "fs/sysfs/symlink.c")]
    public void Symlink(string path, string target) => Add(path, new Link(RelativeTarget(path, target)));

    /// <summary><c>kernfs_get_target_path</c>: the relative target of a link at <paramref name="link"/> to <paramref name="target"/>.</summary>
    [Kernel("kernfs_get_target_path", "fs/kernfs/symlink.c")]
    public static string RelativeTarget(string link, string target)
    {
        var baseDir = Split(link)[..^1];
        var t = Split(target);
        var tParent = t[..^1];
        int ups = 0;
        int depth = baseDir.Length;
        while (depth > 0 && !(depth <= tParent.Length && baseDir.AsSpan(0, depth).SequenceEqual(tParent.AsSpan(0, depth))))
        {
            ups++;
            depth--;
        }
        var sb = new StringBuilder();
        for (int k = 0; k < ups; k++)
        {
            sb.Append("../");
        }
        sb.Append(string.Join('/', t[depth..]));
        return sb.ToString();
    }

    /// <summary><c>sysfs_remove_*</c> / <c>kernfs_remove</c>: the node at <paramref name="path"/> and everything below it.</summary>
    [Kernel("kernfs_remove", "fs/kernfs/dir.c")]
    public void Remove(string path)
    {
        var n = Walk(path, followLast: false, out _).Node;
        if (n?.Parent is { } p)
        {
            p.Children.Remove(n.Name);
        }
    }

    private static string PathOf(Node n)
    {
        var parts = new List<string>();
        for (var x = n; x is not null && x.Parent is not null; x = x.Parent)
        {
            parts.Add(x.Name);
        }
        parts.Reverse();
        return "/" + string.Join('/', parts);
    }

    // A path walk (link_path_walk): symlinks in the middle are always followed, the last one when asked.
    private (Node? Node, int Err) Walk(string path, bool followLast, out string canonical)
    {
        canonical = path;
        if (!Covers(path))
        {
            return (null, -(int)Errno.ENOENT);
        }
        var todo = new Stack<string>(Split(path).Reverse());
        Node cur = _root;
        int links = 0;
        while (todo.Count > 0)
        {
            string c = todo.Pop();
            if (c == ".")
            {
                continue;
            }
            if (c == "..")
            {
                cur = cur.Parent ?? cur;
                continue;
            }
            if (cur is not Dir d)
            {
                return (null, -(int)Errno.ENOTDIR);
            }
            if (!d.Children.TryGetValue(c, out var next))
            {
                return (null, -(int)Errno.ENOENT);
            }
            if (next is Link l && (todo.Count > 0 || followLast))
            {
                if (++links > MAXSYMLINKS)
                {
                    return (null, -(int)Errno.ELOOP);
                }
                foreach (var part in Split(l.Target).Reverse())
                {
                    todo.Push(part);
                }
                if (l.Target.StartsWith('/'))
                {
                    cur = _root;
                }
                continue;
            }
            cur = next;
        }
        canonical = PathOf(cur);
        return (cur, 0);
    }

    /// <summary>
    /// <c>readlink(path)</c>: (0, the link's relative target), <c>-EINVAL</c> for a node that is not a link,
    /// <c>-ENOENT</c> for none.
    /// </summary>
    [Kernel("kernfs_iop_get_link", "fs/kernfs/symlink.c")]
    public (int Ret, string? Target) Readlink(string path)
    {
        var (n, err) = Walk(path, followLast: false, out _);
        return n switch
        {
            null => (err, null),
            Link l => (0, l.Target),
            _ => (-(int)Errno.EINVAL, null),
        };
    }

    /// <summary><c>realpath(path)</c> (libc's walk over readlink): the canonical path, or a negative errno.</summary>
    public (int Ret, string? Path) Realpath(string path)
    {
        var (n, err) = Walk(path, followLast: true, out var canonical);
        return n is null ? (err, null) : (0, canonical);
    }

    /// <summary>
    /// <c>stat</c> (<paramref name="follow"/>) or <c>lstat</c>: directories are 0755, links 0777, attributes their
    /// mode with size 4096 (binary attributes their size), as sysfs reports them.
    /// </summary>
    [Kernel("kernfs_iop_getattr", "fs/kernfs/inode.c")]
    public (int Ret, Inode? Inode) Stat(string path, bool follow = true)
    {
        var (n, err) = Walk(path, follow, out _);
        if (n is null)
        {
            return (err, null);
        }
        n.Inode ??= n switch
        {
            Dir => new Inode(_nextIno(), Inode.S_IFDIR | 0x1ed),
            Link => new Inode(_nextIno(), Inode.S_IFLNK | 0x1ff),
            Attr a => new Inode(_nextIno(), Inode.S_IFREG | a.Mode, 0, 0, a.Size),
            _ => throw new InvalidOperationException(),
        };
        return (0, n.Inode);
    }

    /// <summary>The entries of the directory at <paramref name="path"/> (links followed), by name; or a negative errno.</summary>
    [Kernel("kernfs_fop_readdir", "fs/kernfs/dir.c")]
    public (int Ret, IReadOnlyList<DirEntry>? Entries) ReadDir(string path)
    {
        var (n, err) = Walk(path, followLast: true, out _);
        if (n is null)
        {
            return (err, null);
        }
        if (n is not Dir d)
        {
            return (-(int)Errno.ENOTDIR, null);
        }
        return (0, d.Children.Values.Select(c => new DirEntry(c.Name, c switch
        {
            Dir => DirEntryType.DT_DIR,
            Link => DirEntryType.DT_LNK,
            _ => DirEntryType.DT_REG,
        })).ToList());
    }

    /// <summary>The content of the attribute at <paramref name="path"/> (links followed): (0, bytes) or a negative errno.</summary>
    [Kernel("sysfs_kf_seq_show", "fs/sysfs/file.c")]
    public (int Ret, byte[]? Data) Read(string path)
    {
        var (n, err) = Walk(path, followLast: true, out _);
        return n switch
        {
            null => (err, null),
            Attr a => (0, a.Read()),
            Dir => (-(int)Errno.EISDIR, null),
            _ => (-(int)Errno.EINVAL, null),
        };
    }

    /// <summary>The text of the attribute at <paramref name="path"/>, or null.</summary>
    public string? ReadText(string path) => Read(path).Data is { } b ? Encoding.ASCII.GetString(b) : null;

    /// <summary>
    /// <c>kernfs_fop_open</c>: a file on the attribute at <paramref name="path"/> whose reads return the content
    /// shown at open; a directory or a missing node is an error.
    /// </summary>
    [Kernel("kernfs_fop_open", "fs/kernfs/file.c")]
    public (Inode? Inode, IFileOperations? Fops, int Err) Open(string path)
    {
        var (n, err) = Walk(path, followLast: true, out _);
        if (n is null)
        {
            return (null, null, err);
        }
        if (n is not Attr a)
        {
            return (null, null, -(int)Errno.EISDIR);
        }
        var (_, inode) = Stat(path);
        return (inode, new AttrFile(a.Read), 0);
    }

    // kernfs_file_fops over a seq_file: reads from f_pos in the content of the first read; writes are refused.
    private sealed class AttrFile(Func<byte[]> show) : IFileOperations
    {
        private byte[]? _content;

        public long Read(KernelFile file, Span<byte> buffer)
        {
            _content ??= show();
            long pos = file.Pos;
            if (pos >= _content.Length)
            {
                return 0;
            }
            int n = (int)Math.Min(buffer.Length, _content.Length - pos);
            _content.AsSpan((int)pos, n).CopyTo(buffer);
            file.Pos = pos + n;
            return n;
        }

        public long Write(KernelFile file, ReadOnlySpan<byte> buffer) => -(long)Errno.EACCES;

        public long Llseek(KernelFile file, long offset, int whence)
        {
            long pos = whence switch { 0 => offset, 1 => file.Pos + offset, _ => -1 };
            if (pos < 0)
            {
                return -(long)Errno.EINVAL;
            }
            file.Pos = pos;
            return pos;
        }
    }
}
