// Models dma_buf_fops of drivers/dma-buf/dma-buf.c (Linux 6.1): a dma-buf fd as user space sees it (release,
// mmap, llseek, poll, ioctl, show_fdinfo). read/write/fstat are the VFS defaults for a file without them.
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Sim.Core;
using Sim.Core.Dma;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;
using static Sim.DmaBufs.Uapi.DmaBufUapi;

namespace Sim.DmaBufs;

/// <summary>
/// <c>dma_buf_fops</c>. One shared instance (<see cref="Fops"/>): its identity is what <c>is_dma_buf_file</c>
/// checks; the buffer is the file's <c>private_data</c>. No <c>read</c>/<c>write</c> (the VFS returns
/// <c>-EINVAL</c>); unknown ioctls <c>-ENOTTY</c>.
/// </summary>
[Kernel("dma_buf_fops", "drivers/dma-buf/dma-buf.c")]
public sealed class DmaBufFile : IFileOperations
{
    /// <summary>The one <c>dma_buf_fops</c>.</summary>
    public static readonly DmaBufFile Fops = new();

    private DmaBufFile()
    {
    }

    /// <summary>SEEK_SET.</summary>
    public const int SEEK_SET = 0;

    /// <summary>SEEK_END.</summary>
    public const int SEEK_END = 2;

    /// <summary>
    /// <c>dma_buf_file_release</c> (takes the buffer off <c>db_list</c>), then the dentry's <c>dma_buf_release</c>.
    /// </summary>
    [Kernel("dma_buf_file_release", "drivers/dma-buf/dma-buf.c")]
    public void Release(Inode inode, KernelFile file)
    {
        if (!DmaBuf.IsDmaBufFile(file))
        {
            return;
        }
        if (file.PrivateData is DmaBuf dmabuf)
        {
            // The last fd or mapping closed in do_exit: a leak of the dma-buf for --check.
            using var lost = dmabuf.DbList.Live.LostAtExit(dmabuf.LiveId);
            dmabuf.DbList.Remove(dmabuf);
            dmabuf.ReleaseLast();
        }
    }

    /// <summary>
    /// <c>dma_buf_mmap_internal</c>: <c>-EINVAL</c> without an exporter <c>mmap</c> or when
    /// <c>vm_pgoff</c> + pages passes the end of the buffer; else the exporter's <c>mmap</c>.
    /// </summary>
    [Kernel("dma_buf_mmap_internal", "drivers/dma-buf/dma-buf.c")]
    public int Mmap(KernelFile file, Vma vma)
    {
        if (!DmaBuf.IsDmaBufFile(file))
        {
            return -(int)Errno.EINVAL;
        }
        var dmabuf = (DmaBuf)file.PrivateData!;
        dmabuf.DbList.Kprobe("dma_buf_mmap_internal");
        if (dmabuf.Ops.Mmap is null)
        {
            return -(int)Errno.EINVAL;
        }
        if (vma.PgOff + vma.Pages > dmabuf.Size >> 12)
        {
            return -(int)Errno.EINVAL;
        }
        return dmabuf.Ops.Mmap(dmabuf, vma);
    }

    /// <summary>
    /// <c>dma_buf_llseek</c>: only (0, SEEK_END) = the size and (0, SEEK_SET) = 0; any other whence or a non-zero
    /// offset is <c>-EINVAL</c>.
    /// </summary>
    [Kernel("dma_buf_llseek", "drivers/dma-buf/dma-buf.c")]
    public long Llseek(KernelFile file, long offset, int whence)
    {
        if (!DmaBuf.IsDmaBufFile(file))
        {
            return -(long)Errno.EBADF;
        }
        var dmabuf = (DmaBuf)file.PrivateData!;
        long b;
        if (whence == SEEK_END)
        {
            b = (long)dmabuf.Size;
        }
        else if (whence == SEEK_SET)
        {
            b = 0;
        }
        else
        {
            return -(long)Errno.EINVAL;
        }
        if (offset != 0)
        {
            return -(long)Errno.EINVAL;
        }
        return b + offset;
    }

    /// <inheritdoc/>
    public uint Poll(KernelFile file) => Poll(file, Poll_h.POLLIN | Poll_h.POLLOUT);

    /// <summary>
    /// <c>dma_buf_poll</c>: POLLIN once no unsignalled write (exclusive) fence is left, POLLOUT once no unsignalled
    /// fence at all; only the requested ones are checked (and get a wake-up callback).
    /// </summary>
    [Kernel("dma_buf_poll", "drivers/dma-buf/dma-buf.c")]
    public uint Poll(KernelFile file, uint requestedEvents)
    {
        if (file.PrivateData is not DmaBuf dmabuf)
        {
            return Poll_h.POLLERR;
        }
        uint events = requestedEvents & (Poll_h.POLLIN | Poll_h.POLLOUT);
        if (events == 0)
        {
            return 0;
        }
        return dmabuf.PollResv(events);
    }

    /// <inheritdoc/>
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg) =>
        throw new InvalidOperationException("dma_buf_ioctl needs the calling process (use the overload with current)");

    /// <summary>
    /// <c>dma_buf_ioctl</c>: <c>DMA_BUF_IOCTL_SYNC</c>, <c>DMA_BUF_SET_NAME_A/_B</c>,
    /// <c>DMA_BUF_IOCTL_EXPORT_SYNC_FILE</c>, <c>DMA_BUF_IOCTL_IMPORT_SYNC_FILE</c>; anything else <c>-ENOTTY</c>.
    /// </summary>
    [Kernel("dma_buf_ioctl", "drivers/dma-buf/dma-buf.c")]
    public long UnlockedIoctl(KernelFile file, uint cmd, UserArg arg, Process current)
    {
        var dmabuf = (DmaBuf)file.PrivateData!;
        switch (cmd)
        {
            case DMA_BUF_IOCTL_SYNC:
                return Sync(dmabuf, arg);
            case DMA_BUF_SET_NAME_A:
            case DMA_BUF_SET_NAME_B:
                return SetNameUser(dmabuf, arg);
            case DMA_BUF_IOCTL_EXPORT_SYNC_FILE:
                return dmabuf.ExportSyncFile(arg, current);
            case DMA_BUF_IOCTL_IMPORT_SYNC_FILE:
                return dmabuf.ImportSyncFile(arg, current);
            default:
                return -(long)Errno.ENOTTY;
        }
    }

    // DMA_BUF_IOCTL_SYNC: flags within DMA_BUF_SYNC_VALID_FLAGS_MASK, READ and/or WRITE set; END ends the access,
    // anything else (START) begins it.
    private static long Sync(DmaBuf dmabuf, UserArg arg)
    {
        Span<byte> b = stackalloc byte[8];
        if (arg.CopyFromUser(b) != 0)
        {
            return -(long)Errno.EFAULT;
        }
        ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(b);
        if ((flags & ~DMA_BUF_SYNC_VALID_FLAGS_MASK) != 0)
        {
            return -(long)Errno.EINVAL;
        }
        DmaDataDirection direction;
        switch (flags & DMA_BUF_SYNC_RW)
        {
            case DMA_BUF_SYNC_READ:
                direction = DmaDataDirection.DMA_FROM_DEVICE;
                break;
            case DMA_BUF_SYNC_WRITE:
                direction = DmaDataDirection.DMA_TO_DEVICE;
                break;
            case DMA_BUF_SYNC_RW:
                direction = DmaDataDirection.DMA_BIDIRECTIONAL;
                break;
            default:
                return -(long)Errno.EINVAL;
        }
        if ((flags & DMA_BUF_SYNC_END) == 0)
        {
            int ret = dmabuf.BeginCpuAccess(direction);
            if (ret == 0)
            {
                dmabuf.CpuAccessSyncs++;
            }
            return ret;
        }
        // Linux ends an access nobody began without a word; --check reports it.
        if (dmabuf.CpuAccessSyncs == 0)
        {
            dmabuf.DbList.Live.Check?.Misuse("DMA_BUF_IOCTL_SYNC END without a START on this dma-buf", "dma_buf_ioctl");
        }
        else
        {
            dmabuf.CpuAccessSyncs--;
        }
        return dmabuf.EndCpuAccess(direction);
    }

    // dma_buf_set_name: strndup_user(buf, DMA_BUF_NAME_LEN): a name of up to 31 bytes plus its NUL; no NUL within
    // 32 bytes is -EINVAL, an unreadable pointer -EFAULT; the old name stays on error.
    private static long SetNameUser(DmaBuf dmabuf, UserArg arg)
    {
        var (name, err) = StrndupUser(arg, DMA_BUF_NAME_LEN);
        if (name is null)
        {
            return err;
        }
        dmabuf.SetName(name);
        return 0;
    }

    /// <summary>
    /// <c>strndup_user(s, n)</c> (mm/util.c): <c>strnlen_user</c> counts up to <paramref name="n"/> bytes including the
    /// NUL; 0 (a fault before the NUL) is <c>-EFAULT</c>, more than <paramref name="n"/> (no NUL) is <c>-EINVAL</c>.
    /// </summary>
    [Kernel("strndup_user", "mm/util.c")]
    public static (string? Str, int Err) StrndupUser(UserArg arg, int n)
    {
        ArgumentNullException.ThrowIfNull(arg);
        var buf = arg.Buffer;
        if (buf is not null && buf.Length < n && arg.Memory is not null)
        {
            // the string goes on past the ioctl's struct size (dmabufsim run: the process's memory): read on
            var more = new byte[n];
            buf.CopyTo(more, 0);
            int got = buf.Length;
            while (got < n && arg.CopyFromUserAt(arg.Value + (ulong)got, more.AsSpan(got, 1)) == 0)
            {
                got++;
            }
            buf = more[..got];
        }
        int length = 0;
        if (buf is not null)
        {
            length = n + 1;
            for (int i = 0; i < n; i++)
            {
                if (i >= buf.Length)
                {
                    length = 0;
                    break;
                }
                if (buf[i] == 0)
                {
                    length = i + 1;
                    break;
                }
            }
        }
        if (length == 0)
        {
            return (null, -(int)Errno.EFAULT);
        }
        if (length > n)
        {
            return (null, -(int)Errno.EINVAL);
        }
        return (Encoding.Latin1.GetString(buf!, 0, length - 1), 0);
    }

    /// <summary>
    /// <c>dma_buf_show_fdinfo</c>: <c>size</c>, <c>count</c> (the file's references; the kernel subtracts the one
    /// procfs holds while printing, which the model's fdinfo does not take), <c>exp_name</c>, and <c>name</c> once set.
    /// </summary>
    [Kernel("dma_buf_show_fdinfo", "drivers/dma-buf/dma-buf.c")]
    public void ShowFdinfo(KernelFile file, StringBuilder m)
    {
        var dmabuf = (DmaBuf)file.PrivateData!;
        m.Append(CultureInfo.InvariantCulture, $"size:\t{dmabuf.Size}\n");
        m.Append(CultureInfo.InvariantCulture, $"count:\t{file.Count}\n");
        m.Append(CultureInfo.InvariantCulture, $"exp_name:\t{dmabuf.ExpName}\n");
        if (dmabuf.Name is not null)
        {
            m.Append(CultureInfo.InvariantCulture, $"name:\t{dmabuf.Name}\n");
        }
    }
}
