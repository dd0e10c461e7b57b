// Models user accesses through the caller's mappings as mm/memory.c serves them (handle_mm_fault on a miss, then
// the page's bytes): a load or store that faults gives the signal's errno.
namespace Sim.Core.Kernel;

public sealed partial class Syscalls
{
    /// <summary>A CPU load through the caller's mappings: 0, or <c>-EFAULT</c> (SIGSEGV) / the fault's errno (SIGBUS).</summary>
    [Kernel("handle_mm_fault", "mm/memory.c")]
    public int Load(Process caller, ulong addr, Span<byte> destination)
    {
        using var syscall = Enter(caller);
        return caller.Mm.Load(addr, destination);
    }

    /// <summary>A CPU store through the caller's mappings (as <see cref="Load"/>).</summary>
    public int Store(Process caller, ulong addr, ReadOnlySpan<byte> source)
    {
        using var syscall = Enter(caller);
        return caller.Mm.Store(addr, source);
    }
}
