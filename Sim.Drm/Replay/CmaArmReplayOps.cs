// Replay of the linux-6.1-cma-arm family's user-side events that are not plain syscalls or DRM ioctls
// (data/traces/README.md, linux-6.1-cma-arm): the pattern checks through mappings (mmap_rw_check,
// mmap_read_check, formula under "Data patterns"), the silent munmaps (mmap result.unmapped_after), the unlogged
// reopen of the DRM node (close result.unlogged_after "openat", performed by the close handler through the session's
// unlogged actions). dma_buf_bufinfo is Sim.DmaBuf's.
using System.Globalization;
using System.Text.Json;
using Sim.Core.Fs;
using Sim.Core.Replay;

namespace Sim.Drm.Replay;

/// <summary>Per-file state: mappings to unmap silently after a given event.</summary>
public sealed class SilentUnmaps
{
    /// <summary>Event index J -> the mappings (address, length) the program unmapped right after J.</summary>
    public Dictionary<long, List<(ulong Addr, ulong Length)>> After { get; } = [];
}

/// <summary>Handlers for <c>mmap_rw_check</c>, <c>mmap_read_check</c> and the unlogged steps.</summary>
public sealed class CmaArmReplayOps : IReplayOpProvider
{
    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        table.Add("mmap_rw_check", MmapRwCheck)
            .Add("mmap_read_check", MmapReadCheck);
        table.AfterEvent(After);
    }

    /// <summary>Word k of the pattern: <c>pattern_seed XOR ((k * 2654435761) mod 2^32)</c>.</summary>
    public static uint PatternWord(uint seed, uint k) => PatternWords.SeedWord(seed, k);

    private static void MmapRwCheck(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = ctx.RunsProcess();
        ulong addr = MappingAddr(ctx, ev);
        uint seed = (uint)ev.ArgU64("pattern_seed");
        ulong words = ev.ArgU64("length") / 4;
        // Framebuffer-sized scratch from the pool: a fresh 8 MiB array per check cost more than the check.
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent((int)(words * 4));
        try
        {
            MmapRwCheckCore(ctx, ev, check, p, addr, seed, words, rented.AsSpan(0, (int)(words * 4)));
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void MmapRwCheckCore(ReplaySession ctx, TraceEvent ev, ReplayCheck check, Sim.Core.Kernel.Process p,
        ulong addr, uint seed, ulong words, Span<byte> buf)
    {
        int ret = ctx.Syscalls.Load(p, addr, buf);
        if (ret != 0)
        {
            check.Ret(ret);
            UnmapSilently(ctx, ev.I);
            return;
        }
        ulong nonzero = PatternWords.FillSeedCountingNonzero(buf, seed);
        ret = ctx.Syscalls.Store(p, addr, buf);
        ulong mismatched = 0;
        if (ret == 0)
        {
            buf.Clear();
            ret = ctx.Syscalls.Load(p, addr, buf);
            mismatched = ret == 0 ? CountMismatches(buf, seed) : 0;
        }
        check.Ret(ret);
        check.ResultU64("nonzero_words_before_write", nonzero);
        check.ResultU64("mismatched_words_after_write", mismatched);
        UnmapSilently(ctx, ev.I);
    }

    private static void MmapReadCheck(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var p = ctx.RunsProcess();
        ulong addr = MappingAddr(ctx, ev);
        uint seed = (uint)ev.ArgU64("pattern_seed");
        int length = (int)(ev.ArgU64("length") / 4 * 4);
        byte[] rented = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        var buf = rented.AsSpan(0, length);
        int ret = ctx.Syscalls.Load(p, addr, buf);
        check.Ret(ret);
        if (ret == 0)
        {
            check.ResultU64("mismatched_words", CountMismatches(buf, seed));
        }
        System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        UnmapSilently(ctx, ev.I);
    }

    private static ulong CountMismatches(ReadOnlySpan<byte> buf, uint seed) => PatternWords.CountSeedMismatches(buf, seed);

    private static ulong MappingAddr(ReplaySession ctx, TraceEvent ev)
    {
        long m = ev.ArgI64("mapping");
        if (!ctx.Traced.Mappings.TryGetValue(m, out ulong addr))
        {
            throw new InvalidOperationException($"mapping {m} was not made by the model");
        }
        return addr;
    }

    private static void UnmapSilently(ReplaySession ctx, long after)
    {
        var s = ctx.State<SilentUnmaps>();
        if (!s.After.Remove(after, out var list))
        {
            return;
        }
        var p = ctx.RunsProcess();
        foreach (var (addr, length) in list)
        {
            int ret = ctx.Syscalls.Munmap(p, addr, length);
            if (ret != 0)
            {
                throw new InvalidOperationException($"silent munmap after i={after} failed: {ret}");
            }
        }
    }

    // After every event: remember the silent munmap of a successful mmap (result.unmapped_after) and perform those due
    // after this event (the check handlers already did theirs). The unlogged reopen after a close is the close
    // handler's (result.unlogged_after, the DRM "openat" action).
    private static void After(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        if (ev.Op == "mmap" && ev.HasResult("unmapped_after") && ctx.Traced.Mappings.TryGetValue(ev.I, out ulong addr))
        {
            long j = ev.ResultI64("unmapped_after");
            var s = ctx.State<SilentUnmaps>();
            if (!s.After.TryGetValue(j, out var list))
            {
                list = [];
                s.After.Add(j, list);
            }
            list.Add((addr, ev.ArgU64("length")));
        }
        UnmapSilently(ctx, ev.I);
    }
}
