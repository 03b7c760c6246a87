// ServiceCollectionExtensions: makes the bound option classes available through
// Microsoft.Extensions.Options (IOptions<T>, IOptionsSnapshot<T>, IOptionsMonitor<T>); the values
// come from MtaConfiguration, i.e. main.cf per postconf(5).
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace Mta.Configuration;

/// <summary>DI registration of the configuration.</summary>
public static class ServiceCollectionExtensions
{
    private static readonly MethodInfo RegisterMethod =
        typeof(ServiceCollectionExtensions).GetMethod(nameof(Register), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>
    /// Registers <paramref name="configuration"/> as a singleton and, for every option class of its catalog
    /// (IdentityOptions, SmtpdOptions, DeliveryOptions, QueueOptions, ...), options whose value equals
    /// <see cref="MtaConfiguration.Get{T}"/>. The configuration is already validated, so resolving never throws
    /// a ConfigException.
    /// </summary>
    /// <returns><paramref name="services"/>, for chaining.</returns>
    public static IServiceCollection AddMtaConfiguration(this IServiceCollection services, MtaConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton(configuration);
        foreach (Type t in configuration.Catalog.Types)
            RegisterMethod.MakeGenericMethod(t).Invoke(null, [services, configuration]);
        return services;
    }

    private static void Register<T>(IServiceCollection services, MtaConfiguration configuration) where T : class =>
        services.AddOptions<T>().Configure(target => configuration.CopyTo(target));
}
