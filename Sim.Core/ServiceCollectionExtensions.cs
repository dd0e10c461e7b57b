using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sim.Core.Boot;
using Sim.Core.Debug;
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

        // --- CMA, DMA contiguous allocator, ARM dma_alloc_wc, vmalloc, kernel trace sink (wip/cma) ---
        services.AddSingleton<KernelTrace>();
        services.TryAddSingleton<Mm.IPageFrames, Mm.SimplePageFrames>(); // the integrator swaps in the buddy allocator
        if (Dma.DmaContiguous.TryReserve(options, out _, out _) == 0)
        {
            services.AddSingleton<Dma.DmaContiguous>();
            services.AddSingleton(sp => sp.GetRequiredService<Dma.DmaContiguous>().DefaultArea!);
            if (options.Is32Bit)
            {
                services.AddSingleton<Dma.ArmDmaMapping>();
            }
        }
        services.AddSingleton<Mm.Vmalloc>();
        services.AddSingleton<Replay.IReplayOpProvider, Mm.CmaReplayOps>();
        services.AddSingleton<Replay.IReplayOpProvider, Replay.KernelSideReplayOps>();
        // --- end wip/cma ---
        return services;
    }
}
