using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Dma;
using Sim.Core.Lib;
using Sim.Core.Uapi;
using Xunit;

namespace Sim.Tests.Core;

public class DmaMappingTests
{
    private static (ServiceProvider Machine, DmaMapping Dma, Device Dev) Machine(DmaPath path, ulong? swiotlbBase = null)
    {
        var o = new MachineOptions { RamBytes = 512UL << 20, DmaPath = path, SwiotlbBase = swiotlbBase };
        var m = Composition.BuildMachine(o);
        var dma = m.GetRequiredService<DmaMapping>();
        return (m, dma, dma.CreateDevice("0000:00:01.0"));
    }

    private static SgTable Table(params (ulong Pfn, uint Offset, uint Length)[] entries)
    {
        var t = new SgTable();
        Assert.Equal(0, SgTable.Alloc(t, entries.Length));
        int k = 0;
        foreach (var c in t.Sgs())
        {
            t.At(c).SetPage(entries[k].Pfn, entries[k].Length, entries[k].Offset);
            k++;
        }
        return t;
    }

    private static List<Scatterlist> All(SgTable t)
    {
        var r = new List<Scatterlist>();
        foreach (var c in t.Sgs())
        {
            r.Add(t.At(c));
        }
        return r;
    }

    private static (ulong, uint, uint)[] RandomEntries(int seed, int n, uint maxPages)
    {
        var rng = new Random(seed);
        var e = new (ulong, uint, uint)[n];
        for (int k = 0; k < n; k++)
        {
            uint off = rng.Next(3) == 0 ? (uint)rng.Next(4096) : 0;
            uint len = (uint)rng.Next(1, (int)(maxPages * 4096 - off) + 1);
            e[k] = ((ulong)rng.Next(0x6000, 0x1f000), off, len);
        }
        return e;
    }

    [Property(MaxTest = 50)]
    public Property DirectIsTheIdentityAndNeverMerges(PositiveInt n, int seed)
    {
        var (m, dma, dev) = Machine(DmaPath.Direct);
        using var _ = m;
        var entries = RandomEntries(seed, 1 + n.Get % 300, 600);
        var t = Table(entries);
        bool ok = dma.MapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL) == 0 && t.Nents == t.OrigNents;
        foreach (var s in All(t))
        {
            ok &= s.DmaAddress == s.Pfn * 4096 + s.Offset && s.DmaLength == s.Length;
        }
        DmaMapping.UnmapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL);
        return ok.ToProperty();
    }

    [Property(MaxTest = 50)]
    public Property IommuSegmentsNeverCrossTheBoundary(PositiveInt n, int seed, bool smallBoundary)
    {
        var (m, dma, dev) = Machine(DmaPath.Iommu);
        using var _ = m;
        ulong boundary = smallBoundary ? 0xffffUL : 0xfffffUL;
        uint maxSeg = smallBoundary ? 16384u : uint.MaxValue;
        Assert.Equal(0, DmaMapping.SetSegBoundary(dev, boundary));
        Assert.Equal(0, DmaMapping.SetMaxSegSize(dev, maxSeg));
        // Entries no longer than a boundary window (a longer one crosses whatever the padding does).
        var entries = RandomEntries(seed, 1 + n.Get % 200, (uint)((boundary + 1) / 4096));
        for (int k = 0; k < entries.Length; k++)
        {
            if (entries[k].Item2 + entries[k].Item3 > boundary + 1)
            {
                entries[k].Item3 = (uint)(boundary + 1) - entries[k].Item2;
            }
        }
        var t = Table(entries);
        bool ok = dma.MapSgtable(dev, t, DmaDataDirection.DMA_TO_DEVICE) == 0;
        var all = All(t);
        ulong total = 0;
        for (int k = 0; k < all.Count; k++)
        {
            var s = all[k];
            ok &= s.Offset == entries[k].Item2 && s.Length == entries[k].Item3;
            if (k >= t.Nents)
            {
                ok &= s.DmaAddress == DmaAttrs.DMA_MAPPING_ERROR && s.DmaLength == 0;
                continue;
            }
            total += s.DmaLength;
            ulong first = s.DmaAddress & ~boundary, last = (s.DmaAddress + s.DmaLength - 1) & ~boundary;
            ok &= first == last;
        }
        ulong cpuTotal = 0;
        foreach (var e in entries)
        {
            cpuTotal += e.Item3;
        }
        DmaMapping.UnmapSgtable(dev, t, DmaDataDirection.DMA_TO_DEVICE);
        return (ok && total == cpuTotal && dev.Domain!.Iovad.Count == 0 && dev.Domain.MappedPages == 0).ToProperty();
    }

    [Fact]
    public void IommuMergesPageAlignedEntriesAndMarksTheRestUnused()
    {
        // dma_map_seed11_iommu i=14: two 4 KiB pages (not contiguous) under max_segment 64 KiB -> one 8 KiB segment.
        var (m, dma, dev) = Machine(DmaPath.Iommu);
        using var _ = m;
        var t = Table((27242, 0, 4096), (27245, 0, 4096));
        Assert.Equal(0, dma.MapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL));
        Assert.Equal(1, t.Nents);
        var all = All(t);
        Assert.Equal(8192u, all[0].DmaLength);
        Assert.Equal(DmaAttrs.DMA_MAPPING_ERROR, all[1].DmaAddress);
        Assert.Equal(0u, all[1].DmaLength);
        Assert.Equal(27245UL * 4096, dev.Domain!.IovaToPhys(all[0].DmaAddress + 4096));
    }

    [Fact]
    public void IommuUnsignedWrapLetsAnOverlongSegmentKeepGrowing()
    {
        // A 128 KiB entry is already longer than max_segment_size 64 KiB; (u32)(65536 - 131072) is huge, so the
        // following page-aligned 4 KiB entry still joins: one segment of 135168 bytes.
        var (m, dma, dev) = Machine(DmaPath.Iommu);
        using var _ = m;
        var t = Table((0x8000, 0, 131072), (0x9000, 0, 4096));
        Assert.Equal(0, dma.MapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL));
        Assert.Equal(1, t.Nents);
        Assert.Equal(135168u, All(t)[0].DmaLength);
    }

    [Fact]
    public void IommuOffsetEntryStartsANewSegmentAtItsInPageOffset()
    {
        var (m, dma, dev) = Machine(DmaPath.Iommu);
        using var _ = m;
        var t = Table((0x8000, 0, 4096), (0x9000, 100, 1000), (0xa000, 0, 4096));
        Assert.Equal(0, dma.MapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL));
        var all = All(t);
        // Entry 1 has an offset (new segment at IOVA base + 4096 + 100); it does not fill its page, so entry 2
        // starts a third segment at base + 8192.
        Assert.Equal(3, t.Nents);
        ulong b = all[0].DmaAddress;
        Assert.Equal((b + 4196, 1000u), (all[1].DmaAddress, all[1].DmaLength));
        Assert.Equal((b + 8192, 4096u), (all[2].DmaAddress, all[2].DmaLength));
    }

    [Fact]
    public void DirectWith24BitMaskIsEioAboveSixteenMegabytes()
    {
        var (m, dma, dev) = Machine(DmaPath.Direct);
        using var _ = m;
        Assert.Equal(0, dma.SetMask(dev, DmaAttrs.DMA_BIT_MASK(24)));
        var t = Table((0x100, 0, 4096), (0x6600, 0, 4096));
        Assert.Equal(-(int)Errno.EIO, dma.MapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL));
        // Below 16 MiB it maps.
        var low = Table((0x100, 0, 4096));
        Assert.Equal(0, dma.MapSgtable(dev, low, DmaDataDirection.DMA_BIDIRECTIONAL));
        Assert.Equal(0x100000UL, All(low)[0].DmaAddress);
    }

    [Fact]
    public void DmaSetMaskBelowZoneDmaIsEioAndMissingParmsIsEio()
    {
        var (m, dma, dev) = Machine(DmaPath.Direct);
        using var _ = m;
        Assert.Equal(-(int)Errno.EIO, dma.SetMask(dev, DmaAttrs.DMA_BIT_MASK(20)));
        Assert.Equal(DmaAttrs.DMA_BIT_MASK(32), dev.DmaMask);
        var bare = new Device("platform");
        Assert.Equal(-(int)Errno.EIO, DmaMapping.SetMaxSegSize(bare, 4096));
        Assert.Equal(-(int)Errno.EIO, DmaMapping.SetSegBoundary(bare, 0xffff));
        Assert.Equal(-(int)Errno.EIO, dma.SetMask(bare, DmaAttrs.DMA_BIT_MASK(32)));
        Assert.Equal(65536u, DmaMapping.GetMaxSegSize(bare));
        Assert.Equal(ulong.MaxValue, DmaMapping.GetSegBoundary(bare));
    }

    [Fact]
    public void SwiotlbBouncesPageAlignedAndRejectsOversizeAndUnreachableSlots()
    {
        var (m, dma, dev) = Machine(DmaPath.Swiotlb, 0x1b200000);
        using var _ = m;
        Assert.Equal(262144UL, dma.MaxMappingSize(dev));
        var t = Table((0x6600, 100, 5000), (0x6700, 0, 262144));
        Assert.Equal(0, dma.MapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL));
        var all = All(t);
        Assert.Equal(2, t.Nents);
        Assert.All(all, s => Assert.Equal(0UL, s.DmaAddress % 4096));
        Assert.All(all, s => Assert.InRange(s.DmaAddress, 0x1b200000UL, 0x1f200000UL - s.DmaLength));
        Assert.True(all[0].DmaAddress + 5000 <= all[1].DmaAddress || all[1].DmaAddress + 262144 <= all[0].DmaAddress);
        DmaMapping.UnmapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Equal(0, dma.Swiotlb.Used);

        // More than 128 slots: -EIO, and the entry mapped before it is unmapped again.
        var big = Table((0x6600, 0, 4096), (0x6700, 0, 262145));
        Assert.Equal(-(int)Errno.EIO, dma.MapSgtable(dev, big, DmaDataDirection.DMA_BIDIRECTIONAL));
        Assert.Equal(0, dma.Swiotlb.Used);

        // A 64 KiB boundary: an entry of 64 KiB + 1 page cannot fit inside one window.
        Assert.Equal(0, DmaMapping.SetSegBoundary(dev, 0xffff));
        var cross = Table((0x6600, 0, 69632));
        Assert.Equal(-(int)Errno.EIO, dma.MapSgtable(dev, cross, DmaDataDirection.DMA_BIDIRECTIONAL));
        Assert.Equal(0, DmaMapping.SetSegBoundary(dev, 0xffffffff));

        // Every slot of the pool lies above a 24-bit mask: the slot is found, then dma_capable fails.
        Assert.Equal(0, dma.SetMask(dev, DmaAttrs.DMA_BIT_MASK(24)));
        var small = Table((0x100, 0, 4096));
        Assert.Equal(-(int)Errno.EIO, dma.MapSgtable(dev, small, DmaDataDirection.DMA_BIDIRECTIONAL));
        Assert.Equal(0, dma.Swiotlb.Used);
    }

    [Fact]
    public void SwiotlbCopiesDataInAndBackOut()
    {
        var (m, dma, dev) = Machine(DmaPath.Swiotlb, 0x1b200000);
        using var _ = m;
        var mem = m.GetRequiredService<Sim.Core.Mm.PhysicalMemory>();
        mem.WriteU32(0x6600UL * 4096, 0x11223344);
        var t = Table((0x6600, 0, 4096));
        Assert.Equal(0, dma.MapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL));
        ulong bounce = All(t)[0].DmaAddress;
        Assert.Equal(0x11223344u, mem.ReadU32(bounce));
        mem.WriteU32(bounce, 0x55667788); // the device writes into the bounce buffer
        DmaMapping.UnmapSgtable(dev, t, DmaDataDirection.DMA_BIDIRECTIONAL);
        Assert.Equal(0x55667788u, mem.ReadU32(0x6600UL * 4096));
    }

    [Fact]
    public void CoherentAllocationsStayBelowTheCoherentMask()
    {
        var (m, dma, dev) = Machine(DmaPath.Direct);
        using var _ = m;
        Assert.Equal(0, dma.AllocCoherent(dev, 10000, out ulong handle, out ulong pfn));
        Assert.Equal(pfn * 4096, handle);
        Assert.True(handle + 16384 - 1 <= dev.CoherentDmaMask);
        dma.FreeCoherent(dev, 10000, pfn, handle);
        var (mi, dmai, devi) = Machine(DmaPath.Iommu);
        using var __ = mi;
        Assert.Equal(0, dmai.AllocCoherent(devi, 8192, out ulong iova, out ulong p2));
        Assert.Equal(p2 * 4096 + 4096, devi.Domain!.IovaToPhys(iova + 4096));
        dmai.FreeCoherent(devi, 8192, p2, iova);
        Assert.Equal(0, devi.Domain.Iovad.Count);
    }
}
