// Models the parts of struct inode (include/linux/fs.h) that user space sees through fstat and fdinfo.
namespace Sim.Core.Fs;

/// <summary><c>struct inode</c>: number, mode, device numbers and size.</summary>
[Kernel("struct inode", "include/linux/fs.h")]
public sealed class Inode
{
    /// <summary>S_IFMT.</summary>
    public const uint S_IFMT = 0xF000;
    /// <summary>S_IFCHR.</summary>
    public const uint S_IFCHR = 0x2000;
    /// <summary>S_IFREG.</summary>
    public const uint S_IFREG = 0x8000;
    /// <summary>S_IFBLK.</summary>
    public const uint S_IFBLK = 0x6000;
    /// <summary>S_IFSOCK.</summary>
    public const uint S_IFSOCK = 0xC000;
    /// <summary>S_IFLNK.</summary>
    public const uint S_IFLNK = 0xA000;
    /// <summary>S_IFDIR.</summary>
    public const uint S_IFDIR = 0x4000;

    /// <summary>Creates an inode.</summary>
    public Inode(ulong ino, uint mode, uint major = 0, uint minor = 0, long size = 0)
    {
        Ino = ino;
        Mode = mode;
        Major = major;
        Minor = minor;
        Size = size;
    }

    /// <summary><c>i_ino</c>.</summary>
    public ulong Ino { get; }

    /// <summary><c>i_mode</c> (type and permission bits).</summary>
    public uint Mode { get; set; }

    /// <summary>Major of <c>i_rdev</c>.</summary>
    public uint Major { get; }

    /// <summary>Minor of <c>i_rdev</c>.</summary>
    public uint Minor { get; }

    /// <summary><c>i_size</c>.</summary>
    public long Size { get; set; }

    /// <summary>Per-inode private data of the filesystem or driver (<c>i_private</c>).</summary>
    public object? Private { get; set; }

    /// <summary>True for a character device node.</summary>
    public bool IsChr => (Mode & S_IFMT) == S_IFCHR;
}
