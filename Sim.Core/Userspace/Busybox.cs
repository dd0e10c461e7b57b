// The busybox applets the kvmfr traces run through popen("CMD 2>&1"): insmod, rmmod and ls, with their
// messages (stderr, unbuffered) before their stdout (flushed at exit) and their exit status.
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Uapi;

namespace Sim.Core.Userspace;

/// <summary>A simulated busybox (1.35, static, glibc strerror texts).</summary>
public sealed class Busybox(ModuleLoader modules, Vfs vfs, CurrentTask current)
{
    private int _nextPid = 200;

    /// <summary>
    /// Runs <paramref name="command"/> as <c>/bin/sh -c "command 2>&amp;1"</c>: the exit status and the pipe's bytes
    /// (stderr lines, then stdout lines).
    /// </summary>
    public (int Status, string Output) Exec(string command)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0)
        {
            return (0, "");
        }
        var err = new StringBuilder();
        var outp = new StringBuilder();
        int status;
        using (current.Enter(_nextPid++, words[0]))
        {
            status = words[0] switch
            {
                "insmod" => Insmod(words, err),
                "rmmod" => Rmmod(words, err),
                "ls" => Ls(words, err, outp),
                _ => NotFound(words[0], err),
            };
        }
        return (status, err.ToString() + outp.ToString());
    }

    private static int NotFound(string name, StringBuilder err)
    {
        err.Append("sh: ").Append(name).Append(": not found\n");
        return 127;
    }

    // insmod FILE [PARAM...]: finit_module, and after any failure init_module with the file's bytes.
    private int Insmod(string[] w, StringBuilder err)
    {
        if (w.Length < 2)
        {
            err.Append("BusyBox v1.35.0 (Debian 1:1.35.0-4+b3) multi-call binary.\n");
            return 1;
        }
        string file = w[1];
        string options = string.Join(' ', w, 2, w.Length - 2);
        int rc = modules.FinitModule(file, options);
        if (rc != 0)
        {
            rc = modules.InitModule(file, options);
        }
        if (rc != 0)
        {
            err.Append("insmod: can't insert '").Append(file).Append("': ").Append(ModError(-rc)).Append('\n');
            return -rc;
        }
        return 0;
    }

    // rmmod NAME: delete_module(name, O_NONBLOCK | O_EXCL).
    private int Rmmod(string[] w, StringBuilder err)
    {
        for (int k = 1; k < w.Length; k++)
        {
            string name = Path.GetFileName(w[k]);
            if (name.EndsWith(".ko", StringComparison.Ordinal))
            {
                name = name[..^3];
            }
            int rc = modules.DeleteModule(name.Replace('-', '_'), ModuleLoader.O_NONBLOCK | 0x80);
            if (rc != 0)
            {
                err.Append("rmmod: can't unload module '").Append(name).Append("': ").Append(StrError(-rc)).Append('\n');
                return 1;
            }
        }
        return 0;
    }

    // ls PATH...: missing operands on stderr in command-line order, existing ones sorted on stdout, one per line.
    private int Ls(string[] w, StringBuilder err, StringBuilder outp)
    {
        int status = 0;
        var found = new List<string>();
        for (int k = 1; k < w.Length; k++)
        {
            if (vfs.Lookup(w[k]) is null)
            {
                err.Append("ls: ").Append(w[k]).Append(": No such file or directory\n");
                status = 1;
            }
            else
            {
                found.Add(w[k]);
            }
        }
        found.Sort(StringComparer.Ordinal);
        foreach (var f in found)
        {
            outp.Append(f).Append('\n');
        }
        return status;
    }

    // busybox modutils moderror(): a few errnos get module-specific texts, the rest strerror.
    private static string ModError(int errno) => errno switch
    {
        (int)Errno.ENOEXEC => "invalid module format",
        (int)Errno.ENOENT => "unknown symbol in module, or unknown parameter",
        (int)Errno.ESRCH => "module has wrong symbol version",
        (int)Errno.ENOSYS => "kernel does not support requested operation",
        _ => StrError(errno),
    };

    /// <summary>glibc <c>strerror</c> for the errnos these commands meet.</summary>
    public static string StrError(int errno) => errno switch
    {
        (int)Errno.EPERM => "Operation not permitted",
        (int)Errno.ENOENT => "No such file or directory",
        (int)Errno.ENOMEM => "Cannot allocate memory",
        (int)Errno.EFAULT => "Bad address",
        (int)Errno.EBUSY => "Device or resource busy",
        (int)Errno.EEXIST => "File exists",
        (int)Errno.ENODEV => "No such device",
        (int)Errno.EINVAL => "Invalid argument",
        (int)Errno.EAGAIN => "Resource temporarily unavailable",
        (int)Errno.ENOSPC => "No space left on device",
        (int)Errno.ERANGE => "Numerical result out of range",
        (int)Errno.ENOEXEC => "Exec format error",
        (int)Errno.ENXIO => "No such device or address",
        (int)Errno.ENOTTY => "Inappropriate ioctl for device",
        _ => "Unknown error " + errno,
    };
}
