// The process tree of a version 2 trace (docs/trace-format.md, "Version 2"): fork, execve and exit events make, renew
// and end the traced program's processes, socketpair makes the sockets whose fd numbers the program's later fds
// follow, and sendmsg/recvmsg with SCM_RIGHTS carry files from one process to another.
using System.Text.Json;
using Sim.Core.Fs;
using Sim.Core.Kernel;

namespace Sim.Core.Replay;

/// <summary>
/// The files in flight between a <c>sendmsg</c> with SCM_RIGHTS and the <c>recvmsg</c> that receives them, each with
/// the inode number the trace gave it (the receive names the same number) and its in-flight reference.
/// </summary>
public sealed class ScmInFlight
{
    /// <summary>In send order.</summary>
    public List<(ulong TracedIno, KernelFile File)> Files { get; } = [];
}

/// <summary>Replays <c>fork</c>, <c>execve</c>, <c>exit</c>, <c>socketpair</c>, <c>sendmsg</c> and <c>recvmsg</c>.</summary>
public sealed class ProcessTreeReplayOps : IReplayOpProvider
{
    /// <summary><c>MSG_CMSG_CLOEXEC</c> (include/linux/socket.h): received fds get close-on-exec.</summary>
    public const uint MSG_CMSG_CLOEXEC = 0x40000000;

    /// <summary><c>SOCK_CLOEXEC</c> (include/linux/net.h, = O_CLOEXEC), or'd into socketpair's type.</summary>
    public const uint SOCK_CLOEXEC = 0x80000;

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.Add("fork", Fork)
            .Add("execve", Execve)
            .Add("exit", Exit)
            .Add("socketpair", Socketpair)
            .Add("sendmsg", Sendmsg)
            .Add("recvmsg", Recvmsg);
    }

    // fork(): the model's child (dup_fd, dup_mmap) stands for the traced child pid from now on. Pids are not compared
    // (they are the machine's); success must match.
    private static void Fork(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var parent = ctx.RunsProcess();
        long traced = ev.Ret;
        if (traced < 0)
        {
            check.Skip("a failed fork (the model does not fail fork)");
            return;
        }
        long child = ctx.Syscalls.Fork(parent);
        if (child <= 0)
        {
            check.Fail("result.ret", "a child pid", child.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return;
        }
        if (traced > int.MaxValue || traced == 0)
        {
            throw new TraceFormatException(ev.File, ev.Line, $"not a pid: {traced}", "result.ret");
        }
        ctx.BindTracedPid((int)traced, ctx.ProcessTable.Find((int)child)!);
    }

    // A successful execve (logged by the new program): the old mappings go and the close-on-exec fds are closed.
    private static void Execve(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = ctx.RunsProcess();
        if (ev.Ret < 0)
        {
            return; // a failed execve changes nothing
        }
        ctx.Syscalls.BeginNewExec(p);
        check.Ret(0);
    }

    // The process's exit (do_exit: mappings, then every fd).
    private static void Exit(ReplaySession ctx, TraceEvent ev, ReplayCheck check) => ctx.Syscalls.Exit(ctx.RunsProcess());

    // socketpair(): two sockets at the lowest free fds. Their traffic is not modelled; their fd numbers are.
    private static void Socketpair(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = ctx.RunsProcess();
        if (ev.Ret < 0)
        {
            check.Skip("a failed socketpair (sockets are not modelled)");
            return;
        }
        var fds = IntList(ev, ev.Result, "result.", "fds");
        if (fds.Count != 2)
        {
            throw new TraceFormatException(ev.File, ev.Line, "expected two fds", "result.fds");
        }
        bool cloexec = (ev.ArgU64("type", 0) & SOCK_CLOEXEC) != 0;
        var vfs = ctx.Vfs;
        for (int k = 0; k < 2; k++)
        {
            var inode = new Inode(vfs.NextIno(), Inode.S_IFSOCK | 0x1ff);
            var file = new KernelFile(inode, NullFileOperations.Instance, OpenFlags.O_RDWR, ctx.Live, $"socket:[{inode.Ino}]");
            int fd = p.InstallFile(file, cloexec);
            check.Equal($"result.fds[{k}]", fds[k], fd);
        }
        check.Ret(0);
    }

    // sendmsg with SCM_RIGHTS: the files go in flight with one reference each (scm_fp_copy's fget_raw).
    private static void Sendmsg(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = ctx.RunsProcess();
        var rights = Rights(ev, ev.Args, "args.");
        if (ev.Ret < 0)
        {
            return; // nothing went in flight
        }
        var (err, files) = ctx.Syscalls.FgetRaw(p, [.. rights.Select(r => r.Fd)]);
        if (err < 0)
        {
            check.Fail("args.scm_rights", "open fds", $"{err} (a passed fd is not open in the model)");
            return;
        }
        var inFlight = ctx.State<ScmInFlight>();
        for (int k = 0; k < files.Length; k++)
        {
            if (!ctx.Traced.InoMatches(rights[k].Ino, files[k].Inode.Ino))
            {
                check.Fail($"args.scm_rights[{k}].ino", "the equality pattern of inode numbers", files[k].Inode.Ino.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            inFlight.Files.Add((rights[k].Ino, files[k]));
        }
    }

    // recvmsg with SCM_RIGHTS: each file in flight with the named inode is installed at the lowest free fd
    // (__receive_fd), then its in-flight reference goes (__scm_destroy).
    private static void Recvmsg(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = ctx.RunsProcess();
        if (ev.Ret < 0)
        {
            return;
        }
        var rights = Rights(ev, ev.Result, "result.");
        bool cloexec = (ev.ArgU64("flags", 0) & MSG_CMSG_CLOEXEC) != 0;
        var inFlight = ctx.State<ScmInFlight>();
        var taken = new List<KernelFile>();
        for (int k = 0; k < rights.Count; k++)
        {
            int at = inFlight.Files.FindIndex(f => f.TracedIno == rights[k].Ino);
            if (at < 0)
            {
                check.Fail($"result.scm_rights[{k}]", $"a file with ino {rights[k].Ino} in flight (an earlier sendmsg)", "none");
                continue;
            }
            var file = inFlight.Files[at].File;
            inFlight.Files.RemoveAt(at);
            check.Equal($"result.scm_rights[{k}].fd", rights[k].Fd, ctx.Syscalls.ReceiveFd(p, file, cloexec));
            taken.Add(file);
        }
        foreach (var f in taken)
        {
            f.Put();
        }
    }

    private static List<(int Fd, ulong Ino)> Rights(TraceEvent ev, JsonElement obj, string prefix)
    {
        var list = new List<(int Fd, ulong Ino)>();
        if (!obj.TryGetProperty("scm_rights", out var arr) || arr.ValueKind != JsonValueKind.Array)
        {
            throw new TraceFormatException(ev.File, ev.Line, "missing or not an array", prefix + "scm_rights");
        }
        int k = 0;
        foreach (var e in arr.EnumerateArray())
        {
            string at = $"{prefix}scm_rights[{k++}]";
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("fd", out var fd) || !TraceNumber.TryGetI64(fd, out long fdv)
                || fdv < 0 || fdv > int.MaxValue)
            {
                throw new TraceFormatException(ev.File, ev.Line, "expected {\"fd\": N, \"ino\": N} with a non-negative fd", at);
            }
            if (!e.TryGetProperty("ino", out var ino) || !TraceNumber.TryGetU64(ino, out ulong inov))
            {
                throw new TraceFormatException(ev.File, ev.Line, "missing or not an integer", at + ".ino");
            }
            list.Add(((int)fdv, inov));
        }
        return list;
    }

    private static List<long> IntList(TraceEvent ev, JsonElement obj, string prefix, string name)
    {
        if (!obj.TryGetProperty(name, out var arr) || arr.ValueKind != JsonValueKind.Array)
        {
            throw new TraceFormatException(ev.File, ev.Line, "missing or not an array", prefix + name);
        }
        var list = new List<long>();
        foreach (var e in arr.EnumerateArray())
        {
            list.Add(TraceNumber.TryGetI64(e, out long v) ? v : throw new TraceFormatException(ev.File, ev.Line, $"not an integer: {e.GetRawText()}", prefix + name));
        }
        return list;
    }
}
