// A kmemleak-style report (mm/kmemleak.c "unreferenced object" lines): what is alive and who holds it.
using System.Text;
using Sim.Core.Fs;
using Sim.Core.Kernel;

namespace Sim.Core.Debug;

/// <summary>
/// Lists the live objects of a machine with their holders: the object's own holder description (reference
/// counts, handles, attachments) and, for files (and dma-bufs, through their file), every descriptor and mapping
/// of every process that refers to it.
/// </summary>
[Kernel("kmemleak_scan", "mm/kmemleak.c")]
public static class LeakReport
{
    /// <summary>One line per live object (oldest first), skipping objects a loaded module keeps when <paramref name="skipModules"/>.</summary>
    public static List<string> Describe(LiveObjects live, ProcessTable? processes, bool skipModules = true, int max = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(live);
        var lines = new List<string>();
        foreach (var o in live.Alive())
        {
            if (lines.Count >= max)
            {
                break;
            }
            if (skipModules && o.Module is not null)
            {
                continue;
            }
            lines.Add(Describe(o, processes));
        }
        return lines;
    }

    /// <summary>"type description — held by: ..." for one object.</summary>
    public static string Describe(LiveObject o, ProcessTable? processes)
    {
        ArgumentNullException.ThrowIfNull(o);
        var sb = new StringBuilder();
        sb.Append(o.Type).Append(' ').Append(o.Description);
        var holders = new List<string>();
        if (o.Holder is { } h)
        {
            holders.Add(h());
        }
        if (o.Target is KernelFile file && processes is not null)
        {
            foreach (var p in processes.Processes)
            {
                if (p.Exited)
                {
                    continue;
                }
                foreach (int fd in p.Files.OpenFds())
                {
                    if (ReferenceEquals(p.Fget(fd), file))
                    {
                        holders.Add($"pid {p.Pid} ({p.Comm}) fd {fd}");
                    }
                }
                foreach (var v in p.Mm.Vmas)
                {
                    if (ReferenceEquals(v.File, file))
                    {
                        holders.Add($"pid {p.Pid} ({p.Comm}) mapping 0x{v.Start:x}-0x{v.End:x}");
                    }
                }
            }
        }
        if (o.Module is not null)
        {
            holders.Add("module " + o.Module);
        }
        if (holders.Count > 0)
        {
            sb.Append(" — held by: ").AppendJoin("; ", holders);
        }
        return sb.ToString();
    }
}
