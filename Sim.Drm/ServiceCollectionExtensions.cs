using Microsoft.Extensions.DependencyInjection;

namespace Sim.Drm;

/// <summary>DI registration of the Sim.Drm models for one machine.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>Registers the Sim.Drm models (and their replay ops) in a machine's container.</summary>
    public static IServiceCollection AddDrm(this IServiceCollection services)
    {
        return services;
    }
}
