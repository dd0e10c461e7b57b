// Models kernel/exit.c (Linux 6.1): do_exit's exit_mm and exit_files.
namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// <c>exit</c> (<c>do_exit</c>): first every mapping goes (<c>exit_mm</c>), then every fd is closed in ascending
    /// order (<c>exit_files</c>). A second exit does nothing.
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
        caller.Mm.ExitMmap();
        foreach (int fd in caller.Files.OpenFds().ToArray())
        {
            Close(caller, fd);
        }
    }
}
