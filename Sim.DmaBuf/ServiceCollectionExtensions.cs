using Microsoft.Extensions.DependencyInjection;
using Sim.Core.Replay;

namespace Sim.DmaBuf;

/// <summary>DI registration of the Sim.DmaBuf models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Sim.DmaBuf models (and their replay ops) in a machine's container.</summary>
    public static IServiceCollection AddDmaBuf(this IServiceCollection services)
    {
        // dma-buf core (drivers/dma-buf/dma-buf.c): db_list + the dma-buf inode counter, and its replay ops.
        services.AddSingleton<DmaBufList>();
        services.AddSingleton<IReplayOpProvider, Replay.DmaBufReplayOps>();

        return services;
    }
}
