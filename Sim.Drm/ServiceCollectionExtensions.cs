using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sim.Core.Boot;
using Sim.Core.Debug;
using Sim.Core.Dma;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.Drm.Drivers.Amdgpu;
using Sim.Drm.Drivers.Pl111;
using Sim.Drm.Drivers.Vgem;
using Sim.Drm.Drivers.VirtioGpu;
using Sim.Drm.Replay;

namespace Sim.Drm;

/// <summary>DI registration of the Sim.Drm models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the DRM core (<see cref="DrmCore"/>, built from <c>MachineOptions.DrmDevices</c>), the vgem,
    /// virtio-gpu, pl111 and "pages" drivers, the shmem page source (<see cref="Shmem"/> over the buddy allocator)
    /// and the process-level replay ops. Another driver plugs in with
    /// <c>services.AddSingleton(new DrmDriverRegistration(name, ...))</c>.
    /// </summary>
    public static IServiceCollection AddDrm(this IServiceCollection services)
    {
        services.AddSingleton(VgemDrv.Registration);
        services.AddSingleton(VirtgpuGem.Registration);
        // pl111_drm: GEM DMA objects from the board's dma_alloc_wc (CMA); its kprobe points write to the trace sink.
        services.AddSingleton(sp => Pl111Drv.Registration(sp.GetService<ArmDmaMapping>(), sp.GetRequiredService<KernelTrace>()));
        // pages: the page-array exporter (amdgpu_dma_buf.c's drm_prime_pages_to_sg path) over the buddy allocator.
        services.AddSingleton(sp => AmdgpuDmaBuf.Registration(sp.GetRequiredService<PageAlloc>(), sp.GetRequiredService<MachineOptions>().PagesSeed));
        services.AddSingleton<IReplayOpProvider, Replay.CmaArmReplayOps>();
        services.TryAddSingleton<Shmem>();
        services.AddSingleton<DrmCore>();
        services.AddSingleton<IReplayOpProvider, DrmReplayOps>();
        services.AddSingleton<IReplayOpProvider, ProcessReplayOps>();
        return services;
    }
}
