using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Replay;
using Sim.RdmaUmem.Replay;

namespace Sim.RdmaUmem;

/// <summary>DI registration of the Sim.RdmaUmem models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Sim.RdmaUmem models (and their replay ops) in a machine's container.</summary>
    public static IServiceCollection AddRdmaUmem(this IServiceCollection services)
    {
        services.AddSingleton<IReplayOpProvider, UmemTrimReplayOps>();
        services.AddSingleton<IReplayOpProvider, UmemDmabufReplayOps>();
        return services;
    }
}
