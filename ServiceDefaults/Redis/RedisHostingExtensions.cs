using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartHub.ServiceDefaults.Health;

namespace SmartHub.ServiceDefaults.Redis;

public static class RedisHostingExtensions
{
    /// <summary>
    /// Registers <see cref="IRedisClient"/> (a singleton <see cref="RedisConnection"/>, connecting in the background) for
    /// <c>ConnectionStrings:{connectionName}</c>, keyed by <paramref name="connectionName"/> and, for the first call, unkeyed;
    /// plus a readiness health check named <paramref name="connectionName"/> (tag "ready").
    /// </summary>
    /// <exception cref="InvalidOperationException">The connection string is missing or invalid.</exception>
    public static IHostApplicationBuilder AddRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);

        var connectionString = builder.Configuration.GetConnectionString(connectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{connectionName} is not configured. Run through the AppHost, or set ConnectionStrings__{connectionName}.");
        }

        RedisOptions options;
        try
        {
            options = RedisOptions.Parse(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"ConnectionStrings:{connectionName} is invalid: {ex.Message}", ex);
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddKeyedSingleton<IRedisClient>(connectionName, (services, _) => RedisConnection.Create(
            options,
            services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RedisConnection).FullName!),
            services.GetRequiredService<TimeProvider>()));
        builder.Services.TryAddSingleton(services => services.GetRequiredKeyedService<IRedisClient>(connectionName));

        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            connectionName,
            services => new RedisHealthCheck(services.GetRequiredKeyedService<IRedisClient>(connectionName), RedisHealthCheck.DefaultTimeout),
            failureStatus: HealthStatus.Unhealthy,
            tags: [HealthTags.Ready]));

        return builder;
    }
}
