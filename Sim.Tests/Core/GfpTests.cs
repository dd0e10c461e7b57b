using Sim.Core.Mm;
using Xunit;

namespace Sim.Tests.Core;

public class GfpTests
{
    // Values of include/linux/gfp_types.h (6.1): GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS = 0xcc0.
    [Fact]
    public void ValuesAreTheKernels()
    {
        Assert.Equal(0xcc0u, (uint)Gfp.GFP_KERNEL);
        Assert.Equal(0xdc0u, (uint)(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO));
        Assert.Equal(0x2000u, (uint)Gfp.__GFP_NOWARN);
        Assert.Equal(0x40000u, (uint)Gfp.__GFP_COMP);
    }

    // %pGg walks __def_gfpflag_names in order (include/trace/events/mmflags.h): composites first, then
    // __GFP_NOWARN, __GFP_NOFAIL, __GFP_COMP, __GFP_ZERO, ...; what no name covers is printed in hex.
    [Theory]
    [InlineData(0xdc0u, "GFP_KERNEL|__GFP_ZERO")] // the vmalloc_user failures of the kvmfr traces
    [InlineData(0x8dc0u, "GFP_KERNEL|__GFP_NOFAIL|__GFP_ZERO")]
    [InlineData(0x2cc0u, "GFP_KERNEL|__GFP_NOWARN")]
    [InlineData(0xc40u, "GFP_NOFS")]
    [InlineData(0xc00u, "GFP_NOIO")]
    [InlineData(0x800u, "GFP_NOWAIT")]
    [InlineData(0x10000u, "__GFP_NORETRY")]
    // The system heap's HIGH_ORDER_GFP: without __GFP_RECLAIM no composite (GFP_HIGHUSER, GFP_USER, ...) matches.
    [InlineData(0x1521c2u, "__GFP_HIGHMEM|__GFP_IO|__GFP_FS|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_ZERO|__GFP_HARDWALL")]
    [InlineData(0x100dc2u, "GFP_HIGHUSER|__GFP_ZERO")] // 6.12's LOW_ORDER_GFP
    [InlineData(0x10000000u, "0x10000000")] // above __GFP_BITS_SHIFT: no name
    public void FormatFollowsMmflags(uint gfp, string expected) => Assert.Equal(expected, GfpNames.Format((Gfp)gfp));

    [Fact]
    public void ParseReadsTheTraceSpelling()
    {
        Assert.Equal(Gfp.GFP_KERNEL | Gfp.__GFP_ZERO, GfpNames.Parse("GFP_KERNEL|__GFP_ZERO"));
        Assert.Equal(Gfp.GFP_KERNEL, GfpNames.Parse(null));
        Assert.True(Gfp.GFP_KERNEL.AllowBlocking());
        Assert.False(Gfp.GFP_NOWAIT.AllowBlocking());
    }
}
