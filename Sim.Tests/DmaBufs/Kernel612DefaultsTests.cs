using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Uapi;
using Sim.DmaBufs;
using Sim.Machine;
using Xunit;

namespace Sim.Tests.DmaBufs;

/// <summary>
/// What the 6.12 profile has by default or does differently beside the heaps: udmabuf built in (Debian's 6.12.118
/// config: CONFIG_UDMABUF=y; 6.1: not set) at the minor measured on that kernel, and dma_resv_reserve_fences(0).
/// </summary>
public sealed class Kernel612DefaultsTests
{
    [Theory]
    [InlineData("kernel=6.12", true, 258u)] // measured: /sys/class/misc/udmabuf/dev = 10:258 on Debian 6.12.118 (QEMU pc)
    [InlineData("kernel=6.12 udmabuf=off", false, 0u)]
    [InlineData("kernel=6.1", false, 0u)] // Debian 6.1: # CONFIG_UDMABUF is not set
    [InlineData("kernel=6.1 udmabuf", true, 127u)] // the upstream 6.1 code: first dynamic misc minor (DYNAMIC_MINORS - 1)
    public void UdmabufIsBuiltInOn612(string options, bool present, uint minor)
    {
        using var m = Composition.BuildBootedMachine(Composition.ParseMachine(options));
        var node = m.GetRequiredService<Vfs>().Lookup(Udmabuf.DevPath);
        Assert.Equal(present, node is not null);
        if (node is not null)
        {
            Assert.Equal((10u, minor), (node.Major, node.Minor));
        }
    }

    [Fact]
    public void ReserveZeroFencesIsAWarnAndEinvalOnlyOn612()
    {
        foreach (var (kernel, want, warns) in new[] { (KernelVersion.V6_1, 0, 0), (KernelVersion.V6_12, -(int)Errno.EINVAL, 1) })
        {
            using var sp = Composition.BuildMachine(new MachineOptions { Kernel = kernel });
            var core = sp.GetRequiredService<DmaFenceCore>();
            var warnings = sp.GetRequiredService<Warnings>();
            var resv = new DmaResv(core);
            Assert.Equal(0, resv.Lock(null));
            // 6.1: no check; with no table yet it allocates one of max(4, roundup_pow_of_two(0)) = 4 slots and returns 0.
            // 6.12: WARN_ON(!num_fences) → -EINVAL before looking at the table.
            Assert.Equal(want, resv.ReserveFences(0));
            Assert.Equal(warns, warnings.Count);
            Assert.Equal(0, resv.ReserveFences(1));
            resv.Unlock();
            resv.Fini();
        }
    }
}
