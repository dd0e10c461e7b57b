using Microsoft.Extensions.DependencyInjection;
using Sim.Core;
using Sim.Core.Boot;
using Sim.DmaBuf;
using Sim.Drm;
using Sim.RdmaUmem;

namespace Sim.Machine;

/// <summary>
/// The composition root: one container per simulated machine, built from its options with one
/// <c>Add{Project}</c> per project. Only this class and the tests build machines.
/// </summary>
public static class Composition
{
    /// <summary>Builds a machine.</summary>
    public static ServiceProvider BuildMachine(MachineOptions options)
    {
        var services = new ServiceCollection();
        services.AddSimCore(options)
            .AddDmaBuf()
            .AddDrm()
            .AddRdmaUmem();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <summary>Parses a command line a person typed (<c>--machine</c>) onto the default machine.</summary>
    public static MachineOptions ParseMachine(string? commandLine, MachineOptions? start = null)
    {
        var o = start ?? new MachineOptions();
        if (!string.IsNullOrWhiteSpace(commandLine))
        {
            o.Apply(commandLine, strict: true);
        }
        return o;
    }
}
