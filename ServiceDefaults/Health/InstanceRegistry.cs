using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.ServiceDefaults.Health;

/// <summary>Section <c>Instances</c>: each service instance's heartbeat in Redis.</summary>
public sealed class InstanceRegistryOptions
{
    public const string SectionName = "Instances";

    public bool Enabled { get; set; } = true;

    /// <summary>How often an instance runs its health checks and reports.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>An instance not heard from for this long is gone (crashed, or cut off from Redis).</summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(35);
}

/// <summary>What one instance last reported.</summary>
public sealed record ServiceInstance(
    string Service, string Instance, string Version, string Host, int ProcessId, DateTimeOffset StartedAt, string Health, DateTimeOffset ReportedAt);

/// <summary>
/// The service instances that are running, as they report themselves: every instance (of every service, in every
/// replica) runs its readiness checks every <see cref="InstanceRegistryOptions.Interval"/> and writes the result with
/// its version and start time to Redis — a hash per instance that expires after <see cref="InstanceRegistryOptions.Ttl"/>,
/// and its id in a sorted set per service scored by the time of the report. Readers (CoreService's
/// <c>/api/v1/monitoring/services</c>) see the instances heard from within the TTL. An instance that stops removes itself.
/// It works the same on one machine and in a cluster: no instance needs to know the others.
/// </summary>
public static class InstanceRegistry
{
    public const string ServicesKey = "smarthub:services";

    public static string InstancesKey(string service) => "smarthub:instances:" + service;

    public static string InstanceKey(string service, string instance) => $"smarthub:instance:{service}:{instance}";

    /// <summary>The instances of <paramref name="service"/> heard from within <paramref name="ttl"/>.</summary>
    public static async Task<IReadOnlyList<ServiceInstance>> ReadAsync(IRedisClient redis, string service, TimeSpan ttl, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var since = (now - ttl).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var ids = (await redis.ExecuteAsync("ZRANGEBYSCORE", [InstancesKey(service), since, "+inf"], cancellationToken).ConfigureAwait(false)).AsArray();
        var instances = new List<ServiceInstance>(ids.Count);
        foreach (var id in ids)
        {
            var instance = id.AsString()!;
            var fields = (await redis.ExecuteAsync("HGETALL", [InstanceKey(service, instance)], cancellationToken).ConfigureAwait(false)).AsArray();
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i + 1 < fields.Count; i += 2)
            {
                map[fields[i].AsString()!] = fields[i + 1].AsString() ?? "";
            }

            if (map.Count == 0)
            {
                continue; // expired between the two reads
            }

            instances.Add(new ServiceInstance(
                service, instance, map.GetValueOrDefault("version", ""), map.GetValueOrDefault("host", ""),
                int.TryParse(map.GetValueOrDefault("pid"), CultureInfo.InvariantCulture, out var pid) ? pid : 0,
                DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(map.GetValueOrDefault("started", "0"), CultureInfo.InvariantCulture)),
                map.GetValueOrDefault("health", "Unknown"),
                DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(map.GetValueOrDefault("reported", "0"), CultureInfo.InvariantCulture))));
        }

        return instances;
    }

    /// <summary>Every service that ever reported (their instances may all be gone).</summary>
    public static async Task<IReadOnlyList<string>> ServicesAsync(IRedisClient redis, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(redis);
        var members = (await redis.ExecuteAsync("SMEMBERS", [ServicesKey], cancellationToken).ConfigureAwait(false)).AsArray();
        return [.. members.Select(m => m.AsString()!).Order(StringComparer.Ordinal)];
    }

    /// <summary>The heartbeat of this instance (needs <c>AddRedisClient</c>; without a Redis client it does nothing).</summary>
    public static IHostApplicationBuilder AddInstanceHeartbeat(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<InstanceRegistryOptions>().BindConfiguration(InstanceRegistryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<InstanceHeartbeat>();
        return builder;
    }
}

/// <summary>Reports this instance to the <see cref="InstanceRegistry"/> (see there).</summary>
internal sealed partial class InstanceHeartbeat(
    IServiceProvider services, IConfiguration configuration, IHostEnvironment environment, IOptions<InstanceRegistryOptions> options,
    TimeProvider timeProvider, ILogger<InstanceHeartbeat> logger) : BackgroundService
{
    private readonly LogThrottle _failureLog = new(TimeSpan.FromMinutes(5), timeProvider);
    private readonly DateTimeOffset _started = timeProvider.GetUtcNow();
    private readonly string _service = configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : environment.ApplicationName;
    private readonly string _instance =
        TelemetryResource.ParseResourceAttributes(configuration["OTEL_RESOURCE_ATTRIBUTES"]).GetValueOrDefault("service.instance.id")
        ?? $"{Environment.MachineName}-{Environment.ProcessId}";

    private static string Version { get; } =
        typeof(InstanceHeartbeat).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled || services.GetService<IRedisClient>() is not { } redis)
        {
            return;
        }

        var health = services.GetRequiredService<HealthCheckService>();
        var soon = options.Value.Interval < TimeSpan.FromSeconds(1) ? options.Value.Interval : TimeSpan.FromSeconds(1);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Not healthy yet (starting: migrations, keys) or any more: the next report comes within a second.
                var status = await ReportAsync(redis, health, stoppingToken).ConfigureAwait(false);
                await Task.Delay(status == HealthStatus.Healthy ? options.Value.Interval : soon, timeProvider, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (options.Value.Enabled && services.GetService<IRedisClient>() is { } redis)
        {
            try
            {
                await redis.ExecuteAsync("ZREM", [InstanceRegistry.InstancesKey(_service), _instance], cancellationToken).ConfigureAwait(false);
                await redis.ExecuteAsync("DEL", [InstanceRegistry.InstanceKey(_service, _instance)], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or OperationCanceledException)
            {
                // Redis down at shutdown: the entry expires after the TTL.
            }
        }
    }

    private async Task<HealthStatus?> ReportAsync(IRedisClient redis, HealthCheckService health, CancellationToken cancellationToken)
    {
        try
        {
            var report = await health.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
            var now = timeProvider.GetUtcNow();
            var ttl = options.Value.Ttl;
            var key = InstanceRegistry.InstanceKey(_service, _instance);
            var nowMs = now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
            await redis.ExecuteAsync("HSET",
            [
                key, "version", Version, "host", Environment.MachineName, "pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
                "started", _started.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), "health", report.Status.ToString(), "reported", nowMs,
            ], cancellationToken).ConfigureAwait(false);
            await redis.ExecuteAsync("PEXPIRE", [key, ((long)ttl.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
            await redis.ExecuteAsync("ZADD", [InstanceRegistry.InstancesKey(_service), nowMs, _instance], cancellationToken).ConfigureAwait(false);
            await redis.ExecuteAsync("ZREMRANGEBYSCORE",
                [InstanceRegistry.InstancesKey(_service), "-inf", "(" + (now - ttl).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)], cancellationToken).ConfigureAwait(false);
            await redis.ExecuteAsync("SADD", [InstanceRegistry.ServicesKey, _service], cancellationToken).ConfigureAwait(false);
            return report.Status;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            if (_failureLog.TryEnter(force: false))
            {
                LogFailed(logger, ex.Message);
            }

            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "This instance could not report its heartbeat to Redis: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
