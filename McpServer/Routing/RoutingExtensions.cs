using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.McpServer.Routing;

public static class RoutingExtensions
{
    /// <summary>
    /// The deployment router (singleton: its circuit breakers are shared by every request of the process), its options
    /// (section <c>Routing</c>, validated at start) and the Redis requests-per-minute limiter. Needs
    /// <c>AddProviders()</c> (the <see cref="Providers.ProviderRegistry"/>) and <c>AddRedisClient(...)</c> (the
    /// <see cref="ServiceDefaults.Redis.IRedisClient"/>). Register another <see cref="IRpmLimiter"/> before this call to
    /// replace the Redis one.
    /// </summary>
    public static IHostApplicationBuilder AddRouting(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<RouterOptions>()
            .BindConfiguration(RouterOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        var telemetryName = ServiceTelemetry.NameFor(builder.Environment.ApplicationName);
        builder.Services.TryAddSingleton(_ => new ServiceTelemetry(telemetryName));
        builder.Services.TryAddSingleton<RoutingMetrics>();
        builder.Services.TryAddSingleton<IRpmLimiter, RedisRpmLimiter>();
        builder.Services.TryAddSingleton<DeploymentRouter>();
        return builder;
    }
}
