using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using SmartHub.Gateway.Proxy;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Metrics;

namespace SmartHub.Gateway.Edge;

internal static class EdgeExtensions
{
    /// <summary>Redis resource name (ConnectionStrings:cache): shared rate-limit buckets and the response-time stream.</summary>
    public const string CacheName = "cache";

    /// <summary>
    /// The edge's options and services: body limits, CORS, error bodies for 401/403, metrics (and who may read /metrics).
    /// Redis going down degrades the gateway (local rate limits, samples kept in memory) but does not make it unready,
    /// so its health check reports Degraded instead of Unhealthy.
    /// </summary>
    public static WebApplicationBuilder AddGatewayEdge(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
            kestrel.Limits.MaxRequestBodySize = Math.Max(
                Math.Max(gateway.Value.MaxRequestBodyBytes, gateway.Value.MaxChatRequestBodyBytes), gateway.Value.MaxCspReportBodyBytes));

        var cors = builder.Configuration.GetSection(GatewayCorsOptions.SectionName).Get<GatewayCorsOptions>() ?? new GatewayCorsOptions();
        if (cors.Validate() is { Count: > 0 } corsErrors)
        {
            throw new OptionsValidationException(GatewayCorsOptions.SectionName, typeof(GatewayCorsOptions), corsErrors);
        }

        builder.Services.AddSingleton(cors);
        if (cors.IsEnabled)
        {
            builder.Services.AddCors(options => options.AddDefaultPolicy(cors.BuildPolicy()));
        }

        builder.Services.AddSingleton<IAuthorizationMiddlewareResultHandler, GatewayAuthorizationResultHandler>();

        // The gateway is public: its own /metrics is held to its route-table row (system:read, rate limited per caller).
        builder.Services.AddSingleton(new MetricsEndpointAccess(endpoint => GatewayRoutes.AttachOwn(endpoint, GatewayRoutes.MetricsRouteId)));
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<RequestBodyLimits>();

        // AddRedisClient(CacheName) registers the "cache" check (Program.cs calls it).
        builder.Services.Configure<HealthCheckServiceOptions>(options =>
        {
            foreach (var registration in options.Registrations)
            {
                if (registration.Name == CacheName)
                {
                    registration.FailureStatus = HealthStatus.Degraded;
                }
            }
        });

        return builder;
    }

    /// <summary>CORS (only when origins are configured; preflights are answered here, before authentication).</summary>
    public static IApplicationBuilder UseGatewayCors(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.ApplicationServices.GetRequiredService<GatewayCorsOptions>().IsEnabled ? app.UseCors() : app;
    }

}
