using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Mm;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.Core;

public class ArmDmaMappingTests
{
    private const Gfp WcGfp = Gfp.GFP_KERNEL | Gfp.__GFP_NOWARN; // drm_gem_dma_create's dma_alloc_wc

    private sealed class Board
    {
        public readonly KernelTrace Trace = new();
        public readonly KernelTraceRecorder Rec;
        public readonly DirtyPageFrames Frames = new(125351);
        public readonly Warnings Warnings = new();
        public readonly LiveObjects Live = new();
        public readonly DmaContiguous Contiguous;
        public readonly ArmDmaMapping Dma;

        public Board()
        {
            var o = new MachineOptions().ApplyArmBoard();
            Rec = Trace.Record();
            Contiguous = new DmaContiguous(o, Trace);
            Dma = new ArmDmaMapping(o, Contiguous, Frames, Warnings, Live);
        }
    }

    [Fact]
    public void FirstBufferIsThePageAfterTheAtomicPoolWithTheLowmemAddress()
    {
        // cma_holes.jsonl i=6: the first 4096-byte object: dma_addr 2130968576 (0x7f040000), pfn 520256,
        // vaddr 3741581312 (0xdf040000 = dma_addr + 0x60000000).
        var b = new Board();
        b.Frames.Scribble(520256);
        ulong vaddr = b.Dma.AllocWc(4096, out ulong dma, WcGfp);
        Assert.Equal(2130968576UL, dma);
        Assert.Equal(3741581312UL, vaddr);
        Assert.True(b.Frames.IsZero(520256), "dma_alloc_wc memory must be zeroed (__dma_clear_buffer)");
        Assert.Equal(520256UL, b.Dma.Pa(vaddr) >> 12);
        Assert.Equal(1, b.Dma.Live);
        Assert.Equal(1, b.Live.Count("arm_dma_buffer"));
    }

    [Fact]
    public void AlignmentIsTheSizesOrderCappedAtEight()
    {
        var b = new Board();
        b.Dma.AllocWc(4096, out _, WcGfp);
        b.Rec.Drain();
        // 1 MiB + 1 byte -> 257 pages, get_order = 9 -> align 8 (1 MiB): the first 256-page boundary after
        // pages 0..64 in use is index 256 -> pfn 0x7f100.
        b.Dma.AllocWc((1 << 20) + 1, out ulong dma, WcGfp);
        Assert.Equal(0x7f100000UL, dma);
        var start = b.Rec.Drain()[0];
        Assert.Equal((257UL, 8UL), (start.U64("count"), start.U64("align")));
    }

    [Fact]
    public void NoRoomInCmaMeansNullAndTheMappingErrorHandle()
    {
        var b = new Board();
        ulong vaddr = b.Dma.AllocWc(16UL << 20, out ulong dma, WcGfp); // 4096 pages: the atomic pool is in the way
        Assert.Equal(0UL, vaddr);
        Assert.Equal(0xffffffffUL, dma);
        Assert.Equal(b.Dma.DmaMappingError, dma);
        Assert.Equal(0, b.Dma.Live);
        var ev = b.Rec.Drain();
        Assert.Equal(["cma_alloc_start", "cma_alloc_finish"], ev.Select(e => e.Op));
        Assert.Equal(-12L, ev[1].I64("ret"));
        ulong tooBig = b.Dma.AllocWc(32UL << 20, out dma, WcGfp); // larger than the area: no finish tracepoint
        Assert.Equal(0UL, tooBig);
        Assert.Equal(["cma_alloc_start"], b.Rec.Drain().Select(e => e.Op));
    }

    [Fact]
    public void FreeWcReleasesTheRangeAndUnknownAddressesWarn()
    {
        var b = new Board();
        ulong v1 = b.Dma.AllocWc(3 * 4096, out ulong d1, WcGfp);
        ulong v2 = b.Dma.AllocWc(4096, out ulong d2, WcGfp);
        b.Rec.Drain();
        b.Dma.FreeWc(3 * 4096, v1, d1);
        var rel = Assert.Single(b.Rec.Drain());
        Assert.Equal(("cma_release", d1 >> 12, 3UL), (rel.Op, rel.U64("pfn"), rel.U64("count")));
        Assert.Equal(65UL, b.Contiguous.DefaultArea!.UsedPages); // atomic pool 64 + the 1-page buffer

        b.Dma.FreeWc(4096, v1, d1); // freed twice: WARN "Freeing invalid buffer", nothing released
        Assert.Equal(1, b.Warnings.Count);
        Assert.Empty(b.Rec.Records);
        b.Dma.FreeWc(4096, v2, d2);
        Assert.Equal(64UL, b.Contiguous.DefaultArea.UsedPages);
        Assert.Equal(0, b.Live.Count());
    }

    [Fact]
    public void NonBlockingGfpIsNotModelled()
    {
        var b = new Board();
        Assert.Throws<NotSupportedException>(() => b.Dma.AllocWc(4096, out _, Gfp.GFP_NOWAIT));
    }

    [Fact]
    public void MachineWiringFollowsTheCmaOption()
    {
        using var arm = Sim.Machine.Composition.BuildMachine(new MachineOptions().ApplyArmBoard());
        Assert.NotNull(arm.GetService(typeof(ArmDmaMapping)));
        Assert.Same(((DmaContiguous)arm.GetService(typeof(DmaContiguous))!).DefaultArea, arm.GetService(typeof(Cma)));
        using var x86 = Sim.Machine.Composition.BuildMachine(new MachineOptions());
        Assert.Null(x86.GetService(typeof(Cma)));
        Assert.Null(x86.GetService(typeof(ArmDmaMapping)));
        Assert.NotNull(x86.GetService(typeof(Vmalloc)));
    }
}
