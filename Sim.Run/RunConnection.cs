// One connection of the preload library (one thread of a real process): reads requests, validates them, runs
// them on the simulated kernel through its syscall layer, and answers. A malformed message ends this session
// with a message on stderr; the machine and the other processes go on.
using System.Buffers.Binary;
using Stopwatch = System.Diagnostics.Stopwatch;
using System.Net.Sockets;
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Uapi;

namespace Sim.Run;

/// <summary>The serving side of one connection; also the fd-number source of its process while it serves.</summary>
internal sealed partial class RunConnection(RunHost host, Socket socket) : IFdNumberSource
{
    private const int FdActionClose = 0;
    private const int FdActionKeep = 1;
    private const int FdActionKeepCloexec = 2;

    // Paths whose namespace the simulated machine owns: what it does not have there does not exist.
    private static readonly string[] s_owned = ["/dev/dri/", "/dev/kvmfr", "/dev/dma_heap/", "/dev/udmabuf", "/sys/kernel/debug/sync/", "/sys/kernel/debug/dma_buf/"];

    private readonly byte[] _header = new byte[RunRequest.HeaderSize];
    private readonly long[] _args = new long[6];
    private RunChannel? _chan;
    private readonly List<Reserved> _reserved = [];
    private int _dupFrom = -1;
    private long _site;
    private string _peer = "?";

    public HostProcess? Owner { get; private set; }

    public void Loop()
    {
        int pid = PeerPid();
        _peer = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // The socket's one message: the shared area of this connection; everything else goes through it.
        if (!ReadExactly(_header))
        {
            return;
        }
        if (!RunRequest.TryParse(_header, out var attach, out string error) || attach.Op != RunOp.Attach || attach.Length != 0)
        {
            End(error.Length > 0 ? error : $"{attach.Op} before the channel");
            return;
        }
        _chan = RunChannel.Open(socket, pid, attach.A0, attach.A1, out error);
        if (_chan is null)
        {
            End(error);
            return;
        }
        try
        {
            Serve(pid);
        }
        catch (ProtocolException e)
        {
            End(e.Message);
        }
        catch (SocketException)
        {
            // the program's side went away in the middle of a callback
        }
        finally
        {
            _chan.Dispose();
        }
    }

    private void Serve(int pid)
    {
        var chan = _chan!;
        while (true)
        {
            if (!chan.Receive(out var packet))
            {
                return;
            }
            if (!RunPacket.TryDecode(packet, out var req, out var origin, out var body, out string error) || req.Op is RunOp.CbReply or RunOp.Attach)
            {
                End(error.Length == 0 ? $"{req.Op} outside its place" : error);
                return;
            }
            if (!origin.IsEmpty && host.Check is { } check)
            {
                // The backtrace of the call (--check).
                var addresses = new ulong[origin.Length / 8];
                for (int k = 0; k < addresses.Length; k++)
                {
                    addresses[k] = BinaryPrimitives.ReadUInt64LittleEndian(origin[(8 * k)..]);
                }
                lock (host.Gate)
                {
                    _site = check.Intern(pid, addresses);
                }
            }
            var payload = body.IsEmpty ? [] : body.ToArray();
            lock (host.Gate)
            {
                if (Owner is null && req.Op != RunOp.Hello)
                {
                    End($"{req.Op} before hello");
                    return;
                }
                bool more = Dispatch(pid, req, payload);
                // Whatever this call changed may be what a sleeping poll waits for.
                Monitor.PulseAll(host.Gate);
                if (!more)
                {
                    return;
                }
            }
        }
    }

    private bool Dispatch(int pid, RunRequest req, byte[] payload)
    {
        var sys = host.Sys;
        var p = Owner?.Process;
        long ret;
        long[] args = _args;
        Array.Clear(args);
        byte[]? data = null;
        _reserved.Clear();
        _dupFrom = -1;
        long site = _site;
        _site = 0;
        if (p is not null)
        {
            p.Files.External = this;
            p.CallSite = site;
        }
        try
        {
            switch (req.Op)
            {
                case RunOp.Hello:
                {
                    if (Owner is not null)
                    {
                        throw new ProtocolException("a second hello");
                    }
                    Owner = host.Bind(pid, req.A0, req.A1, Text(payload), out string error);
                    if (Owner is null)
                    {
                        End(error);
                        return false;
                    }
                    var fds = Owner.Process.Files.OpenFds().ToArray();
                    data = new byte[fds.Length * 4];
                    for (int k = 0; k < fds.Length; k++)
                    {
                        BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(4 * k), fds[k]);
                    }
                    ret = 0;
                    break;
                }
                case RunOp.Open:
                {
                    string path = Path(payload);
                    if (ProcFdinfo(path) is { } fdinfo)
                    {
                        // /proc/PID/fdinfo/N of a simulated file: fs/proc/fd.c's seq_show by the simulated kernel.
                        var text = sys.Fdinfo(fdinfo.Process, fdinfo.Fd);
                        ret = text is null ? -(long)Errno.ENOENT : RunRequest.RetContent;
                        data = text is null ? null : Encoding.UTF8.GetBytes(text);
                    }
                    else if (sys.SeqFilePaths.Contains(path))
                    {
                        var (r, text) = sys.ReadSeqFile(p!, path);
                        ret = r < 0 ? r : RunRequest.RetContent;
                        data = text is null ? null : Encoding.UTF8.GetBytes(text);
                    }
                    else if (Sysfs.Covers(path) && host.Vfs.Lookup(path) is null)
                    {
                        // A sysfs attribute: its text as the simulated kernel shows it, in a real file of the program
                        // (stdio reads and closes it with libc's internal calls, which no preload sees).
                        if (SysfsServes(p!, path))
                        {
                            var (r, bytes) = sys.ReadSysfs(p!, path);
                            ret = r < 0 ? r : RunRequest.RetContent;
                            data = bytes;
                        }
                        else
                        {
                            ret = RunRequest.RetPass;
                            if (path.StartsWith("/sys/kernel/debug/", StringComparison.Ordinal))
                            {
                                host.Unmodelled(path);
                            }
                        }
                    }
                    else if (host.Vfs.Lookup(path) is null)
                    {
                        ret = Owned(path) ? -(long)Errno.ENOENT : RunRequest.RetPass;
                        if (ret == RunRequest.RetPass && path.StartsWith("/sys/kernel/debug/", StringComparison.Ordinal))
                        {
                            host.Unmodelled(path);
                        }
                    }
                    else
                    {
                        ret = sys.Openat(p!, path, (uint)req.A0);
                    }
                    break;
                }
                case RunOp.Close:
                    ret = sys.Close(p!, Fd(req.A0));
                    break;
                case RunOp.Ioctl:
                    ret = Ioctl(p!, Fd(req.A0), (uint)req.A1, (ulong)req.A2);
                    break;
                case RunOp.Mmap:
                    ret = Mmap(p!, req, out data);
                    break;
                case RunOp.Munmap:
                    ret = sys.Munmap(p!, (ulong)req.A0, (ulong)req.A1);
                    break;
                case RunOp.Mremap:
                    ret = sys.Mremap(p!, (ulong)req.A0, (ulong)req.A1, (ulong)req.A2, (uint)req.A3);
                    break;
                case RunOp.Dup:
                {
                    int oldfd = Fd(req.A0);
                    bool cloexec = req.A3 != 0;
                    if (req.A1 < 0)
                    {
                        _dupFrom = oldfd;
                        ret = req.A2 == 0 && !cloexec
                            ? sys.Dup(p!, oldfd)
                            : sys.Fcntl(p!, oldfd, cloexec ? Process.F_DUPFD_CLOEXEC : Process.F_DUPFD, req.A2);
                    }
                    else
                    {
                        ret = sys.Dup3(p!, oldfd, Fd(req.A1), cloexec ? OpenFlags.O_CLOEXEC : 0);
                    }
                    break;
                }
                case RunOp.Fcntl:
                    ret = sys.Fcntl(p!, Fd(req.A0), (int)req.A1, req.A2);
                    break;
                case RunOp.Lseek:
                    ret = sys.Lseek(p!, Fd(req.A0), req.A1, (int)req.A2);
                    break;
                case RunOp.Read:
                {
                    if (req.A1 < 0 || req.A1 > RunRequest.MaxPayload)
                    {
                        throw new ProtocolException($"read of {req.A1} bytes");
                    }
                    var buf = new byte[req.A1];
                    ret = sys.Read(p!, Fd(req.A0), buf);
                    data = ret > 0 ? buf.AsSpan(0, (int)ret).ToArray() : null;
                    break;
                }
                case RunOp.Write:
                    ret = sys.Write(p!, Fd(req.A0), payload);
                    break;
                case RunOp.Ftruncate:
                    ret = sys.Ftruncate(p!, Fd(req.A0), req.A1);
                    break;
                case RunOp.Fstat:
                {
                    var (r, st) = sys.Fstat(p!, Fd(req.A0));
                    ret = r;
                    StatArgs(args, st);
                    break;
                }
                case RunOp.Stat:
                {
                    string path = Path(payload);
                    bool served = Sysfs.Covers(path) ? SysfsServes(p!, path) : host.Vfs.Lookup(path) is not null || Owned(path);
                    if (!served)
                    {
                        ret = RunRequest.RetPass;
                        break;
                    }
                    // a0: AT_SYMLINK_NOFOLLOW (lstat)
                    var (r, st) = (req.A0 & 0x100) != 0 ? sys.Lstat(p!, path) : sys.Stat(p!, path);
                    ret = r;
                    StatArgs(args, st);
                    break;
                }
                case RunOp.Mknod:
                {
                    string path = Path(payload);
                    ret = Owned(path) ? sys.Mknodat(p!, path, (uint)req.A0, (uint)req.A1, (uint)req.A2) : RunRequest.RetPass;
                    break;
                }
                case RunOp.Unlink:
                {
                    string path = Path(payload);
                    ret = host.Vfs.Lookup(path) is null && !Owned(path) ? RunRequest.RetPass : host.Vfs.Unlink(path);
                    break;
                }
                case RunOp.Listdir:
                {
                    // opendir of a directory the machine owns (/dev/dri, /dev/dma_heap): "name\0type\0ino\n" lines.
                    string path = Path(payload).TrimEnd('/');
                    if (Sysfs.Covers(path))
                    {
                        ret = SysfsServes(p!, path) ? SysfsList(p!, path, out data) : RunRequest.RetPass;
                        break;
                    }
                    var entries = host.Vfs.ListDirectory(path);
                    if (!Owned(path + "/"))
                    {
                        ret = RunRequest.RetPass;
                        break;
                    }
                    if (entries is null)
                    {
                        ret = -(long)Errno.ENOENT;
                        break;
                    }
                    var sb = new StringBuilder();
                    foreach (var (name, inode) in entries)
                    {
                        // d_type: DT_CHR 2, DT_REG 8
                        int type = (inode.Mode & Inode.S_IFMT) == Inode.S_IFCHR ? 2 : 8;
                        sb.Append(name).Append('\0').Append(type).Append('\0').Append(inode.Ino).Append('\n');
                    }
                    data = Encoding.UTF8.GetBytes(sb.ToString());
                    ret = entries.Count;
                    break;
                }
                case RunOp.Readlink:
                {
                    string path = Path(payload);
                    if (!Sysfs.Covers(path) || !SysfsServes(p!, path))
                    {
                        ret = RunRequest.RetPass;
                        break;
                    }
                    var (r, target) = sys.Readlink(p!, path);
                    ret = r < 0 ? r : Encoding.UTF8.GetByteCount(target!);
                    data = target is null ? null : Encoding.UTF8.GetBytes(target);
                    break;
                }
                case RunOp.Realpath:
                {
                    string path = Path(payload);
                    if (!Sysfs.Covers(path) || !SysfsServes(p!, path))
                    {
                        ret = RunRequest.RetPass;
                        break;
                    }
                    var (r, canonical) = sys.Realpath(p!, path);
                    ret = r < 0 ? r : 0;
                    data = canonical is null ? null : Encoding.UTF8.GetBytes(canonical);
                    break;
                }
                case RunOp.Memfd:
                {
                    // Simulated memfds only on machines whose drivers take them (udmabuf); elsewhere the real one.
                    var o = host.Machine.GetService(typeof(Sim.Core.Boot.MachineOptions)) as Sim.Core.Boot.MachineOptions;
                    ret = o?.Udmabuf == true ? sys.MemfdCreate(p!, Text(payload), (uint)req.A0) : RunRequest.RetPass;
                    if (ret == -(long)Errno.ENOSYS)
                    {
                        ret = RunRequest.RetPass;
                    }
                    break;
                }
                case RunOp.Poll:
                    ret = Poll(p!, payload, req.A0, out data);
                    break;
                case RunOp.Fork:
                    ret = host.Fork(Owner!);
                    break;
                case RunOp.ForkAbort:
                    host.ForkAbort(req.A0);
                    ret = 0;
                    break;
                case RunOp.Exec:
                    Owner!.ExecPending = true;
                    ret = 0;
                    break;
                case RunOp.ExecFailed:
                    Owner!.ExecPending = false;
                    ret = 0;
                    break;
                case RunOp.Exit:
                    host.ExitNow(Owner!);
                    ret = 0;
                    break;
                case RunOp.Send:
                {
                    var f = p!.Files.Lookup(Fd(req.A0));
                    if (f is not null)
                    {
                        host.Send(f);
                    }
                    ret = 0;
                    break;
                }
                case RunOp.Adopt:
                    ret = host.Adopt(Owner!, Fd(req.A0), (ulong)req.A1) == 0 ? 0 : RunRequest.RetPass;
                    break;
                default:
                    throw new ProtocolException($"unexpected {req.Op}");
            }
        }
        finally
        {
            if (p is not null)
            {
                p.Files.External = null;
                p.CallSite = 0;
            }
        }
        if (Owner is not null && ret != RunRequest.RetPass && ret != RunRequest.RetContent)
        {
            host.Check?.AfterCall(Owner, req, payload, ret, site);
        }
        if (ret == -(long)Errno.ENOSYS)
        {
            host.Unmodelled(req.Op.ToString().ToLowerInvariant());
        }
        Final(p, ret, args, data);
        return true;
    }

    private static void StatArgs(long[] args, StatResult st)
    {
        args[0] = (long)st.Ino;
        args[1] = st.Mode;
        args[2] = st.RdevMajor;
        args[3] = st.RdevMinor;
        args[5] = st.Size;
    }

    private static bool Owned(string path) => s_owned.Any(o => path.StartsWith(o, StringComparison.Ordinal));

    private long Ioctl(Process p, int fd, uint cmd, ulong arg)
    {
        uint dir = cmd >> 30;
        int size = (int)((cmd >> 16) & 0x3fff);
        var mem = Owner!.Memory;
        UserArg user;
        byte[]? before = null;
        if (dir != 0 && size > 0)
        {
            var buf = new byte[size];
            if (mem.Read(arg, buf) == 0)
            {
                before = (byte[])buf.Clone();
                user = new UserArg(arg, buf) { Memory = mem };
            }
            else
            {
                user = new UserArg(arg) { Memory = mem };
            }
        }
        else
        {
            user = new UserArg(arg) { Memory = mem };
        }
        long ret = host.Sys.Ioctl(p, fd, cmd, user);
        if (before is not null && (dir & 2) != 0 && !before.AsSpan().SequenceEqual(user.Buffer))
        {
            mem.Write(arg, user.Buffer);
        }
        if (ret == -(long)Errno.ENOTTY && p.Files.Lookup(fd) is { } f)
        {
            host.Unmodelled($"ioctl 0x{cmd:x8} on {f.Name}");
        }
        return ret;
    }

    private long Mmap(Process p, RunRequest req, out byte[]? runs)
    {
        runs = null;
        ulong addr = (ulong)req.A0;
        long ret = host.Sys.MmapAt(p, addr, (ulong)req.A1, (uint)req.A2, (uint)req.A3 | Mman.MAP_FIXED, Fd(req.A4), (ulong)req.A5);
        if (ret < 0)
        {
            return ret;
        }
        var vma = p.Mm.Find(addr)!;
        // Every page faulted now (the preload maps the frames at once): runs of (page, count, pfn or -errno).
        var list = new List<(long Page, long Count, long Pfn)>();
        for (ulong k = 0; k < vma.Pages; k++)
        {
            long pfn = vma.Ops is null ? -(long)Errno.EFAULT : vma.Ops.Fault(vma, vma.PgOff + k);
            if (pfn >= 0 && (ulong)pfn >= host.EndPfn)
            {
                pfn = -(long)Errno.EFAULT;
            }
            if (list.Count > 0)
            {
                var last = list[^1];
                bool extends = last.Page + last.Count == (long)k &&
                    (pfn < 0 ? last.Pfn < 0 : last.Pfn >= 0 && last.Pfn + last.Count == pfn);
                if (extends)
                {
                    list[^1] = (last.Page, last.Count + 1, last.Pfn);
                    continue;
                }
            }
            list.Add(((long)k, 1, pfn));
        }
        runs = new byte[list.Count * 24];
        for (int k = 0; k < list.Count; k++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(runs.AsSpan(24 * k), list[k].Page);
            BinaryPrimitives.WriteInt64LittleEndian(runs.AsSpan(24 * k + 8), list[k].Count);
            BinaryPrimitives.WriteInt64LittleEndian(runs.AsSpan(24 * k + 16), list[k].Pfn);
        }
        return ret;
    }

    // ---- IFdNumberSource: numbers come from the real process, through a callback to the preload ----

    public int Peek(int start)
    {
        foreach (var r in _reserved)
        {
            if (!r.Used && r.Fd >= start)
            {
                return r.Fd;
            }
        }
        return Reserve(start, false);
    }

    public int Take(int start, bool cloexec)
    {
        for (int k = 0; k < _reserved.Count; k++)
        {
            var r = _reserved[k];
            if (!r.Used && r.Fd >= start)
            {
                _reserved[k] = r with { Used = true, Cloexec = cloexec };
                return r.Fd;
            }
        }
        int fd = Reserve(start, cloexec);
        if (fd >= 0)
        {
            int k = _reserved.FindIndex(r => r.Fd == fd);
            _reserved[k] = _reserved[k] with { Used = true, Cloexec = cloexec };
        }
        return fd;
    }

    private int Reserve(int start, bool cloexec)
    {
        var chan = _chan!;
        RunReply.Write(chan.Reply, RunReply.NewFd, 0, 0, [start, cloexec ? 1 : 0, _dupFrom]);
        chan.Post(RunRequest.HeaderSize);
        if (!chan.Receive(out var packet))
        {
            throw new SocketException((int)SocketError.ConnectionReset);
        }
        if (!RunPacket.TryDecode(packet, out var rep, out var origin, out _, out string error) || rep.Op != RunOp.CbReply || rep.Length != 0 || !origin.IsEmpty)
        {
            throw new ProtocolException(error.Length > 0 ? error : $"{rep.Op} where a callback reply was due");
        }
        int fd = (int)rep.A0;
        if (rep.A0 < 0)
        {
            return rep.A0 < -4095 ? -(int)Errno.EMFILE : (int)rep.A0;
        }
        if (rep.A0 > int.MaxValue || fd < start || _reserved.Any(r => r.Fd == fd) || Owner!.Process.Files.Lookup(fd) is not null)
        {
            throw new ProtocolException($"placeholder fd {rep.A0} for a request from {start}");
        }
        _reserved.Add(new Reserved(fd, (ulong)rep.A1, false, cloexec));
        return fd;
    }

    private void Final(Process? p, long ret, long[] args, byte[]? data)
    {
        var msg = _chan!.Reply;
        int dataLen = data?.Length ?? 0;
        if (RunRequest.HeaderSize + _reserved.Count * 8 + dataLen > msg.Length)
        {
            throw new ProtocolException($"a reply of {dataLen} bytes");
        }
        int at = RunRequest.HeaderSize;
        foreach (var r in _reserved)
        {
            var f = p?.Files.Lookup(r.Fd);
            int action = FdActionClose;
            if (r.Used && f is not null)
            {
                host.Remember(r.Ino, f);
                action = p!.Files.GetCloexec(r.Fd) ? FdActionKeepCloexec : FdActionKeep;
            }
            BinaryPrimitives.WriteInt32LittleEndian(msg[at..], r.Fd);
            BinaryPrimitives.WriteInt32LittleEndian(msg[(at + 4)..], action);
            at += 8;
        }
        args[4] = _reserved.Count;
        RunReply.Write(msg, RunReply.Final, (uint)(_reserved.Count * 8 + dataLen), ret, args);
        _reserved.Clear();
        data?.CopyTo(msg[at..]);
        _chan.Post(at + dataLen);
    }

    private static int Fd(long v) => v is >= int.MinValue and <= int.MaxValue ? (int)v : -1;

    private static string Text(byte[] payload)
    {
        if (Array.IndexOf(payload, (byte)0) >= 0)
        {
            throw new ProtocolException("a NUL inside a string");
        }
        return Encoding.UTF8.GetString(payload);
    }

    private static string Path(byte[] payload)
    {
        var s = Text(payload);
        if (s.Length == 0 || s.Length > 4096)
        {
            throw new ProtocolException($"a path of {s.Length} characters");
        }
        return s;
    }

    private void End(string why)
    {
        lock (host.Gate)
        {
            host.Stderr.WriteLine($"dmabufsim run: pid {_peer}: malformed message ({why}): session ended");
        }
    }

    private bool ReadExactly(Span<byte> buf)
    {
        int got = 0;
        while (got < buf.Length)
        {
            int n;
            try
            {
                n = socket.Receive(buf[got..]);
            }
            catch (SocketException)
            {
                return false;
            }
            if (n == 0)
            {
                return false;
            }
            got += n;
        }
        return true;
    }

    private int PeerPid()
    {
        // SO_PEERCRED: struct ucred { pid_t pid; uid_t uid; gid_t gid; }, filled in by the kernel at connect.
        Span<byte> cred = stackalloc byte[12];
        int n = socket.GetRawSocketOption(1, 17, cred);
        return n >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(cred) : -1;
    }

    private readonly record struct Reserved(int Fd, ulong Ino, bool Used, bool Cloexec);
}

/// <summary>A message that breaks the protocol: the session of its connection ends.</summary>
internal sealed class ProtocolException(string message) : Exception(message);
