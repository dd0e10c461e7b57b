using Sim.Tests.Infrastructure;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Sim.DmaBufs;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// FsCheck properties: random add / signal / query sequences on one reservation object agree with a reference
/// model written from the traces README's "Observed rules (dma_resv)" plus the table growth of
/// dma_resv_reserve_fences; and the seqno ordering of <c>__dma_fence_is_later</c>.
/// </summary>
public sealed class DmaResvProperties
{
    private static readonly DmaFenceOps s_ops32 = new() { GetDriverName = _ => "p", GetTimelineName = _ => "p" };
    private static readonly DmaFenceOps s_ops64 = new() { UseSeqno64 = true, GetDriverName = _ => "p", GetTimelineName = _ => "p" };

    /// <summary>The reference model's slot.</summary>
    private sealed record Slot(int Id, int Ctx, uint Seqno, DmaResvUsage Usage);

    /// <summary>kmalloc size classes by hand: the capacity of a table asked for <paramref name="n"/> slots.</summary>
    private static int Capacity(int n)
    {
        int bytes = 24 + 8 * n;
        int[] classes = [32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
        foreach (int c in classes)
        {
            if (bytes <= c)
            {
                return (c - 24) / 8;
            }
        }
        throw new InvalidOperationException("beyond the test's range");
    }

    [Property(MaxTest = 300)]
    public bool RandomSequenceAgreesWithTheModel(uint[] ops)
    {
        using var m = TestMachine.Create(process: null);
        var core = m.Fences;
        ulong first = core.ContextAlloc(4);
        var resv = new DmaResv(core);
        var fences = new List<DmaFence>();
        var signaled = new List<bool>();
        var model = new List<Slot>();
        int capacity = 0;
        var nextSeqno = new uint[4];
        bool ok = true;
        foreach (uint x in ops)
        {
            switch (x % 3)
            {
                case 0:
                {
                    int ctx = (int)((x >> 2) % 4);
                    // Mostly increasing seqnos per context, sometimes a repeat or an older one.
                    uint seqno = ((x >> 4) % 4) switch { 0 => nextSeqno[ctx], 1 => nextSeqno[ctx] - 1, _ => ++nextSeqno[ctx] };
                    var usage = (DmaResvUsage)((x >> 6) % 4);
                    var f = DmaFence.Create(core, s_ops32, first + (ulong)ctx, seqno);
                    int id = fences.Count;
                    fences.Add(f);
                    signaled.Add(false);
                    // Model: reserve(1): grow when full, keeping only unsignalled slots in order.
                    if (capacity == 0)
                    {
                        capacity = Capacity(4);
                    }
                    else if (model.Count + 1 > capacity)
                    {
                        int want = Math.Max(model.Count + 1, capacity * 2);
                        model.RemoveAll(s => signaled[s.Id]);
                        capacity = Capacity(want);
                    }
                    // Model: replace the first slot that is signalled, or same context with usage >= new and
                    // not later than the new fence (the same fence counts), else append.
                    int at = model.FindIndex(s => signaled[s.Id] ||
                        (s.Ctx == ctx && s.Usage >= usage && (s.Id == id || (int)(seqno - s.Seqno) > 0)));
                    var slot = new Slot(id, ctx, seqno, usage);
                    if (at >= 0)
                    {
                        model[at] = slot;
                    }
                    else
                    {
                        model.Add(slot);
                    }
                    resv.Lock(null);
                    ok &= resv.ReserveFences(1) == 0;
                    resv.AddFence(f, usage);
                    resv.Unlock();
                    ok &= resv.MaxFences == capacity;
                    break;
                }
                case 1:
                    if (fences.Count > 0)
                    {
                        int id = (int)((x >> 2) % (uint)fences.Count);
                        int ret = fences[id].Signal();
                        ok &= ret == (signaled[id] ? -22 : 0);
                        signaled[id] = true;
                    }
                    break;
                default:
                {
                    var q = (DmaResvUsage)((x >> 2) % 4);
                    var expect = model.Where(s => !signaled[s.Id] && s.Usage <= q).Select(s => s.Id).ToArray();
                    resv.GetFences(q, out var got);
                    ok &= got.Select(f => fences.IndexOf(f)).SequenceEqual(expect);
                    foreach (var f in got)
                    {
                        f.Put();
                    }
                    ok &= resv.TestSignaled(q) == (expect.Length == 0);
                    ok &= resv.WaitTimeout(q, false, 0) == (expect.Length == 0 ? 1 : 0);
                    break;
                }
            }
            resv.Lock(null);
            var cursor = new DmaResvIter(resv, DmaResvUsage.BOOKKEEP);
            var all = new List<(int, DmaResvUsage)>();
            for (var f = cursor.First(); f is not null; f = cursor.Next())
            {
                all.Add((fences.IndexOf(f), cursor.Usage));
            }
            resv.Unlock();
            ok &= all.SequenceEqual(model.Select(s => (s.Id, s.Usage)));
            if (!ok)
            {
                break;
            }
        }
        resv.Fini();
        foreach (var f in fences)
        {
            ok &= f.RefCount == 1;
            f.Put();
        }
        ok &= m.Live.Count("dma_fence") == 0 && m.Warnings.Count == 0;
        return ok;
    }

    [Property(MaxTest = 500)]
    public bool Seqno32IsLaterWrapsAtHalfTheRange(uint b, uint d, uint upperA, uint upperB)
    {
        // 32-bit seqnos: a = b + d is later than b exactly when 0 < d < 2^31; the upper 32 bits are ignored.
        ulong a = ((ulong)upperA << 32) | unchecked(b + d);
        ulong bb = ((ulong)upperB << 32) | b;
        bool later = DmaFence.IsLaterRaw(a, bb, s_ops32);
        return later == (d != 0 && d < 0x8000_0000u) && !(later && DmaFence.IsLaterRaw(bb, a, s_ops32));
    }

    [Property(MaxTest = 500)]
    public bool Seqno64IsAPlainCompare(ulong a, ulong b) =>
        DmaFence.IsLaterRaw(a, b, s_ops64) == (a > b) && !DmaFence.IsLaterRaw(a, a, s_ops64);

    [Property(MaxTest = 200)]
    public Property IsLaterOnFencesNeedsOneContext()
    {
        return Prop.ForAll(ArbMap.Default.ArbFor<uint>(), ArbMap.Default.ArbFor<uint>(), (s1, s2) =>
        {
            using var m = TestMachine.Create(process: null);
            var f1 = DmaFence.Create(m.Fences, s_ops32, 7, s1);
            var f2 = DmaFence.Create(m.Fences, s_ops32, 7, s2);
            var g = DmaFence.Create(m.Fences, s_ops32, 8, s2);
            bool ok = f1.IsLater(f2) == ((int)(s1 - s2) > 0) && f1.IsLaterOrSame(f1) && !f1.IsLater(f1);
            ok &= !f1.IsLater(g) && m.Warnings.Count == 1;
            f1.Put();
            f2.Put();
            g.Put();
            return ok;
        });
    }
}
