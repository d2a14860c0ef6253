using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Correlation;
using SmartHub.ServiceDefaults.Http;
using SmartHub.ServiceDefaults.ServiceDiscovery;

namespace Microsoft.Extensions.Hosting;

public static class HttpClientDefaultsExtensions
{
    /// <summary>
    /// Every IHttpClientFactory client: service names resolved (<c>http://core</c>), the
    /// correlation id propagated, a total timeout, and retries of idempotent calls on transient
    /// failures. Handlers, outermost first: discovery → correlation → retry → socket.
    /// </summary>
    public static TBuilder AddHttpClientDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddOptions<HttpClientDefaultsOptions>()
            .BindConfiguration(HttpClientDefaultsOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        builder.Services.TryAddSingleton<ServiceEndpointResolver>();
        builder.Services.TryAddTransient<ServiceDiscoveryHandler>();
        builder.Services.TryAddTransient<CorrelationIdHandler>();
        builder.Services.TryAddTransient<IdempotentRetryHandler>();

        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.ConfigureHttpClient((services, client) =>
                client.Timeout = services.GetRequiredService<IOptions<HttpClientDefaultsOptions>>().Value.TotalTimeout);
            http.AddHttpMessageHandler<ServiceDiscoveryHandler>();
            http.AddHttpMessageHandler<CorrelationIdHandler>();
            http.AddHttpMessageHandler<IdempotentRetryHandler>();
        });

        return builder;
    }
}
