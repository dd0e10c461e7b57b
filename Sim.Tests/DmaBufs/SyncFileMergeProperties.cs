using FsCheck.Xunit;
using Sim.DmaBufs;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// FsCheck property: random sw_sync point creation, timeline increments and SYNC_IOC_MERGE of any two sync_files
/// (points or earlier merges) agree with a reference model of 6.1.192's <c>sync_file_merge</c> /
/// <c>__dma_fence_unwrap_merge</c> rules, written from the C source: both sides unwrapped, signalled fences
/// dropped (the latest signal time kept), none left: a private stub signalled at that time; the latest fence of
/// each context kept; one left: that fence itself; more: an array in ascending context order.
/// </summary>
public sealed class SyncFileMergeProperties
{
    private abstract record Model;

    private sealed record Stub(long Timestamp) : Model;

    private sealed record Single(DmaFence Fence) : Model;

    private sealed record Array(IReadOnlyList<DmaFence> Fences) : Model;

    [Property(MaxTest = 300)]
    public bool MergeAgreesWithTheReferenceModel(uint[] ops)
    {
        using var m = new SyncFileIoctlTests.Machine();
        int[] tls = [m.OpenTimeline(), m.OpenTimeline(), m.OpenTimeline()];
        var counter = new uint[3];
        var fenceTl = new Dictionary<DmaFence, int>(ReferenceEqualityComparer.Instance);
        var signalTime = new Dictionary<DmaFence, long>(ReferenceEqualityComparer.Instance);
        var files = new List<(int Fd, Model Model)>();

        // The model's own view of a point: signalled once its timeline counter reached it (wrapping u32 order).
        bool Signalled(DmaFence f) => f.Context == 0 || !((int)((uint)f.Seqno - counter[fenceTl[f]]) > 0);
        long Ts(DmaFence f) => f.Context == 0 ? ((Stub)files.First(x => x.Model is Stub s && ReferenceEquals(m.FenceOf(x.Fd), f)).Model).Timestamp : signalTime[f];
        IEnumerable<DmaFence> Unwrap(int fd, Model model) => model switch
        {
            Array a => a.Fences,
            Single s => [s.Fence],
            _ => [m.FenceOf(fd)],
        };

        foreach (uint x in ops.Take(40))
        {
            m.Clock.AdvanceNs(10);
            int t = (int)((x >> 2) % 3);
            switch (x % 4)
            {
                case 0 or 1:
                {
                    uint value = 1 + (x >> 4) % 6;
                    int fd = m.CreateFence(tls[t], value);
                    if (fd < 0)
                    {
                        return false;
                    }
                    var f = m.FenceOf(fd);
                    fenceTl[f] = t;
                    if (!signalTime.ContainsKey(f) && Signalled(f))
                    {
                        signalTime[f] = m.Clock.NowNs;
                    }
                    files.Add((fd, new Single(f)));
                    break;
                }
                case 2:
                {
                    uint by = (x >> 4) % 3;
                    m.Inc(tls[t], by);
                    counter[t] += by;
                    foreach (var f in fenceTl.Keys)
                    {
                        if (!signalTime.ContainsKey(f) && Signalled(f))
                        {
                            signalTime[f] = m.Clock.NowNs;
                        }
                    }
                    break;
                }
                default:
                {
                    if (files.Count == 0)
                    {
                        break;
                    }
                    var (fa, ma) = files[(int)((x >> 4) % (uint)files.Count)];
                    var (fb, mb) = files[(int)((x >> 12) % (uint)files.Count)];
                    var all = Unwrap(fa, ma).Concat(Unwrap(fb, mb)).ToList();
                    long ts = 0;
                    foreach (var f in all.Where(Signalled))
                    {
                        ts = Math.Max(ts, Ts(f));
                    }
                    var pending = all.Where(f => !Signalled(f))
                        .GroupBy(f => f.Context)
                        .OrderBy(g => g.Key)
                        .Select(g => g.Aggregate((best, f) => (int)((uint)f.Seqno - (uint)best.Seqno) > 0 ? f : best))
                        .ToList();
                    Model expected = pending.Count switch
                    {
                        0 => new Stub(ts),
                        1 => new Single(pending[0]),
                        _ => new Array(pending),
                    };
                    int fd = m.Merge(fa, fb);
                    if (fd < 0)
                    {
                        return false;
                    }
                    var real = m.FenceOf(fd);
                    bool ok = expected switch
                    {
                        Stub s => real.Context == 0 && real.Ops.GetDriverName(real) == "stub" && real.IsSignaled() && real.Timestamp() == s.Timestamp,
                        Single s => ReferenceEquals(real, s.Fence),
                        Array a => real.IsArray && DmaFenceUnwrap.ForEach(real).SequenceEqual(a.Fences, ReferenceEqualityComparer.Instance),
                        _ => false,
                    };
                    if (!ok)
                    {
                        return false;
                    }
                    files.Add((fd, expected));
                    break;
                }
            }
        }
        return m.Warnings.Count == 0;
    }
}
