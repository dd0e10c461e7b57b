// The machine-wide state of drivers/dma-buf/dma-fence.c (Linux 6.1): the fence context counter, the stub
// fence, and what every fence needs from its machine (clock, tracepoints, WARN log, live-object accounting).
using Sim.Core;
using Sim.Core.Debug;
using Sim.Core.Locking;
using Sim.Core.Time;

namespace Sim.DmaBufs;

/// <summary>
/// <c>dma_fence_context_counter</c> and <c>dma_fence_context_alloc</c>: one 64-bit counter per machine starting
/// at 1 (context 0 is the stub's), handing out <c>num</c> consecutive contexts per call.
/// </summary>
[Kernel("dma_fence_context_counter", "drivers/dma-buf/dma-fence.c")]
public sealed class DmaFenceContextAllocator(Warnings warnings)
{
    private ulong _counter = 1;

    /// <summary>The next context that will be handed out.</summary>
    public ulong Next => _counter;

    /// <summary>
    /// <c>dma_fence_context_alloc(num)</c>: returns the first of <paramref name="num"/> new contexts
    /// (<c>WARN_ON(!num)</c> and then still returns the counter, as the kernel does).
    /// </summary>
    [Kernel("dma_fence_context_alloc", "drivers/dma-buf/dma-fence.c")]
    public ulong Alloc(uint num)
    {
        warnings.On(num == 0, "!num");
        ulong first = _counter;
        _counter += num;
        return first;
    }
}

/// <summary>
/// What dma-fence.c shares machine-wide: the context allocator, the <c>dma_fence_stub</c>, the clock that
/// stamps signals, the <c>dma_fence</c> tracepoints, the WARN log, live-object accounting and the
/// <c>reservation_ww_class</c> of dma-resv.c. Fences and reservation objects are created against it.
/// </summary>
public sealed class DmaFenceCore
{
    private static readonly DmaFenceOps s_stubOps = new()
    {
        GetDriverName = static _ => "stub",
        GetTimelineName = static _ => "stub",
    };

    private DmaFence? _stub;

    /// <summary>Creates the machine's fence core.</summary>
    public DmaFenceCore(Ktime clock, Warnings warnings, LiveObjects liveObjects, DmaFenceTrace trace, DmaFenceContextAllocator contexts, Sim.Core.Boot.MachineOptions? options = null)
    {
        Kernel = options?.Kernel ?? Sim.Core.Boot.KernelVersion.V6_1;
        Clock = clock;
        Warnings = warnings;
        LiveObjects = liveObjects;
        Trace = trace;
        Contexts = contexts;
        ReservationWwClass = new WwClass("reservation_ww_class", isWaitDie: true);
    }

    /// <summary>The simulated clock (<c>ktime_get</c>, jiffies, timers).</summary>
    public Ktime Clock { get; }

    /// <summary>The WARN log.</summary>
    public Warnings Warnings { get; }

    /// <summary>Live-object accounting: every fence registers while its refcount is above 0.</summary>
    public LiveObjects LiveObjects { get; }

    /// <summary>The <c>dma_fence</c> tracepoints.</summary>
    public DmaFenceTrace Trace { get; }

    /// <summary>The context allocator.</summary>
    public DmaFenceContextAllocator Contexts { get; }

    /// <summary>The machine's kernel profile (6.12's <c>dma_resv_reserve_fences</c> refuses 0 fences).</summary>
    public Sim.Core.Boot.KernelVersion Kernel { get; }

    /// <summary><c>reservation_ww_class</c> (<c>DEFINE_WD_CLASS</c>: wait-die).</summary>
    [Kernel("reservation_ww_class", "drivers/dma-buf/dma-resv.c")]
    public WwClass ReservationWwClass { get; }

    /// <summary><c>dma_fence_context_alloc(num)</c>.</summary>
    [Kernel("dma_fence_context_alloc", "drivers/dma-buf/dma-fence.c")]
    public ulong ContextAlloc(uint num) => Contexts.Alloc(num);

    /// <summary>
    /// <c>dma_fence_get_stub</c>: a reference to the machine's always-signalled stub fence (context 0, seqno 0),
    /// initialised and signalled on first use. It is a static kernel object, never freed and not counted as live.
    /// </summary>
    [Kernel("dma_fence_get_stub", "drivers/dma-buf/dma-fence.c")]
    public DmaFence GetStub()
    {
        if (_stub is null)
        {
            var stub = new DmaFence();
            stub.InitCore(this, s_stubOps, 0, 0, track: false);
            stub.SetFlag(DmaFence.DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT);
            stub.SignalTimestampLocked(Clock.NowNs);
            _stub = stub;
        }
        return _stub.Get();
    }

    /// <summary>
    /// <c>dma_fence_allocate_private_stub(timestamp)</c>: a new signalled fence of its own (refcount 1) with
    /// the stub's ops and the given signal timestamp.
    /// </summary>
    [Kernel("dma_fence_allocate_private_stub", "drivers/dma-buf/dma-fence.c")]
    public DmaFence AllocatePrivateStub(long timestampNs)
    {
        var fence = new DmaFence();
        fence.Init(this, s_stubOps, 0, 0);
        fence.SetFlag(DmaFence.DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT);
        fence.SignalTimestamp(timestampNs);
        return fence;
    }
}
