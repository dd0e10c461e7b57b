// Models arch/x86/kernel/e820.c (Linux 6.1): the firmware memory map an x86 kernel boots with, as QEMU 7.2's
// pc (i440fx) and q35 machines with SeaBIOS present it, and what setup_arch keeps of it for memblock.
namespace Sim.Core.Boot;

/// <summary><c>enum e820_type</c> (the two the QEMU machines report).</summary>
public enum E820Type
{
    /// <summary>E820_TYPE_RAM ("usable").</summary>
    Ram = 1,

    /// <summary>E820_TYPE_RESERVED ("reserved").</summary>
    Reserved = 2,
}

/// <summary><c>struct e820_entry</c>: [<see cref="Addr"/>, <see cref="Addr"/> + <see cref="Size"/>).</summary>
public readonly record struct E820Entry(ulong Addr, ulong Size, E820Type Type)
{
    /// <summary>One past the last byte.</summary>
    public ulong End => Addr + Size;

    /// <summary>The kernel's boot-log line: <c>BIOS-e820: [mem 0x...-0x...] usable</c>.</summary>
    public override string ToString() => $"BIOS-e820: [mem 0x{Addr:x16}-0x{End - 1:x16}] {(Type == E820Type.Ram ? "usable" : "reserved")}";
}

/// <summary>
/// <c>struct e820_table</c> of a QEMU x86 machine. Where RAM goes is QEMU's board code: RAM that does not fit below
/// the PCI hole is relocated to 4 GiB. <c>pc</c> (hw/i386/pc_piix.c): with 3.5 GiB (0xe0000000) or more, 3 GiB stay
/// below 4 GiB (gigabyte_align), else all of it. <c>q35</c> (hw/i386/pc_q35.c): with 2.75 GiB (0xb0000000) or more,
/// 2 GiB stay below 4 GiB, else all of it (the MMCONFIG window sits at 0xb0000000). SeaBIOS then reports the
/// 640 KiB base memory minus its 1 KiB EBDA (0x9fc00), the BIOS segment 0xf0000-0xfffff and the 256 KiB BIOS
/// ROM below 4 GiB as reserved, and keeps its own tables (ACPI, SMBIOS, ...) in a reserved range at the top of
/// the RAM below 4 GiB: the boot logs of QEMU 7.2 guests show 128 KiB there on pc (usable up to 0x..ffdffff)
/// and 144 KiB on q35 (up to 0x..ffdbfff); q35 also reserves its MMCONFIG window. (No boot log of the bundled
/// captures gives the table: these sizes are what SeaBIOS 1.16's tables take, not a QEMU constant.)
/// </summary>
[Kernel("struct e820_table", "arch/x86/include/asm/e820/types.h")]
public sealed class E820Table
{
    private const ulong FourG = 1UL << 32;

    private E820Table(string machine, ulong ramBytes, List<E820Entry> entries, ulong below, ulong above)
    {
        Machine = machine;
        RamBytes = ramBytes;
        Entries = entries;
        BelowFourG = below;
        AboveFourG = above;
    }

    /// <summary>The QEMU machine type (<c>pc</c> or <c>q35</c>).</summary>
    public string Machine { get; }

    /// <summary>RAM given to QEMU (<c>-m</c>).</summary>
    public ulong RamBytes { get; }

    /// <summary>The entries in address order, as the kernel prints them (<c>e820__print_table("BIOS-e820")</c>).</summary>
    public IReadOnlyList<E820Entry> Entries { get; }

    /// <summary>RAM below 4 GiB (<c>below_4g_mem_size</c>).</summary>
    public ulong BelowFourG { get; }

    /// <summary>RAM relocated to 4 GiB (<c>above_4g_mem_size</c>).</summary>
    public ulong AboveFourG { get; }

    /// <summary>One past the last byte of RAM (<c>max_pfn</c> &lt;&lt; PAGE_SHIFT).</summary>
    public ulong EndOfRam => AboveFourG > 0 ? FourG + AboveFourG : BelowFourG;

    /// <summary>One past the last usable byte below 4 GiB (where top-down memblock allocations below 4 GiB start).</summary>
    public ulong LowRamEnd => Entries.Where(e => e.Type == E820Type.Ram && e.End <= FourG).Max(e => e.End);

    /// <summary>The table of QEMU machine <paramref name="machine"/> with <paramref name="ramBytes"/> of RAM.</summary>
    public static E820Table ForQemu(string machine, ulong ramBytes)
    {
        bool q35 = machine == "q35";
        ulong lowmem = q35 ? (ramBytes >= 0xb0000000UL ? 0x80000000UL : 0xb0000000UL)
                           : (ramBytes >= 0xe0000000UL ? 0xc0000000UL : 0xe0000000UL);
        ulong below = Math.Min(ramBytes, lowmem);
        ulong above = ramBytes - below;
        ulong highTable = q35 ? 0x24000UL : 0x20000UL;
        var e = new List<E820Entry>
        {
            new(0, 0x9fc00, E820Type.Ram),
            new(0x9fc00, 0x400, E820Type.Reserved),
            new(0xf0000, 0x10000, E820Type.Reserved),
        };
        if (below > 0x100000 + highTable)
        {
            e.Add(new(0x100000, below - highTable - 0x100000, E820Type.Ram));
            e.Add(new(below - highTable, highTable, E820Type.Reserved));
        }
        if (q35)
        {
            e.Add(new(0xb0000000, 0x10000000, E820Type.Reserved));
        }
        e.Add(new(0xfffc0000, 0x40000, E820Type.Reserved));
        if (above > 0)
        {
            e.Add(new(FourG, above, E820Type.Ram));
        }
        return new E820Table(q35 ? "q35" : "pc", ramBytes, e, below, above);
    }

    /// <summary>The table of an x86 machine described by <paramref name="options"/>.</summary>
    public static E820Table For(MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ForQemu(options.QemuMachine, options.RamBytes);
    }

    /// <summary>
    /// The page frame ranges Linux 6.1 never gives to the buddy allocator, as [start, end) pfns: everything that
    /// is not e820 RAM (holes, reserved entries, the PCI hole), widened by setup_arch's own rules:
    /// <c>trim_bios_range</c> (page 0 becomes reserved; 640 KiB-1 MiB is removed from RAM) and
    /// <c>reserve_real_mode</c> ("Unconditionally reserve the entire first 1M": <c>memblock_reserve(0, SZ_1M)</c>),
    /// so no frame below 1 MiB is ever handed out.
    /// </summary>
    [Kernel("e820__memblock_setup", "arch/x86/kernel/e820.c")]
    public IEnumerable<(ulong StartPfn, ulong EndPfn)> NeverFreedPfns()
    {
        yield return (0, 0x100000 >> 12);
        ulong at = 0x100000;
        foreach (var r in Entries.Where(x => x.Type == E820Type.Ram && x.End > 0x100000).OrderBy(x => x.Addr))
        {
            // memblock_trim_memory(PAGE_SIZE): RAM entries lose their partial pages.
            ulong s = Math.Max(r.Addr, 0x100000UL), startPfn = (s + 4095) >> 12, endPfn = r.End >> 12;
            if ((at >> 12) < startPfn)
            {
                yield return (at >> 12, startPfn);
            }
            at = endPfn << 12;
        }
        if (at < EndOfRam)
        {
            yield return (at >> 12, EndOfRam >> 12);
        }
    }
}
