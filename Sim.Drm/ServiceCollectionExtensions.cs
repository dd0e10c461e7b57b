using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sim.Core.Mm;
using Sim.Core.Replay;
using Sim.Drm.Drivers.Vgem;
using Sim.Drm.Drivers.VirtioGpu;
using Sim.Drm.Replay;

namespace Sim.Drm;

/// <summary>DI registration of the Sim.Drm models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers the DRM core (<see cref="DrmCore"/>, built from <c>MachineOptions.DrmDevices</c>), the vgem and
    /// virtio-gpu drivers, the shmem page source (<see cref="Shmem"/> over the buddy allocator) and the process-level replay ops. Another driver plugs in with
    /// <c>services.AddSingleton(new DrmDriverRegistration("pl111_drm", ...))</c>.
    /// </summary>
    public static IServiceCollection AddDrm(this IServiceCollection services)
    {
        services.AddSingleton(VgemDrv.Registration);
        services.AddSingleton(VirtgpuGem.Registration);
        services.TryAddSingleton<Shmem>();
        services.AddSingleton<DrmCore>();
        services.AddSingleton<IReplayOpProvider, DrmReplayOps>();
        services.AddSingleton<IReplayOpProvider, ProcessReplayOps>();
        return services;
    }
}
