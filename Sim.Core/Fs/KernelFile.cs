// Models struct file (include/linux/fs.h) and its reference counting (fs/file_table.c: get_file, fput).
using Sim.Core.Debug;
using Sim.Core.Lib;

namespace Sim.Core.Fs;

/// <summary>
/// <c>struct file</c>: an open file. Its reference count (<c>f_count</c>) is held by every fd that names it,
/// by every mapping of it and by kernel users (a dma-buf's refcount is its file's); the last
/// <see cref="Put"/> (<c>fput</c>) calls <c>f_op-&gt;release</c>.
/// </summary>
[Kernel("struct file", "include/linux/fs.h")]
public sealed class KernelFile
{
    /// <summary>FMODE_READ.</summary>
    public const uint FMODE_READ = 0x1;
    /// <summary>FMODE_WRITE.</summary>
    public const uint FMODE_WRITE = 0x2;
    /// <summary>FMODE_LSEEK.</summary>
    public const uint FMODE_LSEEK = 0x4;
    /// <summary>FMODE_UNSIGNED_OFFSET: file positions (and mmap offsets) are unsigned (DRM nodes, /proc/PID/mem).</summary>
    public const uint FMODE_UNSIGNED_OFFSET = 0x2000;

    private readonly LiveObjects? _live;
    private readonly long _liveId;
    private Kref _count;

    /// <summary>Creates a file with one reference (<c>alloc_file</c>), registered as live.</summary>
    public KernelFile(Inode inode, IFileOperations ops, uint flags, LiveObjects? live, string name)
    {
        Inode = inode;
        Ops = ops;
        Flags = flags;
        Mode = OpenFlags.AccMode(flags) switch
        {
            OpenFlags.O_RDONLY => FMODE_READ,
            OpenFlags.O_WRONLY => FMODE_WRITE,
            _ => FMODE_READ | FMODE_WRITE,
        };
        Name = name;
        _count.Init();
        _live = live;
        _liveId = live?.Register("file", name, () => $"f_count {_count.Read}", target: this) ?? 0;
        // The machine's registration order (one counter per machine): files of two machines never share one.
        Order = _liveId;
    }

    /// <summary>The file's name for people (<c>/dev/dri/card0</c>, <c>dmabuf:</c>).</summary>
    public string Name { get; }

    /// <summary>
    /// A creation order within the machine, standing in for the (obfuscated) kernel pointer that <c>kcmp</c> orders
    /// by: the file's live-object id (0 for a file made without the machine's <see cref="LiveObjects"/>).
    /// </summary>
    public long Order { get; }

    /// <summary><c>f_inode</c>.</summary>
    public Inode Inode { get; }

    /// <summary><c>f_op</c>.</summary>
    public IFileOperations Ops { get; }

    /// <summary><c>f_flags</c> (O_* flags as opened, without O_CLOEXEC which lives in the fd table).</summary>
    public uint Flags { get; set; }

    /// <summary><c>f_mode</c> (FMODE_*).</summary>
    public uint Mode { get; set; }

    /// <summary><c>f_pos</c>.</summary>
    public long Pos { get; set; }

    /// <summary><c>private_data</c>.</summary>
    public object? PrivateData { get; set; }

    /// <summary><c>file_count(file)</c>.</summary>
    public int Count => _count.Read;

    /// <summary>True once released.</summary>
    public bool Released { get; private set; }

    /// <summary>
    /// What <c>__fput</c> does after <c>f_op-&gt;release</c> (<c>cdev_put</c>, <c>fops_put</c>: the module references
    /// taken at open), or null.
    /// </summary>
    public Action? AfterRelease { get; set; }

    /// <summary><c>get_file</c>.</summary>
    [Kernel("get_file")]
    public KernelFile Get()
    {
        _count.Get();
        return this;
    }

    /// <summary><c>fput</c>: the last reference calls <c>f_op-&gt;release</c>.</summary>
    [Kernel("fput", "fs/file_table.c")]
    public void Put() => _count.Put(Release);

    /// <summary>Drops a file whose open failed: no <c>release</c> call (do_dentry_open's error path).</summary>
    public void Discard()
    {
        Released = true;
        if (_live is not null)
        {
            _live.Unregister(_liveId);
        }
    }

    private void Release()
    {
        Released = true;
        Ops.Release(Inode, this);
        AfterRelease?.Invoke();
        if (_live is not null)
        {
            _live.Unregister(_liveId);
        }
    }
}

/// <summary>open(2) flags of include/uapi/asm-generic/fcntl.h (x86 and ARM values agree).</summary>
public static class OpenFlags
{
    /// <summary>O_ACCMODE.</summary>
    public const uint O_ACCMODE = 3;
    /// <summary>O_RDONLY.</summary>
    public const uint O_RDONLY = 0;
    /// <summary>O_WRONLY.</summary>
    public const uint O_WRONLY = 1;
    /// <summary>O_RDWR.</summary>
    public const uint O_RDWR = 2;
    /// <summary>O_CREAT.</summary>
    public const uint O_CREAT = 0x40;
    /// <summary>O_EXCL.</summary>
    public const uint O_EXCL = 0x80;
    /// <summary>O_NOCTTY.</summary>
    public const uint O_NOCTTY = 0x100;
    /// <summary>O_TRUNC.</summary>
    public const uint O_TRUNC = 0x200;
    /// <summary>O_APPEND.</summary>
    public const uint O_APPEND = 0x400;
    /// <summary>O_NONBLOCK.</summary>
    public const uint O_NONBLOCK = 0x800;
    /// <summary>O_LARGEFILE (set by the kernel on 64-bit opens).</summary>
    public const uint O_LARGEFILE = 0x8000;
    /// <summary>O_DIRECTORY.</summary>
    public const uint O_DIRECTORY = 0x10000;
    /// <summary>O_CLOEXEC.</summary>
    public const uint O_CLOEXEC = 0x80000;

    /// <summary>The access mode bits.</summary>
    public static uint AccMode(uint flags) => flags & O_ACCMODE;

    /// <summary>Parses <c>O_RDWR|O_CLOEXEC</c> as the trace headers write flag names.</summary>
    public static uint Parse(string names)
    {
        uint f = 0;
        foreach (var n in names.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            f |= n switch
            {
                "O_RDONLY" => O_RDONLY,
                "O_WRONLY" => O_WRONLY,
                "O_RDWR" => O_RDWR,
                "O_CREAT" => O_CREAT,
                "O_EXCL" => O_EXCL,
                "O_NOCTTY" => O_NOCTTY,
                "O_TRUNC" => O_TRUNC,
                "O_APPEND" => O_APPEND,
                "O_NONBLOCK" => O_NONBLOCK,
                "O_LARGEFILE" => O_LARGEFILE,
                "O_DIRECTORY" => O_DIRECTORY,
                "O_CLOEXEC" => O_CLOEXEC,
                _ => throw new FormatException($"unknown open flag {n}"),
            };
        }
        return f;
    }
}
