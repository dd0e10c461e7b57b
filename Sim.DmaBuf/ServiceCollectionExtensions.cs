using Microsoft.Extensions.DependencyInjection;

namespace Sim.DmaBuf;

/// <summary>DI registration of the Sim.DmaBuf models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Sim.DmaBuf models (and their replay ops) in a machine's container.</summary>
    public static IServiceCollection AddDmaBuf(this IServiceCollection services)
    {
        // kvmfr (Looking Glass module): its .ko image for the module loader, and its replay ops.
        services.AddSingleton<Kvmfr.KvmfrModuleImage>();
        services.AddSingleton<Sim.Core.Kernel.IModuleImage>(sp => sp.GetRequiredService<Kvmfr.KvmfrModuleImage>());
        services.AddSingleton<Sim.Core.Replay.IReplayOpProvider, Kvmfr.KvmfrReplayOps>();
        return services;
    }
}
