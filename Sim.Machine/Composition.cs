using Microsoft.Extensions.DependencyInjection;
using Sim.Core;
using Sim.Core.Boot;
using Sim.DmaBufs;
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
    public static ServiceProvider BuildMachine(MachineOptions options) => BuildMachine(options, null);

    /// <summary>
    /// Builds a machine's container with <paramref name="configure"/> applied last (a host that replaces a seam,
    /// e.g. <c>dmabufsim run</c>'s physical memory shared with a real program).
    /// </summary>
    public static ServiceProvider BuildMachine(MachineOptions options, Action<IServiceCollection>? configure)
    {
        var services = new ServiceCollection();
        services.AddSimCore(options)
            .AddDmaBuf()
            .AddDrm()
            .AddRdmaUmem();
        configure?.Invoke(services);
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
        _ = machine.GetRequiredService<Sim.DmaBufs.Heaps.SystemHeap>();
        _ = machine.GetRequiredService<Sim.DmaBufs.Heaps.CmaHeap>();
        _ = machine.GetRequiredService<DrmCore>();
        // udmabuf_dev_init (module_init of a built-in misc device: /dev/udmabuf when configured).
        _ = machine.GetRequiredService<Udmabuf>();
        return machine;
    }

    /// <summary>Builds a machine and <see cref="Boot"/>s it.</summary>
    public static ServiceProvider BuildBootedMachine(MachineOptions options) => Boot(BuildMachine(options));

    /// <summary>Parses a command line a person typed (<c>--machine</c>) onto the default machine.</summary>
    /// <remarks>
    /// A <c>cma=</c> that Linux could not reserve on the resulting machine is refused with the kernel's own reason
    /// (<see cref="CmaReservationProblem"/>): a person who asks for a CMA area means to get one.
    /// </remarks>
    public static MachineOptions ParseMachine(string? commandLine, MachineOptions? start = null)
    {
        var o = start ?? new MachineOptions();
        if (!string.IsNullOrWhiteSpace(commandLine))
        {
            o.Apply(commandLine, strict: true);
            if (o.CmaBytes is not null && CmaReservationProblem(o) is { } why)
            {
                throw new MachineOptionException(why);
            }
        }
        return o;
    }

    /// <summary>
    /// Null when the machine's <c>cma=</c> area can be reserved at boot; otherwise why Linux 6.1 fails it
    /// (<c>dma_contiguous_reserve</c> → <c>cma_declare_contiguous_nid</c>, which logs the reason and
    /// <c>Failed to reserve N MiB</c>, then boots with no CMA area).
    /// </summary>
    public static string? CmaReservationProblem(MachineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.CmaBytes is not { } size)
        {
            return null;
        }
        int ret = Sim.Core.Dma.DmaContiguous.TryReserve(options, out _, out _);
        if (ret == 0)
        {
            return null;
        }
        var mem = Sim.Core.Dma.DmaContiguous.Memblock(options);
        ulong aligned = Sim.Core.Lib.Align.Up(size, mem.MinAlignmentBytes);
        string mib = (aligned >> 20).ToString(System.Globalization.CultureInfo.InvariantCulture);
        string ram = (options.RamBytes >> 20).ToString(System.Globalization.CultureInfo.InvariantCulture);
        string reason = ret == -(int)Sim.Core.Uapi.Errno.EINVAL && aligned > mem.MemblockEnd - mem.MemblockStart
            ? $"cma: Size ({Pa(aligned)}) of region at {Pa(0)} exceeds limit ({Pa(mem.MemblockEnd)})"
            : $"no free {mib} MiB range below the limit (cma_declare_contiguous_nid: {Sim.Core.Uapi.ErrnoNames.Format(ret)})";
        string Pa(ulong v) => "0x" + v.ToString(mem.PhysAddr64 ? "x16" : "x8", System.Globalization.CultureInfo.InvariantCulture); // %pa
        return $"cma={size >> 20}M: Linux cannot reserve a {mib} MiB CMA area in {ram} MiB of RAM ({reason}; cma: Failed to reserve {mib} MiB) and boots with no CMA area; choose a cma= smaller than mem=";
    }
}
