using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Userspace;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>The kvmfr test program (module/test.c via <see cref="KvmfrTest"/>), then rmmod.</summary>
public sealed class KvmfrTestScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "kvmfr-test";

    /// <inheritdoc/>
    public override ServiceProvider Build() => Composition.BuildMachine(new MachineOptions());

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var err = new StringWriter();
        int status = KvmfrTest.Run(machine, "2", TextWriter.Null, err);
        // test.c reports the failing call with perror; the exit status is main's -1 (255).
        return status == 0 ? (0, "") : (-status, err.ToString().Trim());
    }

    /// <inheritdoc/>
    public override void Cleanup(ServiceProvider machine)
    {
        base.Cleanup(machine);
        var image = machine.GetRequiredService<Sim.DmaBufs.Kvmfr.KvmfrModuleImage>();
        if (image.Loaded is not null)
        {
            _ = machine.GetRequiredService<Busybox>().Exec("rmmod kvmfr");
        }
    }
}
