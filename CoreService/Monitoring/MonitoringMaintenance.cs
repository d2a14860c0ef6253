using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.CoreService.Monitoring;

/// <summary>
/// The retention and baseline job, every <see cref="MonitoringOptions.MaintenanceInterval"/> in every replica: drops
/// what retention no longer keeps, and computes the baselines of every finished UTC day (within the sample retention)
/// that has samples and no baselines yet, or fewer than it has samples now (samples that arrived late). Replicas may run it together: each step is idempotent.
/// </summary>
public sealed partial class MonitoringMaintenance(
    MonitoringQueries queries, DatabaseReadiness readiness, IOptions<MonitoringOptions> options, TimeProvider timeProvider, ILogger<MonitoringMaintenance> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                await RunOnceAsync(stoppingToken);
                await Task.Delay(options.Value.MaintenanceInterval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass; database failures are logged and retried next pass.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = timeProvider.GetUtcNow();
        try
        {
            var dropped = await queries.ApplyRetentionAsync(settings, now, cancellationToken);
            if (dropped > 0)
            {
                LogDropped(logger, dropped, settings.SampleRetention);
            }

            var today = DateOnly.FromDateTime(now.UtcDateTime);
            var since = DateOnly.FromDateTime((now - settings.SampleRetention).UtcDateTime);
            foreach (var day in await queries.DaysToBaselineAsync(since, today, cancellationToken))
            {
                var endpoints = await queries.ComputeBaselinesAsync(day, timeProvider.GetUtcNow(), cancellationToken);
                LogBaselines(logger, day, endpoints);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            LogFailed(logger, PostgresFailure.Describe(ex));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped {Count} days of response-time samples older than {Retention}")]
    private static partial void LogDropped(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Information, Message = "Baselines of {Day} computed for {Endpoints} endpoints")]
    private static partial void LogBaselines(ILogger logger, DateOnly day, int endpoints);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Monitoring maintenance failed this time: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
