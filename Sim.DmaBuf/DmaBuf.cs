// Models drivers/dma-buf/dma-buf.c (Linux 6.1): struct dma_buf and its kernel API (export, fd, get/put, attach,
// detach, pin, map/unmap, move_notify, CPU access, mmap, vmap), and dma_buf_release.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Lib;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBuf;

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
    /// <c>__map_dma_buf</c>: the exporter's <c>map_dma_buf</c>; for a static importer it then waits for the kernel
    /// fences of the reservation object (interruptibly) and unmaps again when that wait fails.
    /// </summary>
    [Kernel("__map_dma_buf", "drivers/dma-buf/dma-buf.c")]
    private (SgTable? Sgt, int Err) MapDmaBufRaw(DmaBufAttachment attach, DmaDataDirection direction)
    {
        var (sgt, err) = Ops.MapDmaBuf!(attach, direction);
        if (sgt is null)
        {
            return (null, err);
        }
        if (!attach.IsDynamic)
        {
            long ret = WaitKernelFencesForMap();
            if (ret < 0)
            {
                Ops.UnmapDmaBuf!(attach, sgt, direction);
                return (null, (int)ret);
            }
        }
        return (sgt, 0);
    }

    /// <summary><c>__unmap_dma_buf</c>.</summary>
    [Kernel("__unmap_dma_buf", "drivers/dma-buf/dma-buf.c")]
    private void UnmapDmaBufRaw(DmaBufAttachment attach, SgTable sgt, DmaDataDirection direction) =>
        Ops.UnmapDmaBuf!(attach, sgt, direction);

    /// <summary><c>dma_buf_attach</c>: <see cref="DynamicAttach"/> for a static importer (no importer ops).</summary>
    [Kernel("dma_buf_attach", "drivers/dma-buf/dma-buf.c")]
    public (DmaBufAttachment? Attach, int Err) Attach(Device? dev) => DynamicAttach(dev, null, null);

    /// <summary>
    /// <c>dma_buf_dynamic_attach</c>: adds <paramref name="dev"/> to the attachments. A NULL device or importer ops
    /// without <c>move_notify</c> are WARNs and <c>-EINVAL</c>; the exporter's <c>attach</c> may fail it. When exactly
    /// one side is dynamic the mapping is made (and cached, DMA_BIDIRECTIONAL) here, pinning a dynamic exporter
    /// first; a failure then unwinds in the kernel's order (unpin, unlock, <c>dma_buf_detach</c>).
    /// </summary>
    [Kernel("dma_buf_dynamic_attach", "drivers/dma-buf/dma-buf.c")]
    public (DmaBufAttachment? Attach, int Err) DynamicAttach(Device? dev, DmaBufAttachOps? importerOps, object? importerPriv)
    {
        int ret;
        _dbList.Kprobe("dma_buf_dynamic_attach");
        if (Warn.On(dev is null, "!dmabuf || !dev"))
        {
            return (null, -(int)Errno.EINVAL);
        }
        if (Warn.On(importerOps is not null && importerOps.MoveNotify is null, "importer_ops && !importer_ops->move_notify"))
        {
            return (null, -(int)Errno.EINVAL);
        }

        if (s_kzallocAttach.ShouldFail())
        {
            return (null, -(int)Errno.ENOMEM);
        }
        var attach = new DmaBufAttachment(this, dev!, importerOps, importerPriv);
        attach.LiveId = _dbList.Live.Register("dma_buf_attachment", $"attachment of {dev} to dma-buf ino {File.Inode.Ino}",
            () => $"importer of {attach.Dev}{(attach.Sgt is null ? "" : ", mapping held")}{(attach.ImporterOps is null ? "" : ", dynamic importer")}");

        if (Ops.Attach is not null)
        {
            ret = Ops.Attach(this, attach);
            if (ret != 0)
            {
                goto err_attach;
            }
        }
        ResvLock();
        _attachments.Insert(0, attach);
        ResvUnlock();

        // When either the importer or the exporter can't handle dynamic mappings the mapping is cached here.
        if (attach.IsDynamic != IsDynamic)
        {
            if (IsDynamic)
            {
                ResvLock();
                ret = Ops.Pin!(attach);
                if (ret != 0)
                {
                    goto err_unlock;
                }
            }

            var (sgt, err) = MapDmaBufRaw(attach, DmaDataDirection.DMA_BIDIRECTIONAL);
            if (sgt is null && err == 0)
            {
                err = -(int)Errno.ENOMEM;
            }
            if (sgt is null)
            {
                ret = err;
                goto err_unpin;
            }
            if (IsDynamic)
            {
                ResvUnlock();
            }
            attach.Sgt = sgt;
            attach.Dir = DmaDataDirection.DMA_BIDIRECTIONAL;
        }
        return (attach, 0);

    err_attach:
        attach.Freed = true;
        attach.DmaBuf = null;
        _dbList.Live.Unregister(attach.LiveId);
        return (null, ret);

    err_unpin:
        if (IsDynamic)
        {
            Ops.Unpin!(attach);
        }

    err_unlock:
        if (IsDynamic)
        {
            ResvUnlock();
        }

        Detach(attach);
        return (null, ret);
    }

    /// <summary>
    /// <c>dma_buf_detach</c>: drops the cached mapping (unpinning a dynamic exporter), takes the attachment off the
    /// list, calls the exporter's <c>detach</c> and frees it. A NULL attachment, one already detached (a
    /// use-after-free in the kernel) or one of another buffer is a WARN and does nothing.
    /// </summary>
    [Kernel("dma_buf_detach", "drivers/dma-buf/dma-buf.c")]
    public void Detach(DmaBufAttachment? attach)
    {
        _dbList.Kprobe("dma_buf_detach");
        if (Warn.On(attach is null, "!dmabuf || !attach"))
        {
            return;
        }
        if (Warn.On(attach!.Freed || !ReferenceEquals(attach.DmaBuf, this), "dma_buf_detach of a freed or foreign attachment"))
        {
            return;
        }
        if (attach.Sgt is not null)
        {
            if (IsDynamic)
            {
                ResvLock();
            }
            UnmapDmaBufRaw(attach, attach.Sgt, attach.Dir);
            if (IsDynamic)
            {
                Ops.Unpin!(attach);
                ResvUnlock();
            }
            attach.Sgt = null;
        }
        ResvLock();
        _attachments.Remove(attach);
        ResvUnlock();
        Ops.Detach?.Invoke(this, attach);

        attach.Freed = true;
        attach.DmaBuf = null;
        _dbList.Live.Unregister(attach.LiveId);
    }

    /// <summary><c>dma_buf_pin</c>: only for dynamic importers (WARN otherwise); the exporter's <c>pin</c>, or 0 without one.</summary>
    [Kernel("dma_buf_pin", "drivers/dma-buf/dma-buf.c")]
    public static int Pin(DmaBufAttachment attach)
    {
        var dmabuf = LiveOf(attach);
        if (dmabuf is null)
        {
            return -(int)Errno.EINVAL;
        }
        dmabuf.Warn.On(!attach.IsDynamic, "!dma_buf_attachment_is_dynamic(attach)");
        dmabuf.ResvAssertHeld();
        return dmabuf.Ops.Pin is not null ? dmabuf.Ops.Pin(attach) : 0;
    }

    /// <summary><c>dma_buf_unpin</c>.</summary>
    [Kernel("dma_buf_unpin", "drivers/dma-buf/dma-buf.c")]
    public static void Unpin(DmaBufAttachment attach)
    {
        var dmabuf = LiveOf(attach);
        if (dmabuf is null)
        {
            return;
        }
        dmabuf.Warn.On(!attach.IsDynamic, "!dma_buf_attachment_is_dynamic(attach)");
        dmabuf.ResvAssertHeld();
        dmabuf.Ops.Unpin?.Invoke(attach);
    }

    private static DmaBuf? LiveOf(DmaBufAttachment attach) => attach.DmaBuf;

    /// <summary>
    /// <c>dma_buf_map_attachment</c>: the scatterlist of the buffer mapped for the attachment's device. A NULL
    /// attachment (or a freed one) is a WARN (recorded on <paramref name="warn"/> when there is no attachment to
    /// find the machine by) and <c>-EINVAL</c>. A cached mapping is returned again (<c>-EBUSY</c> for another
    /// direction unless it is bidirectional); a NULL table from the exporter is <c>-ENOMEM</c>.
    /// </summary>
    [Kernel("dma_buf_map_attachment", "drivers/dma-buf/dma-buf.c")]
    public static (SgTable? Sgt, int Err) MapAttachment(DmaBufAttachment? attach, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        dmabuf?._dbList.Kprobe("dma_buf_map_attachment", new KernelTraceField("dir", (long)direction));
        if (dmabuf is null)
        {
            warn?.On(true, "!attach || !attach->dmabuf");
            return (null, -(int)Errno.EINVAL);
        }
        var r = MapAttachmentRaw(attach!, dmabuf, direction);
        if (r.Sgt is { } t && dmabuf._dbList.Trace.Enabled)
        {
            ref var sg0 = ref t.At(t.Sgl);
            dmabuf._dbList.Kprobe("dma_buf_map_attachment:return", new KernelTraceField("nents", (long)t.Nents),
                new KernelTraceField("orig_nents", (long)t.OrigNents), new KernelTraceField("sg0_offset", (long)sg0.Offset),
                new KernelTraceField("sg0_length", (long)sg0.Length), new KernelTraceField("sg0_dma_length", (long)sg0.DmaLength));
        }
        return r;
    }

    private static (SgTable? Sgt, int Err) MapAttachmentRaw(DmaBufAttachment attach, DmaBuf dmabuf, DmaDataDirection direction)
    {
        if (attach.IsDynamic)
        {
            dmabuf.ResvAssertHeld();
        }
        if (attach.Sgt is not null)
        {
            // Two mappings with different directions for the same attachment are not allowed.
            if (attach.Dir != direction && attach.Dir != DmaDataDirection.DMA_BIDIRECTIONAL)
            {
                return (null, -(int)Errno.EBUSY);
            }
            return (attach.Sgt, 0);
        }
        if (dmabuf.IsDynamic)
        {
            dmabuf.ResvAssertHeld();
            if (!CONFIG_DMABUF_MOVE_NOTIFY)
            {
                int r = dmabuf.Ops.Pin!(attach);
                if (r != 0)
                {
                    return (null, r);
                }
            }
        }
        var (sgt, err) = dmabuf.MapDmaBufRaw(attach, direction);
        if (sgt is null && err == 0)
        {
            err = -(int)Errno.ENOMEM;
        }
        if (sgt is null && dmabuf.IsDynamic && !CONFIG_DMABUF_MOVE_NOTIFY)
        {
            dmabuf.Ops.Unpin!(attach);
        }
        if (sgt is not null)
        {
            if (dmabuf.Ops.CacheSgtMapping)
            {
                attach.Sgt = sgt;
                attach.Dir = direction;
            }
            else
            {
                attach.OutstandingMaps.Add(sgt);
            }
        }
        return (sgt, sgt is null ? err : 0);
    }

    /// <summary><c>dma_buf_map_attachment_unlocked</c>: <see cref="MapAttachment"/> under the reservation lock.</summary>
    [Kernel("dma_buf_map_attachment_unlocked", "drivers/dma-buf/dma-buf.c")]
    public static (SgTable? Sgt, int Err) MapAttachmentUnlocked(DmaBufAttachment? attach, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        if (dmabuf is null)
        {
            warn?.On(true, "!attach || !attach->dmabuf");
            return (null, -(int)Errno.EINVAL);
        }
        dmabuf.ResvLock();
        var r = MapAttachment(attach, direction, warn);
        dmabuf.ResvUnlock();
        return r;
    }

    /// <summary>
    /// <c>dma_buf_unmap_attachment</c>: unmaps a table of <see cref="MapAttachment"/>; the cached table stays
    /// until detach (nothing happens). A NULL argument is a WARN; so is (a model check, where the kernel would hand the
    /// exporter a table it never made) a table this attachment does not have mapped.
    /// </summary>
    [Kernel("dma_buf_unmap_attachment", "drivers/dma-buf/dma-buf.c")]
    public static void UnmapAttachment(DmaBufAttachment? attach, SgTable? sgt, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        dmabuf?._dbList.Kprobe("dma_buf_unmap_attachment", new KernelTraceField("dir", (long)direction));
        if (dmabuf is null || sgt is null)
        {
            (dmabuf?.Warn ?? warn)?.On(true, "!attach || !attach->dmabuf || !sg_table");
            return;
        }
        if (attach!.IsDynamic)
        {
            dmabuf.ResvAssertHeld();
        }
        if (ReferenceEquals(attach.Sgt, sgt))
        {
            return;
        }
        if (dmabuf.Warn.On(!attach.OutstandingMaps.Remove(sgt), "unmap of a table the attachment never mapped"))
        {
            return;
        }
        if (dmabuf.IsDynamic)
        {
            dmabuf.ResvAssertHeld();
        }
        dmabuf.UnmapDmaBufRaw(attach, sgt, direction);
        if (dmabuf.IsDynamic && !CONFIG_DMABUF_MOVE_NOTIFY)
        {
            Unpin(attach);
        }
    }

    /// <summary><c>dma_buf_unmap_attachment_unlocked</c>: <see cref="UnmapAttachment"/> under the reservation lock.</summary>
    [Kernel("dma_buf_unmap_attachment_unlocked", "drivers/dma-buf/dma-buf.c")]
    public static void UnmapAttachmentUnlocked(DmaBufAttachment? attach, SgTable? sgt, DmaDataDirection direction, Warnings? warn = null)
    {
        var dmabuf = attach?.DmaBuf;
        if (dmabuf is null || sgt is null)
        {
            (dmabuf?.Warn ?? warn)?.On(true, "!attach || !attach->dmabuf || !sg_table");
            return;
        }
        dmabuf.ResvLock();
        UnmapAttachment(attach, sgt, direction, warn);
        dmabuf.ResvUnlock();
    }

    /// <summary><c>dma_buf_move_notify</c>: every dynamic importer's <c>move_notify</c>, in list order.</summary>
    [Kernel("dma_buf_move_notify", "drivers/dma-buf/dma-buf.c")]
    public void MoveNotify()
    {
        ResvAssertHeld();
        foreach (var attach in _attachments.ToArray())
        {
            attach.ImporterOps?.MoveNotify!(attach);
        }
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
    /// <c>dma_buf_set_name</c>: replaces the name (the ioctl copies it with <c>strndup_user(buf, DMA_BUF_NAME_LEN)</c>,
    /// see <see cref="DmaBufFile"/>).
    /// </summary>
    [Kernel("dma_buf_set_name", "drivers/dma-buf/dma-buf.c")]
    public void SetName(string name) => Name = name;

    /// <inheritdoc/>
    public override string ToString() => $"dma-buf ino {File.Inode.Ino} ({ExpName}, {Size} bytes)";
}
