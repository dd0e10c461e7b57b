using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Fs;
using Sim.Core.Kernel;
using Sim.Core.Mm;
using Sim.Core.Time;

namespace Sim.Core;

/// <summary>DI registration of the Sim.Core models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// <c>AddSimCore</c>: the machine's options, clock, WARN log and live-object accounting (and, as they land,
    /// memory, page allocator, CMA, DMA mapping, processes and files). Every service is a singleton of this
    /// machine's container.
    /// </summary>
    public static IServiceCollection AddSimCore(this IServiceCollection services, MachineOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(_ => new Ktime(options.Hz));
        services.AddSingleton<Warnings>();
        services.AddSingleton<LiveObjects>();
        // Processes and files (fs/, mm/mmap.c).
        services.AddSingleton<IPageDataAccess, SparsePageData>();
        services.AddSingleton<CharDevices>();
        services.AddSingleton<Vfs>();
        services.AddSingleton<ProcessTable>();
        // Kernel log, taint, modules, WARN reports (kernel/printk, kernel/panic.c, kernel/module), vmalloc seam.
        services.AddSingleton<Printk>();
        services.AddSingleton<Taint>();
        services.AddSingleton<CurrentTask>();
        services.AddSingleton<ModuleList>();
        services.AddSingleton<ModuleLoader>();
        services.AddSingleton<Bug>();
        services.AddSingleton<WarnAlloc>();
        services.AddSingleton<IVmalloc, SeamVmalloc>();
        services.AddSingleton<Base.Devtmpfs>();
        services.AddSingleton<BootState>();
        services.AddSingleton<Userspace.Busybox>();
        return services;
    }
}
