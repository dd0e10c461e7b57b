// The files of /sys and /proc a connection serves: which paths the simulated machine answers for (its sysfs, the
// DRM class and major, /proc/PID/fdinfo of simulated descriptors) and which go to the real system untouched.
using System.Text;
using Sim.Core.Kernel;

namespace Sim.Run;

internal sealed partial class RunConnection
{
    // The /sys paths the machine owns although its sysfs lacks them: the DRM class and char major, and whatever lies
    // below one of its device directories (three levels down, /sys/devices/platform/vgem/...). Shallower paths it
    // lacks (/sys/devices/system/cpu/online) belong to the real system.
    private static readonly string[] s_ownedSys = ["/sys/class/drm/", "/sys/dev/char/226:"];

    /// <summary>True when the simulated sysfs answers for <paramref name="path"/> (found there, or owned and missing).</summary>
    private bool SysfsServes(Process p, string path)
    {
        if (Owned(path) || host.Vfs.Lookup(path) is not null || s_ownedSys.Any(o => path.StartsWith(o, StringComparison.Ordinal)) || path == "/sys/class/drm")
        {
            return true;
        }
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int n = parts.Length; n >= 1; n--)
        {
            if (host.Sys.Lstat(p, "/" + string.Join('/', parts[..n])).Ret == 0)
            {
                return n == parts.Length || n >= 3;
            }
        }
        return false;
    }

    // opendir of a sysfs directory: getdents64 by the simulated kernel, as "name\0type\0ino\n" lines.
    private long SysfsList(Process p, string path, out byte[]? data)
    {
        data = null;
        var (r, entries) = host.Sys.ReadDir(p, path);
        if (entries is null)
        {
            return r;
        }
        var sb = new StringBuilder();
        foreach (var e in entries)
        {
            var ino = host.Sys.Lstat(p, path + "/" + e.Name).Stat.Ino;
            sb.Append(e.Name).Append('\0').Append((int)e.Type).Append('\0').Append(ino).Append('\n');
        }
        data = Encoding.UTF8.GetBytes(sb.ToString());
        return entries.Count;
    }

    // "/proc/PID/fdinfo/N" (PID a process of the program, or "self") naming a simulated descriptor of it.
    private (Process Process, int Fd)? ProcFdinfo(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 4 || parts[0] != "proc" || parts[2] != "fdinfo" ||
            !int.TryParse(parts[3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int fd))
        {
            return null;
        }
        Process? target = parts[1] == "self" ? Owner?.Process
            : int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int pid) ? host.ProcessOfPid(pid) : null;
        return target is not null && target.Files.Lookup(fd) is not null ? (target, fd) : null;
    }
}
