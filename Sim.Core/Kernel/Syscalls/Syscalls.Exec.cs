// Models fs/exec.c (Linux 6.1) for what the models can see of execve: begin_new_exec drops the old address space
// (exec_mmap) and closes the close-on-exec descriptors (do_close_on_exec). No program image is loaded: the caller
// goes on driving the same process as the new program.
using Sim.Core.Uapi;

namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// <c>execve(path, argv, envp)</c>: <c>-ENOENT</c> when <paramref name="path"/> does not exist in the simulated
    /// file system; otherwise every mapping goes and every close-on-exec fd is closed, and 0 is returned.
    /// </summary>
    [Kernel("do_execveat_common", "fs/exec.c")]
    public int Execve(Process caller, string path)
    {
        using var syscall = Enter(caller);
        if (_vfs.Lookup(path) is null)
        {
            return -(int)Errno.ENOENT;
        }
        BeginNewExec(caller);
        return 0;
    }

    /// <summary>
    /// <c>begin_new_exec</c>: the point of no return of an execve that found its program (for a real program run
    /// on the simulated kernel, the real kernel found it): the old address space goes (<c>exec_mmap</c>), then the
    /// close-on-exec descriptors are closed (<c>do_close_on_exec</c>).
    /// </summary>
    [Kernel("begin_new_exec", "fs/exec.c")]
    public void BeginNewExec(Process caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        using var syscall = Enter(caller);
        caller.Mm.ExitMmap();
        foreach (int fd in caller.Files.OpenFds().Where(caller.Files.GetCloexec).ToArray())
        {
            if (caller.Files.Remove(fd) is { } f)
            {
                FilpClose(f);
            }
        }
    }
}
