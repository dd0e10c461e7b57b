// Interim stand-in for the dma-buf core (drivers/dma-buf/dma-buf.c: dma_buf_export, dma_buf_fd, the dma-buf
// file's llseek/mmap/release) used by kvmfr until Sim.DmaBuf's DmaBuf model is merged; only what kvmfr's
// buffers need, with the core's checks in its order.
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.DmaBuf.Kvmfr;

/// <summary>A kvmfr dma-buf as the interim core sees it: size, exporter data and the owner's reference.</summary>
internal sealed class KvmfrDmaBufSeam : IFileOperations
{
    private static ulong s_nextIno = 1000;
    private readonly ModuleList _modules;
    private readonly LiveObjects _live;
    private readonly long _liveId;

    private KvmfrDmaBufSeam(KvmfrBuf kbuf, ulong size, ModuleList modules, LiveObjects live)
    {
        Kbuf = kbuf;
        Size = size;
        _modules = modules;
        _live = live;
        _liveId = live.Register("dma_buf", $"kvmfr {size} bytes");
    }

    public KvmfrBuf Kbuf { get; }

    public ulong Size { get; }

    public KernelFile File { get; private set; } = null!;

    /// <summary><c>dma_buf_export</c>: takes a reference on the owner module, makes the file (O_RDWR).</summary>
    [Kernel("dma_buf_export", "drivers/dma-buf/dma-buf.c")]
    public static (KvmfrDmaBufSeam? Buf, int Err) Export(KvmfrModule owner, KvmfrBuf kbuf, ulong size, ModuleList modules, LiveObjects live)
    {
        _ = owner;
        if (!modules.TryModuleGet("kvmfr"))
        {
            return (null, -(int)Errno.ENOENT);
        }
        var buf = new KvmfrDmaBufSeam(kbuf, size, modules, live);
        var inode = new Inode(Interlocked.Increment(ref s_nextIno), 0x180, size: (long)size);
        buf.File = new KernelFile(inode, buf, OpenFlags.O_RDWR, live, "dmabuf:");
        return (buf, 0);
    }

    /// <summary><c>dma_buf_fd(buf, flags)</c>: installs the file in the current process.</summary>
    [Kernel("dma_buf_fd", "drivers/dma-buf/dma-buf.c")]
    public static long Fd(KvmfrDmaBufSeam buf, bool cloexec, CurrentTask current, ProcessTable processes)
    {
        // current: the process in the syscall; callers that do not say (Process.Ioctl does not yet) mean the
        // most recent live process.
        var p = current.Process;
        for (int k = processes.Processes.Count - 1; p is null && k >= 0; k--)
        {
            if (!processes.Processes[k].Exited)
            {
                p = processes.Processes[k];
            }
        }
        if (p is null)
        {
            throw new InvalidOperationException("dma_buf_fd outside a simulated process");
        }
        return p.InstallFile(buf.File, cloexec);
    }

    public long Llseek(KernelFile file, long offset, int whence)
    {
        if (whence == 2 && offset == 0)
        {
            return (long)Size;
        }
        if (whence == 0 && offset == 0)
        {
            return 0;
        }
        return -(long)Errno.EINVAL;
    }

    [Kernel("dma_buf_mmap_internal", "drivers/dma-buf/dma-buf.c")]
    public int Mmap(KernelFile file, Vma vma)
    {
        if (unchecked(vma.PgOff + vma.Pages) < vma.PgOff || vma.PgOff + vma.Pages > Size >> 12)
        {
            return -(int)Errno.EINVAL;
        }
        return KvmfrModule.MmapKvmfrbuf(Kbuf, vma);
    }

    [Kernel("dma_buf_release", "drivers/dma-buf/dma-buf.c")]
    public void Release(Inode inode, KernelFile file)
    {
        // release_kvmfrbuf frees the pages array and kbuf; then module_put(dmabuf->owner).
        _modules.ModulePut("kvmfr");
        _live.Unregister(_liveId);
    }
}
