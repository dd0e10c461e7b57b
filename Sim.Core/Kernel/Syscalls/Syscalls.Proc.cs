// Models reads of the simulated /proc, /sys and debugfs files: fs/proc/fd.c (seq_show of /proc/self/fdinfo/N) and
// fs/seq_file.c (seq_read of a single_open file: open, read to the end, close), over the files the models register
// as SeqFile services (/proc/devices, /proc/modules, /sys/kernel/debug/dma_buf/bufinfo, ...).
using System.Globalization;
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

/// <summary>A seq_file the machine serves at <paramref name="Path"/>: <paramref name="Show"/> prints its whole text.</summary>
[Kernel("struct seq_file", "include/linux/seq_file.h")]
public sealed record SeqFile(string Path, Func<string> Show)
{
    /// <summary>Whether the file is there (a file of code the machine's options leave out is not); null: always.</summary>
    public Func<bool>? Exists { get; init; }
}

public sealed partial class Syscalls
{
    /// <summary>
    /// The text of <c>/proc/self/fdinfo/fd</c> (fs/proc/fd.c <c>seq_show</c>): pos, flags (octal, with O_CLOEXEC
    /// from the fd table), mnt_id, ino, then the file's <c>show_fdinfo</c>. Null for a bad fd (-ENOENT).
    /// <paramref name="mntId"/> is the mount of files not opened by path (dma-buf's pseudo mount, 11 in the traces);
    /// a device node opened under /dev is on devtmpfs, mount 23 in the real guest (data/proc/linux-6.1-qemu-pc-fdinfo-drm.txt).
    /// </summary>
    [Kernel("seq_show", "fs/proc/fd.c")]
    public string? Fdinfo(Process caller, int fd, int mntId = 11)
    {
        using var syscall = Enter(caller);
        var f = caller.Files.Lookup(fd);
        if (f is null)
        {
            return null;
        }
        uint flags = f.Flags | (caller.Files.GetCloexec(fd) ? OpenFlags.O_CLOEXEC : 0);
        if (f.Inode.IsChr && f.Name.StartsWith("/dev/", StringComparison.Ordinal))
        {
            mntId = DevtmpfsMntId;
        }
        var m = new StringBuilder();
        m.Append(CultureInfo.InvariantCulture, $"pos:\t{f.Pos}\nflags:\t0{Convert.ToString(flags, 8)}\nmnt_id:\t{mntId}\nino:\t{f.Inode.Ino}\n");
        f.Ops.ShowFdinfo(f, m);
        return m.ToString();
    }

    /// <summary>The mount id of /dev (devtmpfs) in the real guest's /proc/self/mountinfo.</summary>
    public const int DevtmpfsMntId = 23;

    /// <summary>
    /// <c>cat path</c> of a seq_file (<c>seq_read</c> to the end): (0, the text) or (<c>-ENOENT</c>, null) when the
    /// machine serves no such file.
    /// </summary>
    [Kernel("seq_read", "fs/seq_file.c")]
    public (int Ret, string? Text) ReadSeqFile(Process caller, string path)
    {
        if (!_seqFiles.TryGetValue(path, out var file) || file.Exists?.Invoke() == false)
        {
            return (-(int)Errno.ENOENT, null);
        }
        using var syscall = Enter(caller);
        return (0, file.Show());
    }

    /// <summary>The paths of the seq_files the machine serves.</summary>
    public IEnumerable<string> SeqFilePaths => _seqFiles.Values.Where(f => f.Exists?.Invoke() != false).Select(f => f.Path);
}
