// Models kernel/exit.c (Linux 6.1): do_exit's exit_mm and exit_files.
namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// <c>exit</c> (<c>do_exit</c>): the task is exiting (<c>PF_EXITING</c>) from here on; first every mapping goes
    /// (<c>exit_mm</c>), then every fd is closed in ascending order (<c>exit_files</c>). A second exit does nothing.
    /// With the machine's leak check on, every mapping of a file that this process made itself (not a copy
    /// inherited at fork) and is still there is a leak, and so is what the releases under exit drop last.
    /// </summary>
    [Kernel("do_exit", "kernel/exit.c")]
    public void Exit(Process caller)
    {
        using var syscall = Enter(caller);
        if (caller.Exited)
        {
            return;
        }
        caller.Exited = true;
        caller.Mm.ExitMmap(_check is { Enabled: true } check ? v => MappingLost(check, v) : null);
        foreach (int fd in caller.Files.OpenFds().ToArray())
        {
            Close(caller, fd);
        }
    }

    private static Debug.LeakCheck.Scope MappingLost(Debug.LeakCheck check, Mm.Vma v) =>
        v.File is null || v.Inherited ? default
            : check.Lost("mapping", $"mapping of {v.File.Name} at 0x{v.Start:x}-0x{v.End:x} ({v.Length} bytes, pgoff 0x{v.PgOff:x})", v.Origin);
}
