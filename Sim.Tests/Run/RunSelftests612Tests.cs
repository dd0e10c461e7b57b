// The kernel's own selftests from Debian's 6.12.118 source, unmodified and dynamically linked, under dmabufsim run on
// the 6.12 profile.
using Xunit;

namespace Sim.Tests.RunVerb;

public sealed class RunSelftests612Tests(RunPrograms programs) : IClassFixture<RunPrograms>
{
    private (int Status, string Stdout, string Stderr, string Host) Run(string? machine, string program, params string[] args) =>
        programs.Run(machine, program, 600, args);

    [Fact]
    public void SyncSelftestPasses()
    {
        var (status, stdout, stderr, _) = Run("kernel=6.12 vgem", programs.SyncTest(version: "6.12"));
        Assert.Contains("1..10\n", stdout, StringComparison.Ordinal);
        Assert.Contains("# Totals: pass:10 fail:0 xfail:0 xpass:0 skip:0 error:0", stdout, StringComparison.Ordinal);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void DmaBufHeapSelftestPassesOnTheSystemHeapWithVgemImport()
    {
        var (status, stdout, stderr, _) = Run("kernel=6.12 vgem", programs.Selftest612("dmabuf-heaps/dmabuf-heap.c"));
        // 6.12's version is a TAP test: 11 results for the system heap (6.12's Debian build has no CMA heap)
        Assert.Contains("1..11\n# Testing heap: system\n", stdout, StringComparison.Ordinal);
        Assert.Contains("ok 1 Import buffer 0\n", stdout, StringComparison.Ordinal);
        Assert.Contains("# Totals: pass:11 fail:0 xfail:0 xpass:0 skip:0 error:0", stdout, StringComparison.Ordinal);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void UdmabufSelftestPassesWithAHugePagePool()
    {
        // test-6 maps a 2 GiB hugetlb memfd (1024 pages of 2 MiB): the pool must hold them (hugepages=1024), as
        // on the real kernel
        var (status, stdout, stderr, _) = Run("kernel=6.12 vgem mem=3G hugepages=1024", programs.Selftest612("drivers/dma-buf/udmabuf.c"));
        Assert.Equal(
            "TAP version 13\n1..6\n" +
            string.Concat(Enumerable.Range(1, 6).Select(k => $"ok {k} drivers/dma-buf/udmabuf: [PASS,test-{k}]\n")) +
            "# drivers/dma-buf/udmabuf: ok\n" +
            "# Totals: pass:6 fail:0 xfail:0 xpass:0 skip:0 error:0\n", stdout);
        Assert.Equal("", stderr);
        Assert.Equal(0, status);
    }

    [Fact]
    public void UdmabufSelftestFailsAtTheHugetlbMappingWithoutAPool()
    {
        // Debian boots with no huge page: hugetlb_reserve_pages finds none, the mmap is -ENOMEM
        var (status, stdout, _, _) = Run("kernel=6.12 vgem", programs.Selftest612("drivers/dma-buf/udmabuf.c"));
        Assert.Contains("ok 5 drivers/dma-buf/udmabuf: [PASS,test-5]\n# drivers/dma-buf/udmabuf: ubuf_fd mmap fail\n", stdout, StringComparison.Ordinal);
        Assert.Equal(1, status); // KSFT_FAIL
    }
}
