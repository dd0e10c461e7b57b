using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Mm;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.Core;

/// <summary>
/// The x86 physical memory map: QEMU's e820 tables (hw/i386/pc_piix.c and pc_q35.c decide what stays below the
/// PCI hole, SeaBIOS adds its reserved ranges), what Linux 6.1 never gives to the page allocator
/// (arch/x86/realmode/init.c reserve_real_mode: memblock_reserve(0, SZ_1M); arch/x86/kernel/setup.c
/// trim_bios_range), the zonelist order of get_page_from_freelist and the first frames a fresh boot hands out
/// (data/traces/linux-6.1-sg).
/// </summary>
public class X86MemoryMapTests
{
    private static PageAlloc Boot(string options)
    {
        var o = new MachineOptions().Apply(options, strict: true);
        var sp = Composition.BuildMachine(o);
        return sp.GetRequiredService<PageAlloc>();
    }

    [Fact]
    public void Pc_with_1_GiB_keeps_all_ram_below_the_pci_hole()
    {
        // pc_piix: below 3.5 GiB everything stays below 4 GiB. SeaBIOS: EBDA at 0x9fc00, BIOS segment, its
        // 128 KiB table area at the top of RAM, the BIOS ROM below 4 GiB.
        var t = E820Table.ForQemu("pc", 1UL << 30);
        Assert.Equal(
        [
            "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
            "BIOS-e820: [mem 0x000000000009fc00-0x000000000009ffff] reserved",
            "BIOS-e820: [mem 0x00000000000f0000-0x00000000000fffff] reserved",
            "BIOS-e820: [mem 0x0000000000100000-0x000000003ffdffff] usable",
            "BIOS-e820: [mem 0x000000003ffe0000-0x000000003fffffff] reserved",
            "BIOS-e820: [mem 0x00000000fffc0000-0x00000000ffffffff] reserved",
        ], t.Entries.Select(e => e.ToString()));
        Assert.Equal(1UL << 30, t.EndOfRam);
    }

    [Theory]
    // q35: from 0xb0000000 (2.75 GiB) on, 2 GiB stay below 4 GiB and the rest moves to 4 GiB.
    [InlineData("q35", 0xa0000000UL, 0xa0000000UL, 0UL)]
    [InlineData("q35", 0xb0000000UL, 0x80000000UL, 0x30000000UL)]
    [InlineData("q35", 4UL << 30, 0x80000000UL, 2UL << 30)]
    // pc: from 0xe0000000 (3.5 GiB) on, 3 GiB stay below (gigabyte_align).
    [InlineData("pc", 0xd0000000UL, 0xd0000000UL, 0UL)]
    [InlineData("pc", 0xe0000000UL, 0xc0000000UL, 0x20000000UL)]
    [InlineData("pc", 4UL << 30, 0xc0000000UL, 1UL << 30)]
    public void Ram_that_does_not_fit_below_the_hole_is_relocated_to_4_GiB(string machine, ulong ram, ulong below, ulong above)
    {
        var t = E820Table.ForQemu(machine, ram);
        Assert.Equal((below, above), (t.BelowFourG, t.AboveFourG));
        Assert.Equal(above > 0 ? (1UL << 32) + above : below, t.EndOfRam);
        // e820 RAM = QEMU's RAM minus SeaBIOS's EBDA (1 KiB), the 640 KiB-1 MiB VGA/ROM window and its table area.
        Assert.Equal(ram, t.Entries.Where(e => e.Type == E820Type.Ram).Aggregate(0UL, (s, e) => s + e.Size) + 0x400 + 0x60000 + (machine == "q35" ? 0x24000UL : 0x20000UL));
    }

    [Theory]
    // The 6.1 sg captures (q35, 512 MiB): i=1 alloc_pages(order 9) and i=2 alloc_page x64 of a fresh boot.
    [InlineData("dma-direct", 26112UL, 25646UL, 25647UL)]
    [InlineData("swiotlb=force", 26112UL, 25838UL, 25839UL)]
    [InlineData("iommu=on", 27648UL, 27178UL, 27179UL)]
    public void A_fresh_boot_hands_out_the_captured_first_frames(string path, ulong block, ulong first, ulong second)
    {
        var a = Boot($"machine=q35 mem=512M {(path == "dma-direct" ? "" : path)}");
        Assert.Equal(0, a.AllocPages(Gfp.GFP_KERNEL, 9, out ulong b));
        Assert.Equal(block, b);
        Assert.Equal(0, a.AllocPage(Gfp.GFP_KERNEL, out ulong p1));
        Assert.Equal(0, a.AllocPage(Gfp.GFP_KERNEL, out ulong p2));
        Assert.Equal((first, second), (p1, p2));
    }

    [Fact]
    public void The_first_MiB_and_reserved_ranges_are_never_handed_out_and_zone_dma_comes_last()
    {
        var a = Boot("machine=pc mem=64M");
        var got = new List<ulong>();
        while (a.AllocPage(Gfp.GFP_KERNEL, out ulong pfn) == 0)
        {
            got.Add(pfn);
        }
        // reserve_real_mode: nothing below 1 MiB (pfn 256); e820: nothing in SeaBIOS's table area
        // [0x3fe0000, 0x4000000) at the top of 64 MiB.
        Assert.DoesNotContain(got, p => p < 256 || p >= 0x3fe0);
        // GFP_KERNEL walks the zonelist DMA32 before DMA: every frame at or above 16 MiB comes before any below.
        int firstDma = got.FindIndex(p => p < 4096);
        Assert.True(firstDma > 0);
        Assert.All(got.Take(firstDma), p => Assert.True(p >= 4096));
        Assert.All(got.Skip(firstDma), p => Assert.True(p < 4096));
        Assert.Equal(4096 - 256, got.Count - firstDma); // all of ZONE_DMA above 1 MiB
    }

    [Fact]
    public void Above_4_GiB_zone_normal_is_used_first_and_the_hole_never()
    {
        var a = Boot("machine=q35 mem=4G");
        Assert.Equal(0, a.AllocPage(Gfp.GFP_KERNEL, out ulong normal));
        Assert.Equal(1UL << 20, normal); // ZONE_NORMAL starts at 4 GiB (pfn 0x100000)
        Assert.Equal(0, a.AllocPage(Gfp.GFP_KERNEL | Gfp.__GFP_DMA32, out ulong dma32));
        Assert.InRange(dma32, 4096UL, 0x7ffdbUL); // below the hole, below q35's table area at 0x7ffdc000
        Assert.Equal(-(int)Sim.Core.Uapi.Errno.EBUSY, a.AllocExact(0x90000, 0)); // in the PCI hole
    }

    [Fact]
    public void Replay_may_adopt_frames_the_modelled_boot_holds_but_not_the_first_MiB()
    {
        // dmabuf_vgem_seed21_iommu.jsonl's buffer_pfns start at 9388: that boot had those frames free.
        var a = Boot("machine=q35 mem=512M iommu=on");
        Assert.Equal(0, a.AllocExact(9388, 0));
        a.FreePage(9388);
        Assert.Equal(0, a.AllocExact(9388, 0));
        Assert.Equal(-(int)Sim.Core.Uapi.Errno.EBUSY, a.AllocExact(100, 0));
        // dmabuf_vgem_seed21_direct.jsonl's buffer_pfns reach 130803, in the last partial MAX_ORDER block below
        // q35's table area (RAM ends at pfn 0x1ffdc = 131036): memblock's top-down allocations left it free there.
        var d = Boot("machine=q35 mem=512M");
        Assert.Equal(0, d.AllocExact(130803, 0));
        Assert.Equal(-(int)Sim.Core.Uapi.Errno.EBUSY, d.AllocExact(131036, 0)); // SeaBIOS's table area
    }
}
