using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartHub.Gateway.Proxy;
using SmartHub.ServiceDefaults.Health;

namespace SmartHub.Gateway.Health;

internal static class DownstreamHealthExtensions
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(2);

    /// <summary>One readiness check per downstream service (auth, core, mcp): the gateway's /health aggregates theirs.</summary>
    public static WebApplicationBuilder AddDownstreamHealthChecks(this WebApplicationBuilder builder)
    {
        builder.Services.AddHttpClient(DownstreamHealthCheck.HttpClientName);

        var checks = builder.Services.AddHealthChecks();
        foreach (var service in GatewayRoutes.Services)
        {
            checks.Add(new HealthCheckRegistration(
                service,
                services => new DownstreamHealthCheck(service, services.GetRequiredService<IHttpClientFactory>(), s_timeout),
                HealthStatus.Unhealthy,
                [HealthTags.Ready],
                s_timeout + TimeSpan.FromSeconds(1)));
        }

        return builder;
    }
}
