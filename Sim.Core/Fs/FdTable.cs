// Models struct files_struct / fdtable of fs/file.c: lowest free fd, close-on-exec bits, dup, close.
using Sim.Core.Uapi;

namespace Sim.Core.Fs;

/// <summary>
/// A process's descriptor table (<c>files_struct</c>). New descriptors are always the lowest free number
/// (<c>alloc_fd</c>), up to RLIMIT_NOFILE (<c>-EMFILE</c> past it).
/// </summary>
[Kernel("struct files_struct", "fs/file.c")]
public sealed class FdTable
{
    private readonly List<KernelFile?> _files = [];
    private readonly List<bool> _cloexec = [];
    private static readonly Debug.FaultSite s_allocFdtable = Debug.FaultSite.Register("alloc_fdtable:kmalloc");
    private int _capacity = 64; // NR_OPEN_DEFAULT (BITS_PER_LONG)

    /// <summary>Creates a table with the given RLIMIT_NOFILE (1024 by default, as on Linux).</summary>
    public FdTable(int rlimitNofile = 1024)
    {
        Limit = rlimitNofile;
    }

    /// <summary>RLIMIT_NOFILE.</summary>
    public int Limit { get; set; }

    /// <summary>
    /// When set, the table mirrors the descriptor table of a real process (<c>dmabufsim run</c>): fd numbers come
    /// from it (the lowest fd free in the real table, which also holds the program's real files), so
    /// <see cref="NextFree"/> and <see cref="Install"/> ask it instead of scanning this table.
    /// </summary>
    public IFdNumberSource? External { get; set; }

    /// <summary><c>alloc_fd</c> + <c>fd_install</c>: the lowest free fd at or above <paramref name="start"/>, or <c>-EMFILE</c>. Takes over the caller's reference.</summary>
    [Kernel("alloc_fd", "fs/file.c")]
    public int Install(KernelFile file, bool cloexec, int start = 0)
    {
        int fd = start;
        if (External is { } ext)
        {
            fd = ext.Take(start, cloexec);
            if (fd < 0)
            {
                return fd;
            }
        }
        while (fd < _files.Count && _files[fd] is not null)
        {
            fd++;
        }
        if (fd >= Limit)
        {
            return -(int)Errno.EMFILE;
        }
        int err = ExpandFiles(fd);
        if (err != 0)
        {
            return err;
        }
        while (_files.Count <= fd)
        {
            _files.Add(null);
            _cloexec.Add(false);
        }
        _files[fd] = file;
        _cloexec[fd] = cloexec;
        return fd;
    }

    /// <summary>
    /// <c>expand_files</c>: the table holds NR_OPEN_DEFAULT (64) fds at first and is reallocated to the next
    /// power of two of 128-fd units (<c>alloc_fdtable</c>) when <paramref name="nr"/> does not fit; 0 or -ENOMEM.
    /// </summary>
    [Kernel("expand_files", "fs/file.c")]
    private int ExpandFiles(int nr)
    {
        if (nr < _capacity)
        {
            return 0;
        }
        if (s_allocFdtable.ShouldFail())
        {
            return -(int)Errno.ENOMEM;
        }
        const int Unit = 1024 / 8; // 1024 / sizeof(struct file *)
        _capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(nr / Unit + 1)) * Unit;
        return 0;
    }

    /// <summary>The lowest fd that <see cref="Install"/> would hand out (<c>get_unused_fd_flags</c> peek), or -EMFILE.</summary>
    public int NextFree(int start = 0)
    {
        if (External is { } ext)
        {
            return ext.Peek(start);
        }
        int fd = start;
        while (fd < _files.Count && _files[fd] is not null)
        {
            fd++;
        }
        return fd >= Limit ? -(int)Errno.EMFILE : fd;
    }

    /// <summary>
    /// <c>get_unused_fd_flags(flags)</c>: reserves the lowest free fd (so nothing else takes it) without a file
    /// yet; <see cref="FdInstall"/> publishes the file there, <see cref="PutUnusedFd"/> gives the number back.
    /// Returns the fd, <c>-EMFILE</c>, or <c>-ENOMEM</c> (expand_files).
    /// </summary>
    [Kernel("get_unused_fd_flags", "fs/file.c")]
    public int GetUnusedFdFlags(bool cloexec) => Install(ReservedSlot, cloexec);

    /// <summary><c>put_unused_fd(fd)</c>: frees a number reserved by <see cref="GetUnusedFdFlags"/>.</summary>
    [Kernel("put_unused_fd", "fs/file.c")]
    public void PutUnusedFd(int fd)
    {
        if (fd >= 0 && fd < _files.Count && ReferenceEquals(_files[fd], ReservedSlot))
        {
            _files[fd] = null;
            _cloexec[fd] = false;
        }
    }

    /// <summary><c>fd_install(fd, file)</c>: publishes <paramref name="file"/> at a reserved fd (takes over the caller's reference).</summary>
    [Kernel("fd_install", "fs/file.c")]
    public void FdInstall(int fd, KernelFile file)
    {
        Debug.KernelBugException.On(fd < 0 || fd >= _files.Count || !ReferenceEquals(_files[fd], ReservedSlot), $"fd_install({fd}) on a fd not reserved");
        _files[fd] = file;
    }

    // The file pointer of a reserved, not yet installed fd: fget sees NULL there (Lookup hides it).
    private static readonly KernelFile ReservedSlot = new(new Inode(0, 0), NullFileOperations.Instance, 0, null, "(reserved fd)");

    /// <summary>Installs at a given fd (dup2 semantics): closes what was there. Returns fd or -EBADF.</summary>
    public int InstallAt(int fd, KernelFile file, bool cloexec)
    {
        if (fd < 0 || fd >= Limit)
        {
            return -(int)Errno.EBADF;
        }
        while (_files.Count <= fd)
        {
            _files.Add(null);
            _cloexec.Add(false);
        }
        var old = _files[fd];
        _files[fd] = file;
        _cloexec[fd] = cloexec;
        old?.Put();
        return fd;
    }

    /// <summary><c>fget</c> without taking a reference: the file at <paramref name="fd"/>, or null.</summary>
    public KernelFile? Lookup(int fd) => fd >= 0 && fd < _files.Count && !ReferenceEquals(_files[fd], ReservedSlot) ? _files[fd] : null;

    /// <summary>The close-on-exec bit of <paramref name="fd"/>.</summary>
    public bool GetCloexec(int fd) => fd >= 0 && fd < _cloexec.Count && _files[fd] is not null && _cloexec[fd];

    /// <summary>Sets the close-on-exec bit (F_SETFD).</summary>
    public void SetCloexec(int fd, bool value)
    {
        if (Lookup(fd) is not null)
        {
            _cloexec[fd] = value;
        }
    }

    /// <summary>Removes <paramref name="fd"/> and returns its file (the caller drops the reference), or null for a bad fd.</summary>
    [Kernel("close_fd", "fs/file.c")]
    public KernelFile? Remove(int fd)
    {
        var f = Lookup(fd);
        if (f is null)
        {
            return null;
        }
        _files[fd] = null;
        _cloexec[fd] = false;
        return f;
    }

    /// <summary>Open fds in ascending order.</summary>
    public IEnumerable<int> OpenFds()
    {
        for (int fd = 0; fd < _files.Count; fd++)
        {
            if (_files[fd] is not null && !ReferenceEquals(_files[fd], ReservedSlot))
            {
                yield return fd;
            }
        }
    }
}

/// <summary>
/// The numbers of a real process's descriptor table (<c>get_unused_fd_flags</c> of the process the simulated one
/// mirrors): <see cref="Peek"/> reserves the lowest free number at or above a start without using it,
/// <see cref="Take"/> uses the reserved number (or reserves one); both return a negative errno (<c>-EMFILE</c>) when
/// the real table is full.
/// </summary>
public interface IFdNumberSource
{
    /// <summary>The number the next <see cref="Take"/> with the same start gives.</summary>
    int Peek(int start);

    /// <summary>Uses a number for a file being installed with close-on-exec <paramref name="cloexec"/>.</summary>
    int Take(int start, bool cloexec);
}
