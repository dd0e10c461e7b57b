// Models kernel/fork.c (Linux 6.1) as far as the models reach: kernel_clone for fork(2) without CLONE_VM/CLONE_FILES
// (copy_process: dup_fd copies the descriptor table, every file gaining a reference and keeping its close-on-exec
// bit; dup_mmap copies the mappings). A syscall layer built without a process table answers -ENOSYS, as
// sys_ni_syscall does.
namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>
    /// <c>fork()</c>: the child's pid, or <c>-ENOSYS</c> when this syscall layer has no process table. The child
    /// is a new process of the same table with a copy of the caller's descriptor table (<c>dup_fd</c>) and address
    /// space (<c>dup_mmap</c>).
    /// </summary>
    [Kernel("kernel_clone", "kernel/fork.c")]
    public long Fork(Process caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        if (_processes is null)
        {
            return Enosys;
        }
        using var syscall = Enter(caller);
        var child = _processes().Spawn(caller.Comm);
        DupFd(caller, child);
        caller.Mm.DupMmap(child.Mm);
        return child.Pid;
    }

    // dup_fd (fs/file.c): every open fd of the parent, same number, same close-on-exec bit, one more reference.
    [Kernel("dup_fd", "fs/file.c")]
    private static void DupFd(Process parent, Process child)
    {
        foreach (int fd in parent.Files.OpenFds())
        {
            var f = parent.Files.Lookup(fd)!;
            child.Files.InstallAt(fd, f.Get(), parent.Files.GetCloexec(fd));
        }
    }
}
