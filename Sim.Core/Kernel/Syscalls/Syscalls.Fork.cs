// Models kernel/fork.c (Linux 6.1) as far as the models reach: not at all yet. copy_process would need dup_mmap
// (every VMA copied with vm_ops->open, VM_DONTCOPY ones skipped, private pages copied on write), which the
// address-space model does not have; a half-copied child would be a wrong answer, so fork is sys_ni_syscall.
namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary><c>fork()</c>: not modelled, <c>-ENOSYS</c> (see the file's note).</summary>
    [Kernel("kernel_clone", "kernel/fork.c")]
    public long Fork(Process caller)
    {
        _ = caller;
        return Enosys;
    }
}
