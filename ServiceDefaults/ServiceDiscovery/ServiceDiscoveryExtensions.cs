using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartHub.ServiceDefaults.ServiceDiscovery;

namespace Microsoft.Extensions.Hosting;

public static class ServiceDiscoveryExtensions
{
    /// <summary>Registers <see cref="ServiceEndpointResolver"/> and its HttpClient handler.</summary>
    public static TBuilder AddServiceDiscovery<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.TryAddSingleton<ServiceEndpointResolver>();
        builder.Services.TryAddTransient<ServiceDiscoveryHandler>();

        return builder;
    }
}
