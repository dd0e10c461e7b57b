using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.Reliability;

namespace Sim.Tests.Reliability;

/// <summary>
/// Random use of every user-visible operation (DRM ioctls with random numbers and structs, PRIME, dma-buf file
/// ops, vgem fences, kvmfr ioctls, mmap/munmap/close/dup, process exit; two processes, four devices; the x86_64
/// machine for even seeds, the ARM board with its CMA-backed PL111 for odd ones) against the model of
/// <see cref="RandomUse"/>: after every step descriptors and handles are the lowest free numbers, handle counts
/// equal the handles that exist and refcounts cover them, no WARN fired; at the end nothing is alive and every
/// page is back, the CMA bitmap holds exactly the live DMA buffers. FsCheck draws the seed and the length; a
/// failure names the seed and step to replay with <c>dmabufsim stress --seed S</c>.
/// </summary>
public class RandomUseProperties
{
    [Property(MaxTest = 1500)]
    public Property Random_use_keeps_every_invariant(int seed, byte length)
    {
        using var run = new RandomUse(seed);
        run.Run(60 + length);
        return (run.Violations.Count == 0).Label(run.Violations.Count == 0 ? "" : run.Violations[0].ToString());
    }
}
