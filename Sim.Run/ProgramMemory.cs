// copy_from_user/copy_to_user of dmabufsim run: the program's own memory, read and written from the host with
// process_vm_readv/writev (the host is the program's ancestor and has the same credentials).
using Sim.Core.Fs;
using Sim.Core.Uapi;

namespace Sim.Run;

/// <summary>The memory of real process <see cref="Pid"/>: an unmapped or partly mapped range is <c>-EFAULT</c>.</summary>
public sealed unsafe class ProgramMemory(int pid) : IUserMemory
{
    /// <summary>The real pid.</summary>
    public int Pid { get; } = pid;

    /// <inheritdoc/>
    public int Read(ulong address, Span<byte> destination)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }
        fixed (byte* p = destination)
        {
            var local = new LibC.IoVec { Base = p, Len = (nuint)destination.Length };
            var remote = new LibC.IoVec { Base = (void*)address, Len = (nuint)destination.Length };
            return LibC.ProcessVmReadv(Pid, &local, 1, &remote, 1, 0) == destination.Length ? 0 : -(int)Errno.EFAULT;
        }
    }

    /// <inheritdoc/>
    public int Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (source.IsEmpty)
        {
            return 0;
        }
        fixed (byte* p = source)
        {
            var local = new LibC.IoVec { Base = p, Len = (nuint)source.Length };
            var remote = new LibC.IoVec { Base = (void*)address, Len = (nuint)source.Length };
            return LibC.ProcessVmWritev(Pid, &local, 1, &remote, 1, 0) == source.Length ? 0 : -(int)Errno.EFAULT;
        }
    }
}
