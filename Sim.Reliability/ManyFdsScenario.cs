using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Machine;

namespace Sim.Reliability;

/// <summary>More descriptors than the fd table's first 64 slots (expand_files), all closed again.</summary>
public sealed class ManyFdsScenario : SweepScenario
{
    /// <inheritdoc/>
    public override string Name => "many-fds";

    /// <inheritdoc/>
    public override ServiceProvider Build()
    {
        var o = new MachineOptions();
        o.AddDrmDevice("vgem");
        var m = Composition.BuildMachine(o);
        Composition.Boot(m);
        m.GetRequiredService<ProcessTable>().Spawn("fds");
        return m;
    }

    /// <inheritdoc/>
    public override (long Ret, string Call) Run(ServiceProvider machine)
    {
        var pt = machine.GetRequiredService<ProcessTable>();
        var p = pt.Processes[^1].Exited ? pt.Spawn("fds") : pt.Processes[^1];
        int first = p.Openat("/dev/dri/card0", OpenFlags.O_RDWR);
        if (first < 0)
        {
            return (first, "open");
        }
        var fds = new List<int> { first };
        for (int k = 0; k < 140; k++)
        {
            int fd = p.Dup(first);
            if (fd < 0)
            {
                return (fd, "dup #" + k.ToString(CultureInfo.InvariantCulture));
            }
            fds.Add(fd);
        }
        foreach (int fd in fds)
        {
            p.Close(fd);
        }
        return (0, "");
    }
}
