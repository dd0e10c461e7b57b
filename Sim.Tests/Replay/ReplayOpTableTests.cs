using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Replay;
using Xunit;

namespace Sim.Tests.Replay;

public class ReplayOpTableTests
{
    private sealed class First : IReplayOpProvider
    {
        public void Register(ReplayOpTable table) => table.Add("close", (_, _, _) => { });
    }

    private sealed class Second : IReplayOpProvider
    {
        public void Register(ReplayOpTable table) => table.Add(["openat", "close"], (_, _, _) => { });
    }

    [Fact]
    public void AnOpRegisteredTwiceIsAnErrorNamingBothProviders()
    {
        var e = Assert.Throws<DuplicateReplayOpException>(() => ReplayOpTable.Build([new First(), new Second()]));
        Assert.Equal("close", e.Op);
        Assert.Contains("First", e.Message, StringComparison.Ordinal);
        Assert.Contains("Second", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheMachinesProvidersRegisterEveryOpOnce()
    {
        using var machine = Sim.Machine.Composition.BuildMachine(new Sim.Core.Boot.MachineOptions());
        var table = ReplayOpTable.Build(machine.GetServices<IReplayOpProvider>());
        Assert.Contains("DRM_IOCTL_MODE_CREATE_DUMB", table.Ops);
        Assert.Contains("dma_map_sgtable", table.Ops);
    }
}
