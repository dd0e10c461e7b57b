using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Mm;
using Sim.Core.Time;
using Sim.Tests.Infrastructure;
using Xunit;

namespace Sim.Tests.Core;

public class VmallocTests
{
    // The x86_64 kvmfr guest: totalram 262014 pages (traces README, kvmfr load errors).
    private sealed class Machine
    {
        public readonly DirtyPageFrames Frames;
        public readonly Warnings Warnings = new();
        public readonly LiveObjects Live = new();
        public readonly Ktime Clock = new(250);
        public readonly Vmalloc Vm;
        public readonly List<string> Log = [];

        public Machine(ulong totalRam = 262014, ulong limit = ulong.MaxValue, MachineOptions? o = null)
        {
            Frames = new DirtyPageFrames(totalRam, limit);
            Vm = new Vmalloc(o ?? new MachineOptions(), Frames, Warnings, Live, Clock);
            Vm.Printk = (level, text) => Log.Add($"<{level}>{text}");
        }
    }

    [Fact]
    public void VmallocUserIsZeroedPageGranularAndGuarded()
    {
        var m = new Machine();
        ulong addr = m.Vm.VmallocUser(5000); // 2 pages
        Assert.NotEqual(0UL, addr);
        Assert.Equal(0UL, addr & 4095);
        var area = m.Vm.FindVmArea(addr)!;
        Assert.Equal(2, area.NrPages);
        Assert.Equal(3 * 4096UL, area.Size);          // guard page included
        Assert.Equal(2 * 4096UL, area.GetVmAreaSize());
        Assert.Equal(Vmalloc.VM_ALLOC | Vmalloc.VM_USERMAP, area.Flags);
        Assert.All(area.Pages, p => Assert.True(m.Frames.IsZero(p), $"page 0x{p:x} not zeroed"));
        Assert.Equal(area.Pages[0], m.Vm.VmallocToPage(addr));
        Assert.Equal(area.Pages[1], m.Vm.VmallocToPage(addr + 4096 + 17));
        Assert.Null(m.Vm.VmallocToPage(addr + 2 * 4096)); // the guard page has no page
        Assert.Null(m.Vm.VmallocToPage(addr - 1));
        Assert.NotEqual(area.Pages[0] + 1, area.Pages[1]); // frames need not be contiguous (this source never is)
        Assert.Equal(1, m.Live.Count("vm_struct"));
    }

    [Fact]
    public void VfreeReturnsEveryPageAndTheAddressRange()
    {
        var m = new Machine();
        ulong a = m.Vm.VmallocUser(3 * 4096);
        ulong b = m.Vm.VmallocUser(4096);
        Assert.Equal(4, m.Frames.Allocated);
        Assert.Equal(a + 4 * 4096, b); // lowest fit after a's 3 pages + guard
        m.Vm.Vfree(a);
        Assert.Equal(1, m.Frames.Allocated);
        Assert.Null(m.Vm.FindVmArea(a));
        Assert.Equal(a, m.Vm.VmallocUser(2 * 4096)); // the hole is reused
        m.Vm.Vfree(0); // NULL: nothing
        Assert.Equal(0, m.Warnings.Count);
        m.Vm.Vfree(b + 1);
        m.Vm.Vfree(b + (64UL << 20));
        Assert.Equal(["Trying to vfree() bad address (0x" + (b + 1).ToString("x") + ")", "Trying to vfree() nonexistent vm area (0x" + (b + (64UL << 20)).ToString("x") + ")"],
            m.Warnings.Records.Select(r => r.Condition));
        m.Vm.Vfree(b);
        m.Vm.Vfree(a);
        Assert.Equal(0, m.Frames.Allocated);
        Assert.Equal(0, m.Live.Count());
    }

    [Fact]
    public void MoreThanTotalRamFailsWithTheKernelsWarnAllocText()
    {
        // kvmfr-load-errors.jsonl i=2: static_size_mb=2048 computed in int -> 0xFFFFFFFF80000000 bytes.
        var m = new Machine();
        Assert.Equal(0UL, m.Vm.VmallocUser(18446744071562067968UL));
        Assert.Equal(["<4>vmalloc error: size 18446744071562067968, exceeds total pages, mode:0xdc0(GFP_KERNEL|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0"], m.Log);
        // 1536 MiB (393216 pages > 262014) fails the same way, but warn_alloc is rate-limited (10 s, burst 1).
        Assert.Equal(0UL, m.Vm.VmallocUser(1536UL << 20));
        Assert.Single(m.Log);
        m.Clock.AdvanceNs(11_000_000_000);
        Assert.Equal(0UL, m.Vm.VmallocUser(1536UL << 20));
        Assert.Equal(2, m.Log.Count);
        Assert.Equal(0, m.Frames.Allocated);
        // Exactly totalram pages is not "more than": it is attempted.
        Assert.NotEqual(0UL, new Machine(totalRam: 16).Vm.VmallocUser(16 * 4096));
    }

    [Fact]
    public void ZeroSizeWarnsOnce()
    {
        var m = new Machine();
        Assert.Equal(0UL, m.Vm.VmallocUser(0));
        Assert.Equal(0UL, m.Vm.VmallocUser(0));
        Assert.Single(m.Warnings.Records);
        Assert.Empty(m.Log);
    }

    [Fact]
    public void FrameShortageUndoesEverything()
    {
        var m = new Machine(limit: 3); // the kernel reports area->nr_pages * PAGE_SIZE: the 3 pages it got
        Assert.Equal(0UL, m.Vm.VmallocUser(4 * 4096));
        Assert.Equal(0, m.Frames.Allocated);
        Assert.Empty(m.Vm.Areas);
        Assert.Equal(["<4>vmalloc error: size 12288, page order 0, failed to allocate pages, mode:0xdc0(GFP_KERNEL|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0"], m.Log);
    }

    [Fact]
    public void RemapVmallocRangeInsertsPageAfterPageAndChecksLikeTheKernel()
    {
        var m = new Machine();
        ulong k = m.Vm.VmallocUser(4 * 4096);
        var pages = m.Vm.FindVmArea(k)!.Pages;
        var inserted = new List<(ulong, ulong)>();
        int Insert(ulong u, ulong pfn)
        {
            inserted.Add((u, pfn));
            return 0;
        }
        const ulong U = 0x7f0000000000;
        Assert.Equal(0, m.Vm.RemapVmallocRange(U, U + 2 * 4096, k, 1, Insert));
        Assert.Equal([(U, pages[1]), (U + 4096, pages[2])], inserted);
        Assert.Equal(0, m.Vm.RemapVmallocRange(U, U + 4 * 4096, k, 0, Insert)); // the whole buffer

        Assert.Equal(-22, m.Vm.RemapVmallocRange(U, U + 2 * 4096, k, 3, Insert));      // pgoff 3 + 2 pages > 4
        Assert.Equal(-22, m.Vm.RemapVmallocRange(U, U + 5 * 4096, k, 0, Insert));      // larger than the area
        Assert.Equal(-22, m.Vm.RemapVmallocRange(U + 1, U + 4097, k, 0, Insert));      // unaligned uaddr
        Assert.Equal(-22, m.Vm.RemapVmallocRange(U, U + 4096, k + 8, 0, Insert));      // unaligned kaddr
        Assert.Equal(-22, m.Vm.RemapVmallocRange(U, U + 4096, k + (1UL << 30), 0, Insert)); // no area there
        Assert.Equal(-22, m.Vm.RemapVmallocRange(U, U + 4096, k, 1UL << 60, Insert));  // pgoff << PAGE_SHIFT overflows
        ulong plain = m.Vm.VmallocNodeRange(4096, 4096, Gfp.GFP_KERNEL, 0);        // vmalloc(): no VM_USERMAP
        Assert.Equal(-22, m.Vm.RemapVmallocRange(U, U + 4096, plain, 0, Insert));
        Assert.Equal(-14, m.Vm.RemapVmallocRange(U, U + 4096, k, 0, (_, _) => -14));   // vm_insert_page's error
    }

    [Fact]
    public void ArmVmallocSpaceStartsAboveLowmem()
    {
        // 512 MiB lowmem from 0xC0000000: high_memory 0xE0000000, + 8 MiB offset -> 0xE0800000; the span to
        // 0xff800000 is the board's VmallocTotal 507904 kB (raw/cma_exhaust.raw.txt).
        var m = new Machine(o: new MachineOptions().ApplyArmBoard());
        Assert.Equal(0xE0800000UL, m.Vm.VmallocStart);
        Assert.Equal(507904UL * 1024, m.Vm.VmallocEnd - m.Vm.VmallocStart);
        ulong a = m.Vm.VmallocUser(4096);
        ulong b = m.Vm.VmallocUser(4096);
        Assert.Equal(0xE0800000UL, a);
        Assert.Equal(a + 4 * 4096, b); // SHMLBA = 4 pages on ARM
    }

    [Fact]
    public void TheMachinesVmallocReportsThroughItsWarnAndWarnAlloc()
    {
        // kvmfr-load-errors i=2 and i=7: the warn_alloc line carries current's comm, then dump_stack and Mem-Info;
        // the zero-size WARN_ON_ONCE prints the cut-here report once per boot and taints W.
        using var sp = Sim.Machine.Composition.BuildMachine(new MachineOptions());
        var vm = (Vmalloc)sp.GetService(typeof(Vmalloc))!;
        var printk = (Sim.Core.Kernel.Printk)sp.GetService(typeof(Sim.Core.Kernel.Printk))!;
        var current = (Sim.Core.Kernel.CurrentTask)sp.GetService(typeof(Sim.Core.Kernel.CurrentTask))!;
        var taint = (Sim.Core.Kernel.Taint)sp.GetService(typeof(Sim.Core.Kernel.Taint))!;
        using (current.Enter(224, "insmod"))
        {
            Assert.Equal(0UL, vm.VmallocUser(18446744071562067968UL));
            Assert.Equal(0UL, vm.VmallocUser(1536UL << 20)); // rate-limited: nothing more
        }
        var lines = printk.ReadClear();
        Assert.Equal(new Sim.Core.Kernel.LogRecord(4, "insmod: vmalloc error: size 18446744071562067968, exceeds total pages, mode:0xdc0(GFP_KERNEL|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0"), lines[0]);
        Assert.StartsWith("CPU: 0 PID: 224 Comm: insmod ", lines[1].Text, StringComparison.Ordinal);
        Assert.Equal(new Sim.Core.Kernel.LogRecord(4, "Mem-Info:"), lines[^1]);
        Assert.Single(lines, l => l.Text.Contains("vmalloc error", StringComparison.Ordinal));

        Assert.False(taint.Test(Sim.Core.Kernel.Taint.TAINT_WARN));
        using (current.Enter(225, "insmod"))
        {
            Assert.Equal(0UL, vm.VmallocUser(0));
            Assert.Equal(0UL, vm.VmallocUser(0));
        }
        lines = printk.ReadClear();
        Assert.Equal("------------[ cut here ]------------", lines[0].Text);
        Assert.StartsWith("WARNING: CPU: 0 PID: 225 at mm/vmalloc.c:3227 __vmalloc_node_range+", lines[1].Text, StringComparison.Ordinal);
        Assert.Single(lines, l => l.Text.StartsWith("WARNING:", StringComparison.Ordinal));
        Assert.True(taint.Test(Sim.Core.Kernel.Taint.TAINT_WARN));
        Assert.Empty(vm.Areas);
    }
}
