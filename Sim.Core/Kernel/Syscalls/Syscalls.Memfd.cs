// Models mm/memfd.c (Linux 6.1) as the syscall layer sees it: memfd_create and the seal commands of fcntl are handed
// to the machine's memfd model when it has one.
using Sim.Core.Fs;

namespace Sim.Core.Kernel;

/// <summary>
/// The machine's model of <c>mm/memfd.c</c> (shmem files with seals), registered by whichever project models it.
/// The syscall layer only dispatches to it.
/// </summary>
[Kernel("memfd", "mm/memfd.c")]
public interface IMemfd
{
    /// <summary><c>memfd_create(name, flags)</c> for <paramref name="caller"/> (the caller is already <c>current</c>): the fd or -errno.</summary>
    long Create(Process caller, string name, uint flags);

    /// <summary><c>memfd_fcntl(file, cmd, arg)</c> for F_ADD_SEALS/F_GET_SEALS: the seals, 0, or -errno (-EINVAL for a non-memfd file).</summary>
    long Fcntl(KernelFile file, int cmd, long arg);
}

public sealed partial class Syscalls
{
    // The machine's IMemfd service, resolved on first use (null: the machine has none).
    private IMemfd? MemfdModel => _memfdModel ??= _memfd?.Invoke();

    /// <summary>
    /// <c>memfd_create(name, flags)</c>: handed to the machine's <see cref="IMemfd"/>; a machine without a memfd model answers
    /// <c>-ENOSYS</c> (a kernel built without CONFIG_MEMFD_CREATE).
    /// </summary>
    [Kernel("memfd_create", "mm/memfd.c")]
    public long MemfdCreate(Process caller, string name, uint flags)
    {
        if (MemfdModel is not { } memfd)
        {
            return Enosys;
        }
        using var syscall = Enter(caller);
        return memfd.Create(caller, name, flags);
    }
}
