// Replay of the dma_fence / dma_resv events of the linux-6.1-sg resv_* traces (the sgcap module's calls).
using System.Globalization;
using System.Text;
using System.Text.Json;
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Replay;
using Sim.Core.Time;

namespace Sim.DmaBufs.Replay;

/// <summary>
/// Per-file state of the resv replay: the module's fences by its <c>id</c>, its reservation objects by name, the
/// first context of its <c>dma_fence_context_alloc</c> (trace contexts are relative to it) and delayed works.
/// </summary>
public sealed class DmaResvReplayState
{
    /// <summary><c>first_context</c> of the file's <c>dma_fence_context_alloc</c>.</summary>
    public ulong FirstContext { get; set; }

    /// <summary>The module's fences (one module reference each) by id.</summary>
    public Dictionary<long, DmaFence> Fences { get; } = [];

    /// <summary>The id of each fence.</summary>
    public Dictionary<DmaFence, long> Ids { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>Reservation objects by the module's name (<c>main</c>, <c>replaceN</c>, <c>rand</c>), in creation order.</summary>
    public Dictionary<string, DmaResv> Resvs { get; } = new(StringComparer.Ordinal);

    /// <summary>Delayed works scheduled by <c>unlogged_before</c> entries and not yet flushed.</summary>
    public List<DelayedWork> Works { get; } = [];
}

/// <summary>
/// Replay handlers for <c>dma_fence_context_alloc</c>, <c>dma_fence_init</c>, <c>dma_fence_signal</c>,
/// <c>dma_fence_get_status</c>, <c>dma_resv_reserve_fences</c>, <c>dma_resv_add_fence</c>,
/// <c>dma_resv_for_each_fence</c>, <c>dma_resv_get_fences</c>, <c>dma_resv_test_signaled</c>,
/// <c>dma_resv_wait_timeout</c> and the informational <c>replacement_case</c>. Each reservation object is
/// <c>dma_resv_init</c>ed at its first event and <c>dma_resv_fini</c>ed at the end of the file, where the module's
/// fence references are dropped and no fence may stay alive. The module locks the object around the calls that
/// need the lock (reserve, add, locked iteration).
/// </summary>
public sealed class DmaResvReplayOps : IReplayOpProvider
{
    private static readonly DmaFenceOps s_moduleFenceOps = new()
    {
        GetDriverName = static _ => "sgcap",
        GetTimelineName = static _ => "sgcap",
    };

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.Add("dma_fence_context_alloc", ContextAlloc)
            .Add("dma_fence_init", FenceInit)
            .Add("dma_fence_signal", FenceSignal)
            .Add("dma_fence_get_status", FenceGetStatus)
            .Add("dma_resv_reserve_fences", ReserveFences)
            .Add("dma_resv_add_fence", AddFence)
            .Add("dma_resv_for_each_fence", ForEachFence)
            .Add("dma_resv_get_fences", GetFences)
            .Add("dma_resv_test_signaled", TestSignaled)
            .Add("dma_resv_wait_timeout", WaitTimeout)
            .Add("replacement_case", ReplacementCase);
    }

    private static DmaResvReplayState State(ReplaySession ctx)
    {
        var s = ctx.State<DmaResvReplayState>();
        ctx.AtExit("dma_resv_fini", check => Finish(ctx, s, check));
        return s;
    }

    private static void Finish(ReplaySession ctx, DmaResvReplayState s, ReplayCheck check)
    {
        foreach (var resv in s.Resvs.Values)
        {
            resv.Fini();
        }
        s.Resvs.Clear();
        foreach (var w in s.Works)
        {
            w.Flush();
        }
        s.Works.Clear();
        foreach (var f in s.Fences.Values)
        {
            f.Put();
        }
        s.Fences.Clear();
        s.Ids.Clear();
        var live = ctx.Live;
        check.Equal("live dma_fence objects", 0L, live.Count("dma_fence"));
        var warn = ctx.Warnings;
        if (warn.Count != 0)
        {
            check.Fail("warnings", "none", warn.Records[0].Condition + " in " + warn.Records[0].Function);
        }
    }

    private static DmaResv Resv(ReplaySession ctx, DmaResvReplayState s, TraceEvent ev)
    {
        string name = ev.ArgString("resv") ?? throw new TraceFormatException(ev.File, ev.Line, "missing", "args.resv");
        if (!s.Resvs.TryGetValue(name, out var resv))
        {
            resv = new DmaResv(ctx.Fences);
            s.Resvs.Add(name, resv);
        }
        return resv;
    }

    private static DmaFence Fence(DmaResvReplayState s, TraceEvent ev, string field)
    {
        long id = ev.ArgI64(field);
        return s.Fences.TryGetValue(id, out var f) ? f
            : throw new TraceFormatException(ev.File, ev.Line, $"fence {id} was never initialised", "args." + field);
    }

    private static DmaResvUsage Usage(TraceEvent ev, string field = "usage")
    {
        string? name = ev.ArgString(field);
        return DmaResvUsageExtensions.TryParse(name, out var u) ? u
            : throw new TraceFormatException(ev.File, ev.Line, $"unknown usage {name}", "args." + field);
    }

    private static void ContextAlloc(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        s.FirstContext = ctx.Fences.ContextAlloc((uint)ev.ArgU64("num"));
        check.Ret(0);
    }

    private static void FenceInit(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        long id = ev.ArgI64("id");
        var fence = DmaFence.Create(ctx.Fences, s_moduleFenceOps, s.FirstContext + ev.ArgU64("context"), ev.ArgU64("seqno"));
        if (s.Fences.Remove(id, out var old))
        {
            s.Ids.Remove(old);
            old.Put();
        }
        s.Fences.Add(id, fence);
        s.Ids.Add(fence, id);
        check.Ret(0);
    }

    private static void FenceSignal(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(Fence(State(ctx), ev, "fence").Signal());

    private static void FenceGetStatus(ReplaySession ctx, TraceEvent ev, ReplayCheck check) =>
        check.Ret(Fence(State(ctx), ev, "fence").GetStatus());

    private static void ReserveFences(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        var resv = Resv(ctx, s, ev);
        check.Ret(resv.Lock(null));
        check.Ret(resv.ReserveFences((uint)ev.ArgU64("num_fences")));
        resv.Unlock();
    }

    private static void AddFence(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        var resv = Resv(ctx, s, ev);
        var fence = Fence(s, ev, "fence");
        if (ev.Args.TryGetProperty("fence_signaled", out var sig) && sig.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            check.Equal("args.fence_signaled", sig.ValueKind == JsonValueKind.True, fence.SignaledBit);
        }
        check.Equal("args.context", ev.ArgU64("context"), fence.Context - s.FirstContext);
        check.Equal("args.seqno", ev.ArgU64("seqno"), fence.Seqno);
        check.Ret(resv.Lock(null));
        resv.AddFence(fence, Usage(ev));
        var actual = new StringBuilder("[");
        foreach (var slot in resv.Slots())
        {
            AppendSep(actual).Append(Id(s, slot.Fence)).Append(':').Append(slot.Usage.ToString());
        }
        resv.Unlock();
        check.Ret(0);
        CompareList(check, ev, "slots_after", actual.Append(']').ToString(), static (sb, e) =>
            sb.Append(e.GetProperty("id").GetInt64()).Append(':').Append(e.GetProperty("usage").GetString()));
    }

    private static void ForEachFence(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        var resv = Resv(ctx, s, ev);
        check.Ret(resv.Lock(null));
        var actual = new StringBuilder("[");
        var cursor = new DmaResvIter(resv, Usage(ev));
        for (var fence = cursor.First(); fence is not null; fence = cursor.Next())
        {
            AppendSep(actual).Append(Id(s, fence)).Append(':').Append(cursor.Usage.ToString()).Append(':').Append(fence.SignaledBit ? "signaled" : "pending");
        }
        cursor.End();
        resv.Unlock();
        check.Ret(0);
        CompareList(check, ev, "fences", actual.Append(']').ToString(), static (sb, e) =>
            sb.Append(e.GetProperty("id").GetInt64()).Append(':').Append(e.GetProperty("usage").GetString())
              .Append(':').Append(e.GetProperty("signaled").GetBoolean() ? "signaled" : "pending"));
    }

    private static void GetFences(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        var resv = Resv(ctx, s, ev);
        check.Ret(resv.GetFences(Usage(ev), out var fences));
        check.ResultU64("num_fences", (ulong)fences.Length);
        var actual = new StringBuilder("[");
        foreach (var f in fences)
        {
            AppendSep(actual).Append(Id(s, f)).Append(":ctx").Append(f.Context - s.FirstContext).Append(":seq").Append(f.Seqno)
                .Append(':').Append(f.SignaledBit ? "signaled" : "pending");
            f.Put();
        }
        CompareList(check, ev, "fences", actual.Append(']').ToString(), static (sb, e) =>
            sb.Append(e.GetProperty("id").GetInt64()).Append(":ctx").Append(e.GetProperty("context").GetInt64())
              .Append(":seq").Append(e.GetProperty("seqno").GetInt64())
              .Append(':').Append(e.GetProperty("signaled").GetBoolean() ? "signaled" : "pending"));
    }

    private static void TestSignaled(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        bool signaled = Resv(ctx, s, ev).TestSignaled(Usage(ev));
        check.Ret(signaled ? 1 : 0);
        check.ResultBool("signaled", signaled);
    }

    private static void WaitTimeout(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        var resv = Resv(ctx, s, ev);
        var clock = ctx.Clock;
        if (!Unlogged(ctx, s, ev, "unlogged_before", check))
        {
            return;
        }
        ulong timeout = ev.ArgU64("timeout");
        bool intr = ev.Args.TryGetProperty("intr", out var i) && i.ValueKind == JsonValueKind.True;
        long j0 = clock.Jiffies;
        long ret = resv.WaitTimeout(Usage(ev), intr, timeout);
        long elapsed = clock.Jiffies - j0;

        bool nondeterministic = ev.Args.TryGetProperty("nondeterministic_ret", out var nd) && nd.ValueKind == JsonValueKind.True;
        if (nondeterministic)
        {
            // The time left after a wake-up by delayed work: in 1..timeout, within 2 of timeout - elapsed.
            long t = unchecked((long)timeout);
            if (ret < 1 || ret > t || Math.Abs(ret - (t - elapsed)) > 2)
            {
                check.Fail("result.ret", string.Create(CultureInfo.InvariantCulture, $"1..{t}, within 2 of {t - elapsed} (captured {ev.Ret})"),
                    ret.ToString(CultureInfo.InvariantCulture));
            }
        }
        else
        {
            check.Ret(ret);
        }

        if (ev.HasResult("elapsed_jiffies"))
        {
            long captured = ev.ResultI64("elapsed_jiffies");
            long lo, hi;
            if (ev.Args.TryGetProperty("signaled_during_wait", out var sdw) && sdw.ValueKind == JsonValueKind.Object)
            {
                lo = sdw.GetProperty("delay_jiffies").GetInt64();
                hi = lo + 2;
            }
            else if (captured == 0)
            {
                lo = 0;
                hi = 1;
            }
            else
            {
                lo = unchecked((long)timeout);
                hi = lo + 2;
            }
            if (elapsed < lo || elapsed > hi)
            {
                check.Fail("result.elapsed_jiffies", string.Create(CultureInfo.InvariantCulture, $"{lo}..{hi} (captured {captured})"),
                    elapsed.ToString(CultureInfo.InvariantCulture));
            }
        }
        Unlogged(ctx, s, ev, "unlogged_after", check);
    }

    private static bool Unlogged(ReplaySession ctx, DmaResvReplayState s, TraceEvent ev, string field, ReplayCheck check)
    {
        if (!ev.Result.TryGetProperty(field, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return true;
        }
        foreach (var entry in list.EnumerateArray())
        {
            string? call = entry.TryGetProperty("call", out var c) ? c.GetString() : null;
            switch (call)
            {
                case "schedule_delayed_work":
                {
                    var work = entry.GetProperty("work");
                    string? wcall = work.GetProperty("call").GetString();
                    if (wcall != "dma_fence_signal")
                    {
                        check.Skip("delayed work " + wcall + " not modelled");
                        return false;
                    }
                    long id = work.GetProperty("fence").GetInt64();
                    var fence = s.Fences.TryGetValue(id, out var f) ? f
                        : throw new TraceFormatException(ev.File, ev.Line, $"fence {id} was never initialised", "result." + field);
                    var dw = new DelayedWork(() => fence.Signal());
                    dw.Schedule(ctx.Clock, entry.GetProperty("delay_jiffies").GetInt64());
                    s.Works.Add(dw);
                    break;
                }
                case "flush_delayed_work":
                    foreach (var w in s.Works)
                    {
                        w.Flush();
                    }
                    s.Works.Clear();
                    break;
                default:
                    check.Skip("unlogged " + call + " not modelled here");
                    return false;
            }
        }
        return true;
    }

    private static void ReplacementCase(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var s = State(ctx);
        string name = ev.ArgString("resv") ?? throw new TraceFormatException(ev.File, ev.Line, "missing", "args.resv");
        if (s.Resvs.Remove(name, out var old))
        {
            old.Fini();
        }
        s.Resvs.Add(name, new DmaResv(ctx.Fences));
        _ = check;
    }

    private static string Id(DmaResvReplayState s, DmaFence f) =>
        s.Ids.TryGetValue(f, out long id) ? id.ToString(CultureInfo.InvariantCulture) : "?";

    private static StringBuilder AppendSep(StringBuilder sb) => sb.Length > 1 ? sb.Append(", ") : sb;

    private static void CompareList(ReplayCheck check, TraceEvent ev, string field, string actual, Action<StringBuilder, JsonElement> format)
    {
        if (!ev.Result.TryGetProperty(field, out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        var expected = new StringBuilder("[");
        foreach (var e in list.EnumerateArray())
        {
            format(AppendSep(expected), e);
        }
        check.Equal("result." + field, expected.Append(']').ToString(), actual);
    }
}
