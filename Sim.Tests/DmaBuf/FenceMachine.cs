using Microsoft.Extensions.DependencyInjection;
using Sim.Machine;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Time;
using Sim.DmaBuf;

namespace Sim.Tests.DmaBuf;

/// <summary>A machine (the real composition) with quick access to the fence services.</summary>
internal sealed class FenceMachine : IDisposable
{
    private readonly ServiceProvider _machine = Composition.BuildMachine(new MachineOptions());

    public DmaFenceCore Core => _machine.GetRequiredService<DmaFenceCore>();

    public Ktime Clock => _machine.GetRequiredService<Ktime>();

    public Warnings Warnings => _machine.GetRequiredService<Warnings>();

    public LiveObjects Live => _machine.GetRequiredService<LiveObjects>();

    public DmaFenceTrace Trace => _machine.GetRequiredService<DmaFenceTrace>();

    public void Dispose() => _machine.Dispose();
}
