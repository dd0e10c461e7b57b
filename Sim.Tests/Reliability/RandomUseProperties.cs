using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Reliability.Use;

namespace Sim.Tests.Reliability;

/// <summary>
/// Random use of every user-visible operation (DRM ioctls with random numbers and structs, PRIME, dma-buf file
/// ops, vgem fences, kvmfr ioctls, mmap/munmap/close/dup, process exit; two processes, four devices; the x86_64
/// machine or the ARM board with its CMA-backed PL111) as FsCheck-generated sequences of stress's commands
/// (<see cref="UseCommand"/>), checked against their model: after every step descriptors and handles are the lowest
/// free numbers, handle counts equal the handles that exist and refcounts cover them, flink names are per device
/// and die with the last handle, no WARN fired; at the end nothing is alive and every page is back, the CMA bitmap
/// holds exactly the live DMA buffers. A failure shrinks to a short sequence and prints its commands.
/// </summary>
public class RandomUseProperties
{
    [Property(MaxTest = 1500)]
    public Property Random_use_keeps_every_invariant(bool arm)
    {
        var config = UseConfig.ForSeed(arm ? 1 : 0);
        return Prop.ForAll(UseSequences.Of(UseSequences.AllOps, 60, 315), steps => UseSequences.Holds(config, steps));
    }
}
