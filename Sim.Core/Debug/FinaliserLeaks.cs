// The kernel's kmemleak idea (mm/kmemleak.c) for memory the model owns outside the garbage collector: native memory
// an object must free explicitly (a scatterlist chunk, freed by sg_free_table), found unreferenced by the collector.
using System.Collections.Concurrent;

namespace Sim.Core.Debug;

/// <summary>
/// Leaks found by finalisers: an object that holds native memory the kernel frees explicitly (the chunks of an
/// <c>sg_table</c>, freed by <c>sg_free_table</c>) and that became unreachable without that call is freed by its
/// finaliser, which records the leak here, as kmemleak reports an unreferenced object. Beside <see cref="LiveObjects"/>
/// (one machine's reference-counted objects, checked at teardown), this one is process-wide and thread safe: finalisers
/// run on the finaliser thread, outside any machine, at a time the collector chooses.
/// </summary>
[Kernel("kmemleak", "mm/kmemleak.c")]
public static class FinaliserLeaks
{
    private static readonly ConcurrentDictionary<string, Counter> s_byType = new(StringComparer.Ordinal);

    private sealed class Counter
    {
        public long Objects;
        public long Bytes;
    }

    /// <summary>Records one leaked object of <paramref name="type"/> holding <paramref name="bytes"/> bytes (thread safe).</summary>
    public static void Record(string type, long bytes)
    {
        var c = s_byType.GetOrAdd(type, static _ => new Counter());
        Interlocked.Increment(ref c.Objects);
        Interlocked.Add(ref c.Bytes, bytes);
    }

    /// <summary>Leaked objects of <paramref name="type"/> recorded since the process started.</summary>
    public static long Count(string type) => s_byType.TryGetValue(type, out var c) ? Interlocked.Read(ref c.Objects) : 0;

    /// <summary>Bytes those leaked objects held.</summary>
    public static long Bytes(string type) => s_byType.TryGetValue(type, out var c) ? Interlocked.Read(ref c.Bytes) : 0;
}
