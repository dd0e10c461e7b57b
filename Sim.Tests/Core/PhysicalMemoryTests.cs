using Sim.Core.Mm;
using Xunit;

namespace Sim.Tests.Core;

public class PhysicalMemoryTests
{
    [Fact]
    public void UntouchedIsZeroAndWritesCrossPages()
    {
        var mem = new PhysicalMemory(0, 1UL << 40);
        var buf = new byte[10];
        mem.Read((1UL << 39) + 4090, buf);
        Assert.All(buf, b => Assert.Equal(0, b));
        byte[] data = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        mem.Write(4090, data);
        Assert.Equal(2L, mem.Store.MaterialisedPages);
        mem.Read(4090, buf);
        Assert.Equal(data, buf);
        Assert.Equal(0x0a090807u, mem.ReadU32(4096));
        mem.ZeroPages(1, 1);
        Assert.Equal(0u, mem.ReadU32(4096));
        Assert.Equal(1L, mem.Store.MaterialisedPages);
    }

    [Fact]
    public void CopyAndFillKeepZeroPagesSparse()
    {
        var mem = new PhysicalMemory(0x60000000, 16UL << 20);
        mem.Fill(0x60000000, 8192, 0);
        Assert.Equal(0L, mem.Store.MaterialisedPages);
        mem.WriteU32(0x60001ffe, 0xdeadbeef);
        mem.Copy(0x60100000 + 2, 0x60001ffe, 4);
        Assert.Equal(0xdeadbeefu, mem.ReadU32(0x60100002));
        Assert.False(mem.Contains(0x5ffff000, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => mem.ReadU32(0x61000000));
    }
}
