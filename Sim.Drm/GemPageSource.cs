// The seam through which shmem-backed GEM objects get page frames (shmem_read_mapping_page in the kernel).
// The machine's buddy allocator (Sim.Core/Mm/PageAlloc.cs) replaces the simple source when it is wired in.
using Sim.Core;

namespace Sim.Drm;

/// <summary>Where shmem GEM pages come from: one zeroed page frame per call, returned when the object frees it.</summary>
public interface IGemPageSource
{
    /// <summary>A fresh page frame whose bytes read as zero.</summary>
    ulong AllocPage();

    /// <summary>Gives a frame back.</summary>
    void FreePage(ulong pfn);

    /// <summary>Frames handed out and not yet returned.</summary>
    long PagesInUse { get; }
}

/// <summary>
/// A simple per-machine frame source: frames from a high pfn range, never reused (so every frame reads as zero
/// in the sparse page store), counted so that leaks show.
/// </summary>
[Kernel("shmem_read_mapping_page_gfp", "mm/shmem.c")]
public sealed class SimpleGemPageSource : IGemPageSource
{
    private ulong _next = 0x100000; // 4 GiB and up: away from the frames other models log
    /// <inheritdoc/>
    public long PagesInUse { get; private set; }

    /// <inheritdoc/>
    public ulong AllocPage()
    {
        PagesInUse++;
        return _next++;
    }

    /// <inheritdoc/>
    public void FreePage(ulong pfn)
    {
        PagesInUse--;
    }
}
