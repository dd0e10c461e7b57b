// Models drivers/dma-buf/dma-buf.c (Linux 6.1): struct dma_buf and its kernel API (export, fd, get/put, CPU access,
// mmap, vmap), and dma_buf_release. The importer side (attach, map, pin, move_notify) is in DmaBuf.Attach.cs.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBufs;

/// <summary>
/// <c>struct dma_buf</c>: a buffer shared between an exporter (its <see cref="Ops"/> and <see cref="Priv"/>) and
/// importers (<see cref="Attachments"/>). Its reference count IS its file's (<see cref="File"/>): every fd, every
/// user mapping and every kernel user (<c>dma_buf_get</c>, <c>get_dma_buf</c>) holds one; the last
/// <c>fput</c> runs <c>dma_buf_file_release</c> and <c>dma_buf_release</c> (the exporter's <c>release</c>).
/// Reference graph: fd / vma / importer -&gt; file -&gt; dma_buf -&gt; exporter object (via <c>priv</c>).
/// </summary>
/// <remarks>
/// The usual sequence ("DOC: dma buf device access"): the exporter calls <see cref="Export"/> and <see cref="Fd"/>;
/// an importer turns the fd into the buffer with <see cref="Get(DmaBufList, Process, int)"/>, attaches its device with
/// <see cref="Attach"/>, maps with <see cref="MapAttachment"/> / unmaps with <see cref="UnmapAttachment"/>,
/// then <see cref="Detach"/> and <see cref="Put"/>.
/// </remarks>
[Kernel("struct dma_buf", "include/linux/dma-buf.h")]
public sealed partial class DmaBuf
{
    /// <summary>FMODE_OPENED (include/linux/fs.h).</summary>
    public const uint FMODE_OPENED = 0x80000;

    /// <summary>CONFIG_DMABUF_MOVE_NOTIFY (off in Debian's 6.1 config): dynamic exporters are pinned while mapped.</summary>
    public const bool CONFIG_DMABUF_MOVE_NOTIFY = false;

    private readonly DmaBufList _dbList;
    private readonly List<DmaBufAttachment> _attachments = [];
    private long _liveId;

    private DmaBuf(DmaBufList dbList, DmaBufExportInfo info, DmaBufOps ops, KernelFile file)
    {
        _dbList = dbList;
        Priv = info.Priv!;
        Ops = ops;
        Size = info.Size;
        ExpName = info.ExpName;
        Owner = info.Owner;
        File = file;
    }

    /// <summary><c>size</c> in bytes.</summary>
    public ulong Size { get; }

    /// <summary><c>file</c>: the anon file that carries the refcount.</summary>
    public KernelFile File { get; }

    /// <summary><c>ops</c>.</summary>
    public DmaBufOps Ops { get; }

    /// <summary><c>priv</c>: the exporter's object.</summary>
    public object Priv { get; }

    /// <summary><c>exp_name</c>.</summary>
    public string ExpName { get; }

    /// <summary><c>owner</c>.</summary>
    public string? Owner { get; }

    /// <summary><c>name</c> (<c>DMA_BUF_SET_NAME</c>), null until set.</summary>
    public string? Name { get; internal set; }

    /// <summary><c>vmapping_counter</c>.</summary>
    public int VmappingCounter { get; private set; }

    /// <summary><c>vmap_ptr</c>.</summary>
    public IosysMap VmapPtr { get; private set; }

    /// <summary><c>attachments</c>, in list order (newest first: <c>list_add</c>).</summary>
    public IReadOnlyList<DmaBufAttachment> Attachments => _attachments;

    /// <summary>The machine's dma-buf list this buffer is on.</summary>
    public DmaBufList DbList => _dbList;

    // The live-object id (the leak check's handle on this buffer).
    internal long LiveId => _liveId;

    // DMA_BUF_IOCTL_SYNC STARTs not yet ENDed (the --check misuse "END without START"; Linux does not track them).
    internal int CpuAccessSyncs { get; set; }

    /// <summary>True once the last reference is gone (<c>dma_buf_release</c> ran).</summary>
    public bool Released { get; private set; }

    /// <summary><c>dma_buf_is_dynamic</c>: the exporter has <c>pin</c> (it can move the buffer).</summary>
    [Kernel("dma_buf_is_dynamic", "include/linux/dma-buf.h")]
    public bool IsDynamic => Ops.Pin is not null;

    private Warnings Warn => _dbList.Warnings;

    /// <summary>
    /// <c>dma_buf_export</c>: wraps the exporter's object in a new dma-buf with one reference (its file's).
    /// Missing <c>priv</c>/<c>ops</c>/<c>map_dma_buf</c>/<c>unmap_dma_buf</c>/<c>release</c>, <c>cache_sgt_mapping</c>
    /// with <c>pin</c>/<c>unpin</c>, or <c>pin</c> without <c>unpin</c> (or the reverse) are WARNs and <c>-EINVAL</c>;
    /// an owner module going away is <c>-ENOENT</c>.
    /// </summary>
    [Kernel("dma_buf_export", "drivers/dma-buf/dma-buf.c")]
    public static (DmaBuf? DmaBuf, int Err) Export(DmaBufList dbList, DmaBufExportInfo expInfo)
    {
        dbList.Kprobe("dma_buf_export");
        var (dmabuf, err) = ExportRaw(dbList, expInfo);
        dbList.Kprobe("dma_buf_export:return", new KernelTraceField("ret", err != 0 ? err : (long)dmabuf!.File.Inode.Ino));
        return (dmabuf, err);
    }

    private static readonly FaultSite s_allocAnonInode = FaultSite.Register("dma_buf_getfile:alloc_anon_inode", FaultKind.File);
    private static readonly FaultSite s_allocFilePseudo = FaultSite.Register("dma_buf_getfile:alloc_file_pseudo", FaultKind.File);
    private static readonly FaultSite s_kzallocDmaBuf = FaultSite.Register("dma_buf_export:kzalloc");
    private static readonly FaultSite s_kzallocAttach = FaultSite.Register("dma_buf_dynamic_attach:kzalloc");

    private static (DmaBuf? DmaBuf, int Err) ExportRaw(DmaBufList dbList, DmaBufExportInfo expInfo)
    {
        var warn = dbList.Warnings;
        var ops = expInfo.Ops;
        if (warn.On(expInfo.Priv is null || ops is null || ops.MapDmaBuf is null || ops.UnmapDmaBuf is null || ops.Release is null,
                "!exp_info->priv || !exp_info->ops || !map_dma_buf || !unmap_dma_buf || !release"))
        {
            return (null, -(int)Errno.EINVAL);
        }
        if (warn.On(ops!.CacheSgtMapping && (ops.Pin is not null || ops.Unpin is not null), "cache_sgt_mapping && (pin || unpin)"))
        {
            return (null, -(int)Errno.EINVAL);
        }
        if (warn.On((ops.Pin is null) != (ops.Unpin is null), "!pin != !unpin"))
        {
            return (null, -(int)Errno.EINVAL);
        }
        if (!dbList.Modules.TryModuleGet(expInfo.Owner))
        {
            return (null, -(int)Errno.ENOENT);
        }

        var file = GetFile(dbList, expInfo.Size, expInfo.Flags);
        if (file is null)
        {
            dbList.Modules.ModulePut(expInfo.Owner); // err_module
            return (null, -(int)Errno.ENOMEM);
        }
        if (s_kzallocDmaBuf.ShouldFail())
        {
            file.Put();                              // err_file: fput(file)
            dbList.Modules.ModulePut(expInfo.Owner); // err_module
            return (null, -(int)Errno.ENOMEM);
        }
        var dmabuf = new DmaBuf(dbList, expInfo, ops, file);
        dmabuf.InitResv(expInfo.Resv);
        file.PrivateData = dmabuf;
        dmabuf._liveId = dbList.Live.Register("dma_buf", $"dma-buf ino {file.Inode.Ino} {expInfo.ExpName} {expInfo.Size} bytes",
            () => $"file count {file.Count}, {dmabuf._attachments.Count} attachments, vmap {dmabuf.VmappingCounter}", target: file);
        dbList.Add(dmabuf);
        return (dmabuf, 0);
    }

    // dma_buf_getfile: an anon inode of the dmabuf pseudo fs (mode 0600, no file type bits), its own inode number
    // counter, i_size = size; f_flags keeps O_ACCMODE | O_NONBLOCK; f_mode as alloc_file sets it.
    [Kernel("dma_buf_getfile", "drivers/dma-buf/dma-buf.c")]
    private static KernelFile? GetFile(DmaBufList dbList, ulong size, uint flags)
    {
        if (s_allocAnonInode.ShouldFail() || s_allocFilePseudo.ShouldFail())
        {
            return null; // alloc_anon_inode / alloc_file_pseudo: ERR_PTR(-ENOMEM) (the inode is iput)
        }
        var inode = new Inode(dbList.NextInodeNumber(), 0x180 /* S_IRUSR | S_IWUSR */, size: (long)size);
        flags &= OpenFlags.O_ACCMODE | OpenFlags.O_NONBLOCK;
        var file = new KernelFile(inode, DmaBufFile.Fops, flags, dbList.Live, "dmabuf:");
        file.Mode |= KernelFile.FMODE_LSEEK | FMODE_OPENED;
        return file;
    }

    /// <summary><c>is_dma_buf_file</c>: the file's <c>f_op</c> is <c>dma_buf_fops</c>.</summary>
    [Kernel("is_dma_buf_file", "drivers/dma-buf/dma-buf.c")]
    public static bool IsDmaBufFile(KernelFile file) => ReferenceEquals(file.Ops, DmaBufFile.Fops);

    /// <summary>
    /// <c>dma_buf_fd</c>: installs the dma-buf's file at the lowest free fd of <paramref name="current"/>
    /// (<c>O_CLOEXEC</c> in <paramref name="flags"/> sets close-on-exec). The fd takes over the caller's reference.
    /// Returns the fd, <c>-EMFILE</c> (the caller keeps its reference), or <c>-EINVAL</c> for a released buffer.
    /// </summary>
    [Kernel("dma_buf_fd", "drivers/dma-buf/dma-buf.c")]
    public int Fd(Process current, uint flags)
    {
        _dbList.Kprobe("dma_buf_fd", new KernelTraceField("flags", (ulong)flags));
        int fd = Released ? -(int)Errno.EINVAL : current.InstallFile(File, (flags & OpenFlags.O_CLOEXEC) != 0);
        _dbList.Kprobe("dma_buf_fd:return", new KernelTraceField("ret", (long)fd));
        return fd;
    }

    /// <summary>
    /// <c>dma_buf_get</c> (on the machine of <paramref name="dbList"/>): the dma-buf behind <paramref name="fd"/> of <paramref name="current"/>, with a new
    /// reference (<c>fget</c>). <c>-EBADF</c> for a bad fd, <c>-EINVAL</c> for a file that is not a dma-buf.
    /// </summary>
    [Kernel("dma_buf_get", "drivers/dma-buf/dma-buf.c")]
    public static (DmaBuf? DmaBuf, int Err) Get(DmaBufList dbList, Process current, int fd)
    {
        dbList.Kprobe("dma_buf_get", new KernelTraceField("fd", (long)fd));
        var file = current.Fget(fd);
        if (file is null)
        {
            return (null, -(int)Errno.EBADF);
        }
        file.Get();
        if (!IsDmaBufFile(file))
        {
            file.Put();
            return (null, -(int)Errno.EINVAL);
        }
        return ((DmaBuf)file.PrivateData!, 0);
    }

    /// <summary><c>get_dma_buf</c>: takes a reference (<c>get_file</c>).</summary>
    [Kernel("get_dma_buf", "include/linux/dma-buf.h")]
    public DmaBuf Get()
    {
        File.Get();
        return this;
    }

    /// <summary>
    /// <c>dma_buf_put</c>: drops a reference (<c>fput</c>); the last one releases the buffer. A put of a buffer
    /// that is already gone is a WARN (the kernel's refcount underflow warning) and changes nothing.
    /// </summary>
    [Kernel("dma_buf_put", "drivers/dma-buf/dma-buf.c")]
    public void Put()
    {
        if (Warn.On(Released || File.Released || File.Count <= 0, "dma_buf_put on a released dma-buf (refcount underflow)"))
        {
            return;
        }
        File.Put();
    }

    /// <summary>
    /// <c>dma_buf_release</c> (the dentry's <c>d_release</c>, after <c>dma_buf_file_release</c> took the buffer off
    /// the list): the exporter's <c>release</c>, then the embedded reservation object, then the module reference.
    /// </summary>
    [Kernel("dma_buf_release", "drivers/dma-buf/dma-buf.c")]
    internal void ReleaseLast()
    {
        _dbList.Kprobe("dma_buf_release");
        KernelBugException.On(VmappingCounter != 0, "dma_buf_release: vmapping_counter");
        ReleaseResvCallbacksCheck();
        Ops.Release!(this);
        FiniResv();
        Warn.On(_attachments.Count != 0, "!list_empty(&dmabuf->attachments)");
        _dbList.Modules.ModulePut(Owner);
        Released = true;
        _dbList.Live.Unregister(_liveId);
    }

    /// <summary>
    /// <c>dma_buf_begin_cpu_access</c>: the exporter's <c>begin_cpu_access</c>, then (when that returned 0) a wait
    /// for the implicit fences (writers for a read, everyone for a write).
    /// </summary>
    [Kernel("dma_buf_begin_cpu_access", "drivers/dma-buf/dma-buf.c")]
    public int BeginCpuAccess(DmaDataDirection direction)
    {
        int ret = 0;
        _dbList.Kprobe("dma_buf_begin_cpu_access", new KernelTraceField("dir", (long)direction));
        if (Ops.BeginCpuAccess is not null)
        {
            ret = Ops.BeginCpuAccess(this, direction);
        }
        if (ret == 0)
        {
            ret = BeginCpuAccessWait(direction);
        }
        return ret;
    }

    /// <summary><c>dma_buf_end_cpu_access</c>: the exporter's <c>end_cpu_access</c>, or 0.</summary>
    [Kernel("dma_buf_end_cpu_access", "drivers/dma-buf/dma-buf.c")]
    public int EndCpuAccess(DmaDataDirection direction)
    {
        _dbList.Kprobe("dma_buf_end_cpu_access", new KernelTraceField("dir", (long)direction));
        return Ops.EndCpuAccess is not null ? Ops.EndCpuAccess(this, direction) : 0;
    }

    /// <summary>
    /// <c>dma_buf_mmap</c> (kernel-internal, for importers that forward their mmap): bounds-checks
    /// <paramref name="pgoff"/> + the mapping's pages against the size (<c>-EOVERFLOW</c> on wrap, <c>-EINVAL</c>
    /// past the end, <c>-EINVAL</c> without an exporter <c>mmap</c>), points the mapping at the dma-buf's file and
    /// calls the exporter's <c>mmap</c>.
    /// </summary>
    [Kernel("dma_buf_mmap", "drivers/dma-buf/dma-buf.c")]
    public int Mmap(Vma? vma, ulong pgoff)
    {
        if (Warn.On(vma is null, "!dmabuf || !vma"))
        {
            return -(int)Errno.EINVAL;
        }
        if (Ops.Mmap is null)
        {
            return -(int)Errno.EINVAL;
        }
        ulong pages = vma!.Pages;
        if (unchecked(pgoff + pages) < pgoff)
        {
            return -(int)Errno.EOVERFLOW;
        }
        if (pgoff + pages > Size >> Align.PAGE_SHIFT)
        {
            return -(int)Errno.EINVAL;
        }
        // vma_set_file: get_file(new), swap, fput(old).
        File.Get();
        var old = vma.File;
        vma.File = File;
        old?.Put();
        vma.PgOff = pgoff;
        return Ops.Mmap(this, vma);
    }

    /// <summary>
    /// <c>dma_buf_vmap</c>: a kernel mapping of the whole buffer, shared and counted (the exporter's <c>vmap</c>
    /// runs only for the first user). <c>-EINVAL</c> without an exporter <c>vmap</c>.
    /// </summary>
    [Kernel("dma_buf_vmap", "drivers/dma-buf/dma-buf.c")]
    public int Vmap(out IosysMap map)
    {
        map = default;
        if (Ops.Vmap is null)
        {
            return -(int)Errno.EINVAL;
        }
        if (_dbList.ResvLockedConvention)
        {
            ResvAssertHeld(); // 6.12; 6.1 takes dma_buf->lock here instead (nothing a caller must hold)
        }
        if (VmappingCounter != 0)
        {
            VmappingCounter++;
            KernelBugException.On(VmapPtr.IsNull, "dma_buf_vmap: vmap_ptr is null");
            map = VmapPtr;
            return 0;
        }
        KernelBugException.On(!VmapPtr.IsNull, "dma_buf_vmap: vmap_ptr is set");
        int ret = Ops.Vmap(this, out var ptr);
        if (Warn.On(ret != 0, "WARN_ON_ONCE(ret) in dma_buf_vmap"))
        {
            return ret;
        }
        VmapPtr = ptr;
        VmappingCounter = 1;
        map = ptr;
        return 0;
    }

    /// <summary><c>dma_buf_vunmap</c>: the last user's unmap calls the exporter's <c>vunmap</c>.</summary>
    [Kernel("dma_buf_vunmap", "drivers/dma-buf/dma-buf.c")]
    public void Vunmap(IosysMap map)
    {
        if (_dbList.ResvLockedConvention)
        {
            ResvAssertHeld(); // 6.12; 6.1 takes dma_buf->lock
        }
        KernelBugException.On(VmapPtr.IsNull, "dma_buf_vunmap: vmap_ptr is null");
        KernelBugException.On(VmappingCounter == 0, "dma_buf_vunmap: vmapping_counter is 0");
        KernelBugException.On(VmapPtr != map, "dma_buf_vunmap: another map");
        if (--VmappingCounter == 0)
        {
            Ops.Vunmap?.Invoke(this, map);
            VmapPtr = default;
        }
    }

    /// <summary>
    /// <c>dma_buf_vmap_unlocked</c> (6.12 only: 6.1.192 has no such export): <see cref="Vmap"/> under the
    /// reservation lock. On the 6.1 profile the function does not exist: <c>-ENOSYS</c>, a model-only value
    /// (a 6.1 module calling it would not load).
    /// </summary>
    [Kernel("dma_buf_vmap_unlocked", "drivers/dma-buf/dma-buf.c")]
    public int VmapUnlocked(out IosysMap map)
    {
        map = default;
        if (!_dbList.ResvLockedConvention)
        {
            return -(int)Errno.ENOSYS;
        }
        ResvLock();
        int ret = Vmap(out map);
        ResvUnlock();
        return ret;
    }

    /// <summary><c>dma_buf_vunmap_unlocked</c> (6.12 only): <see cref="Vunmap"/> under the reservation lock.</summary>
    [Kernel("dma_buf_vunmap_unlocked", "drivers/dma-buf/dma-buf.c")]
    public void VunmapUnlocked(IosysMap map)
    {
        ResvLock();
        Vunmap(map);
        ResvUnlock();
    }

    /// <summary>
    /// <c>dma_buf_set_name</c>: replaces the name (the ioctl copies it with <c>strndup_user(buf, DMA_BUF_NAME_LEN)</c>,
    /// see <see cref="DmaBufFile"/>).
    /// </summary>
    [Kernel("dma_buf_set_name", "drivers/dma-buf/dma-buf.c")]
    public void SetName(string name) => Name = name;

    /// <inheritdoc/>
    public override string ToString() => $"dma-buf ino {File.Inode.Ino} ({ExpName}, {Size} bytes)";
}
