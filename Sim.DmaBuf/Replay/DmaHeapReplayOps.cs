// Replay of the DMA-BUF heap and udmabuf ioctls (drivers/dma-buf/dma-heap.c, drivers/dma-buf/udmabuf.c) as the
// realkernel agent and the tracer log them: DMA_HEAP_IOCTL_ALLOC, UDMABUF_CREATE, UDMABUF_CREATE_LIST.
using System.Buffers.Binary;
using System.Text.Json;
using Sim.Core.Fs;
using Sim.Core.Replay;
using Sim.DmaBufs.Uapi;

namespace Sim.DmaBufs.Replay;

/// <summary>
/// The heap and udmabuf replay handlers: each event's struct is rebuilt from its <c>args</c> and passed to the fd's
/// ioctl in the traced process; the result's <c>fd</c> (DMA_HEAP_IOCTL_ALLOC's output field) is compared. Taking the
/// heaps and udmabuf as dependencies runs their initcalls (as <c>Composition.Boot</c> does): a replayed machine has
/// <c>/dev/dma_heap/*</c> and <c>/dev/udmabuf</c> when its options configure them.
/// </summary>
/// <param name="core">dma_heap_init.</param>
/// <param name="system">The system heap's module_init.</param>
/// <param name="cma">The CMA heap's module_init.</param>
/// <param name="udmabuf">udmabuf_dev_init.</param>
public sealed class DmaHeapReplayOps(DmaHeapCore core, Heaps.SystemHeap system, Heaps.CmaHeap cma, Udmabuf udmabuf) : IReplayOpProvider
{
    // Kept so the initcalls' objects are visibly the provider's dependencies.
    private readonly object[] _booted = [core, system, cma, udmabuf];

    /// <summary>The devices registered at boot (dma_heap core, system and CMA heaps, udmabuf).</summary>
    public int Booted => _booted.Length;

    /// <inheritdoc/>
    public void Register(ReplayOpTable table)
    {
        table.Add("DMA_HEAP_IOCTL_ALLOC", Alloc)
            .Add("UDMABUF_CREATE", Create)
            .Add("UDMABUF_CREATE_LIST", CreateList);
    }

    // A number of the list (values of 2^53 and more are decimal strings in the trace format).
    private static ulong U64(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var e) && TraceNumber.TryGetU64(e, out ulong v) ? v : 0;

    private static int FdOf(TraceEvent ev) => (int)(ev.Fd ?? ev.ArgI64("on", -1));

    // struct dma_heap_allocation_data { u64 len; u32 fd; u32 fd_flags; u64 heap_flags; }: fd is written back on success.
    private static void Alloc(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var buf = DmaHeapUapi.Alloc(ev.ArgU64("len"), (uint)ev.ArgU64("fd_flags"), ev.ArgU64("heap_flags"), (uint)ev.ArgU64("fd", 0));
        check.Ret(ctx.Syscalls.Ioctl(ctx.RunsProcess(), FdOf(ev), (uint)(ev.Request ?? DmaHeapUapi.DMA_HEAP_IOCTL_ALLOC), new UserArg(0x7ffd0000, buf)));
        check.ResultU64("fd", BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(8)));
    }

    // struct udmabuf_create { u32 memfd; u32 flags; u64 offset; u64 size; }
    private static void Create(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        var buf = new udmabuf_create
        {
            memfd = (uint)ev.ArgU64("memfd"),
            flags = (uint)ev.ArgU64("flags"),
            offset = ev.ArgU64("offset"),
            size = ev.ArgU64("size"),
        }.ToBytes();
        check.Ret(ctx.Syscalls.Ioctl(ctx.RunsProcess(), FdOf(ev), (uint)(ev.Request ?? UdmabufUapi.UDMABUF_CREATE), new UserArg(0x7ffd0000, buf)));
    }

    // struct udmabuf_create_list { u32 flags; u32 count; struct udmabuf_create_item list[]; }: the logged items, then
    // zeroed ones up to count (the agent passes a zeroed array of 2048 items; the kernel reads count of them when
    // count <= list_limit).
    private static void CreateList(ReplaySession ctx, TraceEvent ev, ReplayCheck check)
    {
        uint count = (uint)ev.ArgU64("count");
        var items = new List<(uint, ulong, ulong)>();
        if (ev.Args.TryGetProperty("list", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var it in list.EnumerateArray())
            {
                items.Add(((uint)U64(it, "memfd"), U64(it, "offset"), U64(it, "size")));
            }
        }
        int n = (int)Math.Min(Math.Max(count, (uint)items.Count), 2048);
        while (items.Count < n)
        {
            items.Add((0, 0, 0));
        }
        var buf = UdmabufUapi.CreateList((uint)ev.ArgU64("flags"), [.. items]);
        BinaryPrimitives.WriteUInt32LittleEndian(buf.AsSpan(4), count);
        check.Ret(ctx.Syscalls.Ioctl(ctx.RunsProcess(), FdOf(ev), (uint)(ev.Request ?? UdmabufUapi.UDMABUF_CREATE_LIST), new UserArg(0x7ffd0000, buf)));
    }
}
