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
    // Validating every service's constructor (ValidateOnBuild) once per distinct set of registrations is enough:
    // a replay builds a container per file, and the check cost more than replaying a small trace.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> s_validated = new(StringComparer.Ordinal);

    /// <summary>Builds a machine's container (not yet booted: see <see cref="Boot"/>).</summary>
    public static ServiceProvider BuildMachine(MachineOptions options)
    {
        var services = new ServiceCollection();
        services.AddSimCore(options)
            .AddDmaBuf()
            .AddDrm()
            .AddRdmaUmem();
        var key = new System.Text.StringBuilder();
        foreach (var d in services)
        {
            key.Append(d.ServiceType.FullName).Append('|').Append(d.Lifetime).Append('|').Append(d.ImplementationType?.FullName).Append(';');
        }
        bool validate = s_validated.TryAdd(key.ToString(), true);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = validate, ValidateScopes = true });
    }

    /// <summary>
    /// The machine's boot: the initcalls that register devices, run once, explicitly, before the first user
    /// process touches the machine. Today that is the DRM core's <c>drm_dev_register</c> of every configured
    /// DRM device (it creates <c>/dev/dri/card*</c> and <c>renderD*</c>); a machine that is never booted has
    /// the memory, the VFS and the dma-buf core but no DRM node. The DMA-BUF heaps (<c>/dev/dma_heap/*</c>) come
    /// first, as their subsys_initcall and module_inits run before the DRM drivers'. Returns <paramref name="machine"/>.
    /// </summary>
    public static ServiceProvider Boot(ServiceProvider machine)
    {
        ArgumentNullException.ThrowIfNull(machine);
        // subsys_initcall dma_heap_init, then the heaps' module_init in link order (system, then CMA).
        _ = machine.GetRequiredService<DmaHeapCore>();
        _ = machine.GetRequiredService<Sim.DmaBuf.Heaps.SystemHeap>();
        _ = machine.GetRequiredService<Sim.DmaBuf.Heaps.CmaHeap>();
        _ = machine.GetRequiredService<DrmCore>();
        return machine;
    }

    /// <summary>Builds a machine and <see cref="Boot"/>s it.</summary>
    public static ServiceProvider BuildBootedMachine(MachineOptions options) => Boot(BuildMachine(options));

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
