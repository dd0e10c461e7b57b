// Models mm/memfd.c (Linux 6.1, and 6.12 on its profile: 6.3's MFD_NOEXEC_SEAL/MFD_EXEC and F_SEAL_EXEC) and
// the parts of mm/shmem.c a memfd's file operations reach: memfd_create on a shmem file, F_ADD_SEALS/F_GET_SEALS,
// ftruncate (shmem_setattr's seal checks), read/write (shmem_file_read_iter, shmem_file_write_iter with
// generic_write_checks' seal checks) and mmap (shmem_mmap's F_SEAL_FUTURE_WRITE check, pages faulted from the
// page cache). These are the model functions the syscall layer calls. MFD_HUGETLB (hugetlbfs) is not modelled:
// memfd_create returns -EINVAL for it here.
using System.Text;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;

namespace Sim.Core.Mm;

/// <summary>memfd_create and the sealing API of mm/memfd.c, over the machine's <see cref="Shmem"/>.</summary>
[Kernel("memfd_create", "mm/memfd.c")]
public sealed class Memfd(Shmem shmem, IPageDataAccess pages, LiveObjects live, Vfs vfs, Sim.Core.Boot.MachineOptions options) : IMemfd
{
    // Linux 6.3+ (the 6.12 profile): MFD_NOEXEC_SEAL / MFD_EXEC, F_SEAL_EXEC (vm.memfd_noexec = 0, Debian's default).
    private readonly bool _noexec = options.Kernel >= Sim.Core.Boot.KernelVersion.V6_12;

    /// <summary>MFD_CLOEXEC.</summary>
    public const uint MFD_CLOEXEC = 0x0001;
    /// <summary>MFD_ALLOW_SEALING.</summary>
    public const uint MFD_ALLOW_SEALING = 0x0002;
    /// <summary>MFD_HUGETLB.</summary>
    public const uint MFD_HUGETLB = 0x0004;
    /// <summary>MFD_HUGE_SHIFT (HUGETLB_FLAG_ENCODE_SHIFT).</summary>
    public const int MFD_HUGE_SHIFT = 26;
    /// <summary>MFD_HUGE_MASK (HUGETLB_FLAG_ENCODE_MASK).</summary>
    public const uint MFD_HUGE_MASK = 0x3f;
    /// <summary>MFD_HUGE_2MB.</summary>
    public const uint MFD_HUGE_2MB = 21u << MFD_HUGE_SHIFT;
    /// <summary>MFD_ALL_FLAGS (6.1).</summary>
    public const uint MFD_ALL_FLAGS = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB;
    /// <summary>MFD_NOEXEC_SEAL (Linux 6.3).</summary>
    public const uint MFD_NOEXEC_SEAL = 0x0008;
    /// <summary>MFD_EXEC (Linux 6.3).</summary>
    public const uint MFD_EXEC = 0x0010;
    /// <summary>MFD_ALL_FLAGS (6.12).</summary>
    public const uint MFD_ALL_FLAGS_612 = MFD_ALL_FLAGS | MFD_NOEXEC_SEAL | MFD_EXEC;
    /// <summary>F_SEAL_EXEC (Linux 6.3).</summary>
    public const uint F_SEAL_EXEC = 0x0020;
    /// <summary>MFD_NAME_MAX_LEN = NAME_MAX - strlen("memfd:").</summary>
    public const int MFD_NAME_MAX_LEN = 255 - 6;

    /// <summary>F_ADD_SEALS (F_LINUX_SPECIFIC_BASE + 9).</summary>
    public const int F_ADD_SEALS = 1033;
    /// <summary>F_GET_SEALS (F_LINUX_SPECIFIC_BASE + 10).</summary>
    public const int F_GET_SEALS = 1034;
    /// <summary>F_SEAL_SEAL.</summary>
    public const uint F_SEAL_SEAL = 0x0001;
    /// <summary>F_SEAL_SHRINK.</summary>
    public const uint F_SEAL_SHRINK = 0x0002;
    /// <summary>F_SEAL_GROW.</summary>
    public const uint F_SEAL_GROW = 0x0004;
    /// <summary>F_SEAL_WRITE.</summary>
    public const uint F_SEAL_WRITE = 0x0008;
    /// <summary>F_SEAL_FUTURE_WRITE.</summary>
    public const uint F_SEAL_FUTURE_WRITE = 0x0010;
    /// <summary>F_ALL_SEALS (mm/memfd.c).</summary>
    public const uint F_ALL_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;

    private static readonly FaultSite s_kmallocName = FaultSite.Register("memfd_create:kmalloc");
    private static readonly FaultSite s_shmemFile = FaultSite.Register("shmem_file_setup:shmem_inode", FaultKind.File);

    /// <summary>The machine's shmem.</summary>
    public Shmem Shmem { get; } = shmem;

    internal IPageDataAccess Pages { get; } = pages;

    // The memfds' file operations (one per machine: they reach its page data).
    private MemfdFops? _fops;

    internal LiveObjects Live { get; } = live;

    /// <summary>
    /// <c>memfd_create(name, flags)</c> in <paramref name="current"/>: unknown flags (<c>-EINVAL</c>), a name longer
    /// than MFD_NAME_MAX_LEN (<c>-EINVAL</c>), the name buffer (<c>-ENOMEM</c>), the lowest free fd (its error),
    /// the shmem file of size 0 (<c>-ENOMEM</c>), O_RDWR | O_LARGEFILE; MFD_ALLOW_SEALING clears F_SEAL_SEAL. The fd
    /// is close-on-exec with MFD_CLOEXEC. MFD_HUGETLB (hugetlbfs) is not modelled and returns <c>-EINVAL</c>.
    /// </summary>
    [Kernel("memfd_create", "mm/memfd.c")]
    public int Create(Process current, string name, uint flags)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(name);
        uint all = _noexec ? MFD_ALL_FLAGS_612 : MFD_ALL_FLAGS;
        if ((flags & MFD_HUGETLB) == 0)
        {
            if ((flags & ~all) != 0)
            {
                return -(int)Errno.EINVAL;
            }
        }
        else if ((flags & ~(all | (MFD_HUGE_MASK << MFD_HUGE_SHIFT))) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        if (_noexec)
        {
            // both EXEC and NOEXEC_SEAL: -EINVAL; check_sysctl_memfd_noexec with vm.memfd_noexec = 0: MFD_EXEC
            if ((flags & MFD_EXEC) != 0 && (flags & MFD_NOEXEC_SEAL) != 0)
            {
                return -(int)Errno.EINVAL;
            }
            if ((flags & (MFD_EXEC | MFD_NOEXEC_SEAL)) == 0)
            {
                flags |= MFD_EXEC;
            }
        }
        int len = Encoding.UTF8.GetByteCount(name) + 1; // strnlen_user counts the NUL
        if (len > MFD_NAME_MAX_LEN + 1)
        {
            return -(int)Errno.EINVAL;
        }
        if (s_kmallocName.ShouldFail())
        {
            return -(int)Errno.ENOMEM;
        }
        int fd = current.Files.NextFree();
        if (fd < 0)
        {
            return fd;
        }
        if ((flags & MFD_HUGETLB) != 0)
        {
            return -(int)Errno.EINVAL; // hugetlb_file_setup: hugetlbfs is not modelled
        }
        if (s_shmemFile.ShouldFail())
        {
            return -(int)Errno.ENOMEM;
        }
        var shm = new ShmemFile(Shmem, 0) { Name = "memfd:" + name };
        var inode = new Inode(vfs.NextIno(), Inode.S_IFREG | 0x1ff) { Private = shm };
        var file = new KernelFile(inode, _fops ??= new MemfdFops(this), OpenFlags.O_RDWR | OpenFlags.O_LARGEFILE, Live, "/memfd:" + name + " (deleted)")
        {
            PrivateData = shm,
        };
        file.Mode |= KernelFile.FMODE_LSEEK | KernelFile.FMODE_READ | KernelFile.FMODE_WRITE;
        if ((flags & MFD_NOEXEC_SEAL) != 0)
        {
            // 6.12: no exec bits, sealable, F_SEAL_EXEC set
            inode.Mode &= ~0x49u;
            shm.Seals = (shm.Seals & ~F_SEAL_SEAL) | F_SEAL_EXEC;
        }
        else if ((flags & MFD_ALLOW_SEALING) != 0)
        {
            shm.Seals &= ~F_SEAL_SEAL;
        }
        return current.InstallFile(file, (flags & MFD_CLOEXEC) != 0);
    }

    /// <summary><c>shmem_mapping(file-&gt;f_mapping)</c>: the shmem file behind <paramref name="file"/>, or null.</summary>
    [Kernel("shmem_mapping", "mm/shmem.c")]
    public static ShmemFile? ShmemMapping(KernelFile file) =>
        file is not null && file.Ops is MemfdFops ? (ShmemFile)file.PrivateData! : null;

    /// <summary>
    /// <c>memfd_add_seals</c>: the file must be open for writing (<c>-EPERM</c>), only known seals
    /// (<c>-EINVAL</c>), a shmem file (<c>-EINVAL</c>), not sealed against sealing (<c>-EPERM</c>); a new
    /// F_SEAL_WRITE needs no shared writable mapping (<c>-EBUSY</c>).
    /// </summary>
    [Kernel("memfd_add_seals", "mm/memfd.c")]
    public static int AddSeals(KernelFile file, uint seals, bool sealExec = false)
    {
        ArgumentNullException.ThrowIfNull(file);
        if ((file.Mode & KernelFile.FMODE_WRITE) == 0)
        {
            return -(int)Errno.EPERM;
        }
        if ((seals & ~(sealExec ? F_ALL_SEALS | F_SEAL_EXEC : F_ALL_SEALS)) != 0)
        {
            return -(int)Errno.EINVAL;
        }
        var shm = ShmemMapping(file);
        if (shm is null)
        {
            return -(int)Errno.EINVAL;
        }
        if ((shm.Seals & F_SEAL_SEAL) != 0)
        {
            return -(int)Errno.EPERM;
        }
        if ((seals & F_SEAL_EXEC) != 0 && (file.Inode.Mode & 0x49u) != 0)
        {
            // 6.12: F_SEAL_EXEC on an executable memfd implies the write seals (W^X from the start)
            seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
        }
        if ((seals & F_SEAL_WRITE) != 0 && (shm.Seals & F_SEAL_WRITE) == 0 && shm.MmapWritable > 0)
        {
            return -(int)Errno.EBUSY; // mapping_deny_writable
        }
        shm.Seals |= seals;
        return 0;
    }

    /// <summary><c>memfd_get_seals</c>: the seals, or <c>-EINVAL</c> for a file that is not shmem.</summary>
    [Kernel("memfd_get_seals", "mm/memfd.c")]
    public static int GetSeals(KernelFile file) => ShmemMapping(file) is { } shm ? (int)shm.Seals : -(int)Errno.EINVAL;

    /// <inheritdoc/>
    long IMemfd.Create(Process caller, string name, uint flags) => Create(caller, name, flags);

    /// <inheritdoc/>
    long IMemfd.Fcntl(KernelFile file, int cmd, long arg) => Fcntl(file, cmd, unchecked((ulong)arg), _noexec);

    /// <summary><c>memfd_fcntl(file, cmd, arg)</c>: F_ADD_SEALS (arg above UINT_MAX: <c>-EINVAL</c>), F_GET_SEALS.</summary>
    [Kernel("memfd_fcntl", "mm/memfd.c")]
    public static long Fcntl(KernelFile file, int cmd, ulong arg, bool sealExec = false) => cmd switch
    {
        F_ADD_SEALS => arg > uint.MaxValue ? -(long)Errno.EINVAL : AddSeals(file, (uint)arg, sealExec),
        F_GET_SEALS => GetSeals(file),
        _ => -(long)Errno.EINVAL,
    };

    /// <summary>
    /// <c>ftruncate(fd, length)</c> on a file (<c>do_sys_ftruncate</c>): negative length <c>-EINVAL</c>; a file not open
    /// for writing <c>-EINVAL</c>; then <c>shmem_setattr</c>: F_SEAL_SHRINK forbids a smaller size, F_SEAL_GROW a
    /// larger one (<c>-EPERM</c>). Files other than memfds: <c>-EINVAL</c> here.
    /// </summary>
    [Kernel("shmem_setattr", "mm/shmem.c")]
    public static int Ftruncate(KernelFile file, long length)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (length < 0)
        {
            return -(int)Errno.EINVAL;
        }
        if ((file.Mode & KernelFile.FMODE_WRITE) == 0)
        {
            return -(int)Errno.EINVAL;
        }
        var shm = ShmemMapping(file);
        if (shm is null)
        {
            return -(int)Errno.EINVAL;
        }
        ulong newsize = (ulong)length, oldsize = shm.Size;
        if (newsize != oldsize)
        {
            if (newsize < oldsize && (shm.Seals & F_SEAL_SHRINK) != 0)
            {
                return -(int)Errno.EPERM;
            }
            if (newsize > oldsize && (shm.Seals & F_SEAL_GROW) != 0)
            {
                return -(int)Errno.EPERM;
            }
            shm.SetSize(newsize);
            file.Inode.Size = length;
        }
        return 0;
    }

    /// <summary>
    /// <c>pwrite</c> at <paramref name="offset"/> (<c>shmem_file_write_iter</c>): F_SEAL_WRITE or F_SEAL_FUTURE_WRITE
    /// <c>-EPERM</c>; writing past the end with F_SEAL_GROW <c>-EPERM</c>; pages come from the page cache
    /// (<c>-ENOMEM</c>), the size grows to the end written. Returns the bytes written.
    /// </summary>
    [Kernel("shmem_file_write_iter", "mm/shmem.c")]
    public long Pwrite(KernelFile file, ReadOnlySpan<byte> data, ulong offset)
    {
        ArgumentNullException.ThrowIfNull(file);
        var shm = ShmemMapping(file) ?? throw new ArgumentException("not a memfd", nameof(file));
        if ((shm.Seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0)
        {
            return -(long)Errno.EPERM;
        }
        ulong end = offset + (ulong)data.Length;
        if (end > shm.Size && (shm.Seals & F_SEAL_GROW) != 0)
        {
            return -(long)Errno.EPERM;
        }
        if (end > shm.Size)
        {
            shm.SetSize(end);
            file.Inode.Size = (long)end;
        }
        int done = 0;
        while (done < data.Length)
        {
            ulong pos = offset + (ulong)done;
            int inPage = (int)(pos & 4095);
            int n = Math.Min(4096 - inPage, data.Length - done);
            int err = shm.ReadMappingPage(pos >> 12, out ulong pfn);
            if (err != 0)
            {
                return done > 0 ? done : err;
            }
            Pages.Write(pfn, inPage, data.Slice(done, n));
            done += n;
        }
        return done;
    }

    /// <summary><c>pread</c> at <paramref name="offset"/> (<c>shmem_file_read_iter</c>): up to the end of the file; holes read as zeros.</summary>
    [Kernel("shmem_file_read_iter", "mm/shmem.c")]
    public long Pread(KernelFile file, Span<byte> data, ulong offset)
    {
        ArgumentNullException.ThrowIfNull(file);
        var shm = ShmemMapping(file) ?? throw new ArgumentException("not a memfd", nameof(file));
        if (offset >= shm.Size)
        {
            return 0;
        }
        int total = (int)Math.Min((ulong)data.Length, shm.Size - offset);
        int done = 0;
        while (done < total)
        {
            ulong pos = offset + (ulong)done;
            int inPage = (int)(pos & 4095);
            int n = Math.Min(4096 - inPage, total - done);
            if (shm.TryFindPage(pos >> 12, out ulong pfn))
            {
                Pages.Read(pfn, inPage, data.Slice(done, n));
            }
            else
            {
                data.Slice(done, n).Clear();
            }
            done += n;
        }
        return done;
    }

    /// <summary>
    /// The memfd's file operations (<c>shmem_file_operations</c>): mmap (<c>shmem_mmap</c>: a shared writable mapping
    /// of a file sealed with F_SEAL_WRITE or F_SEAL_FUTURE_WRITE is <c>-EPERM</c>; faults read the page cache),
    /// llseek (<c>shmem_file_llseek</c>), read and write at the file position (<c>shmem_file_read_iter</c>,
    /// <c>generic_file_write_iter</c>), release (the page cache goes with the last reference).
    /// </summary>
    [Kernel("shmem_file_operations", "mm/shmem.c")]
    private sealed class MemfdFops(Memfd memfd) : IFileOperations
    {
        private const int SEEK_DATA = 3, SEEK_HOLE = 4;

        public void Release(Inode inode, KernelFile file) => ((ShmemFile)file.PrivateData!).Release();

        /// <summary>
        /// <c>shmem_file_llseek</c>: SEEK_SET/CUR/END by <c>generic_file_llseek_size</c> (SEEK_CUR by 0 returns the
        /// position untouched; a negative result <c>-EINVAL</c>); SEEK_DATA/SEEK_HOLE: a negative offset <c>-ENXIO</c>,
        /// then <c>mapping_seek_hole_data</c> over the page cache up to i_size (at or past it <c>-ENXIO</c>; data is
        /// a page present in the cache, every one of which is uptodate here; SEEK_HOLE stops at i_size at the latest;
        /// no data left <c>-ENXIO</c>).
        /// </summary>
        [Kernel("shmem_file_llseek", "mm/shmem.c")]
        public long Llseek(KernelFile file, long offset, int whence)
        {
            var shm = (ShmemFile)file.PrivateData!;
            long size = (long)shm.Size;
            long pos;
            switch (whence)
            {
                case 0:
                    pos = offset;
                    break;
                case 1:
                    if (offset == 0)
                    {
                        return file.Pos;
                    }
                    pos = unchecked(file.Pos + offset);
                    break;
                case 2:
                    pos = unchecked(offset + size);
                    break;
                case SEEK_DATA or SEEK_HOLE:
                    if (offset < 0)
                    {
                        return -(long)Errno.ENXIO;
                    }
                    pos = SeekHoleData(shm, offset, size, whence == SEEK_DATA);
                    if (pos < 0)
                    {
                        return pos;
                    }
                    break;
                default:
                    return -(long)Errno.EINVAL;
            }
            // vfs_setpos(file, pos, MAX_LFS_FILESIZE)
            if (pos < 0)
            {
                return -(long)Errno.EINVAL;
            }
            file.Pos = pos;
            return pos;
        }

        [Kernel("mapping_seek_hole_data", "mm/filemap.c")]
        private static long SeekHoleData(ShmemFile shm, long start, long end, bool seekData)
        {
            if (end <= start)
            {
                return -(long)Errno.ENXIO;
            }
            ulong last = (ulong)(end - 1) >> 12;
            for (ulong index = (ulong)start >> 12; index <= last; index++)
            {
                bool present = shm.TryFindPage(index, out _);
                if (present == seekData)
                {
                    long at = Math.Max(start, (long)(index << 12));
                    return Math.Min(at, end);
                }
            }
            return seekData ? -(long)Errno.ENXIO : end;
        }

        /// <summary><c>shmem_file_read_iter</c> at the file position, which advances by what was read.</summary>
        public long Read(KernelFile file, Span<byte> buffer)
        {
            long n = memfd.Pread(file, buffer, (ulong)file.Pos);
            if (n > 0)
            {
                file.Pos += n;
            }
            return n;
        }

        /// <summary>
        /// <c>generic_file_write_iter</c>: nothing to write is 0 before any check (<c>generic_write_checks</c>); then
        /// <c>shmem_write_begin</c>'s seals and the write at the file position, which advances by what was written.
        /// </summary>
        [Kernel("generic_file_write_iter", "mm/filemap.c")]
        public long Write(KernelFile file, ReadOnlySpan<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return 0;
            }
            long n = memfd.Pwrite(file, buffer, (ulong)file.Pos);
            if (n > 0)
            {
                file.Pos += n;
            }
            return n;
        }

        [Kernel("shmem_mmap", "mm/shmem.c")]
        public int Mmap(KernelFile file, Vma vma)
        {
            var shm = (ShmemFile)file.PrivateData!;
            bool sharedWrite = (vma.Flags & Vma.VM_SHARED) != 0 && (vma.Flags & Vma.VM_WRITE) != 0;
            // seal_check_future_write (6.1 checks F_SEAL_FUTURE_WRITE here; F_SEAL_WRITE via mapping_map_writable).
            if (sharedWrite && (shm.Seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) != 0)
            {
                return -(int)Errno.EPERM;
            }
            if ((shm.Seals & F_SEAL_FUTURE_WRITE) != 0 && (vma.Flags & Vma.VM_SHARED) != 0)
            {
                vma.Flags &= ~Vma.VM_MAYWRITE;
            }
            var ops = new ShmemVmOps(shm, sharedWrite);
            vma.Ops = ops;
            ops.Open(vma);
            return 0;
        }
    }

    // shmem_vm_ops: faults through the page cache; shared writable mappings count in i_mmap_writable.
    private sealed class ShmemVmOps(ShmemFile shm, bool sharedWrite) : IVmOperations
    {
        public void Open(Vma vma)
        {
            if (sharedWrite)
            {
                shm.MmapWritable++;
            }
        }

        public void Close(Vma vma)
        {
            if (sharedWrite)
            {
                shm.MmapWritable--;
            }
        }

        [Kernel("shmem_fault", "mm/shmem.c")]
        public long Fault(Vma vma, ulong pgoff)
        {
            int err = shm.ReadMappingPage(pgoff, out ulong pfn);
            return err != 0 ? -(long)Errno.EFAULT : (long)pfn;
        }
    }
}
