using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.AuthService.Options;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService.Data;

/// <summary>
/// Keeps authdb bounded, hourly: audit entries older than Auth:AuditRetentionDays, refresh tokens a day past their
/// expiry (reuse detection needs them only while they could still be presented). Deletes in batches so a large
/// backlog never holds long locks.
/// </summary>
public sealed class DataRetention(
    NpgsqlDataSource dataSource,
    DatabaseReadiness readiness,
    IOptions<AuthOptions> options,
    TimeProvider timeProvider,
    ILogger<DataRetention> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private const int BatchSize = 10_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(Interval, timeProvider);
            do
            {
                try
                {
                    await PurgeAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    logger.LogWarning("Retention run skipped: {Reason}", ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task PurgeAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var audit = await DeleteAsync(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < @before ORDER BY id LIMIT @batch)",
            now - TimeSpan.FromDays(options.Value.AuditRetentionDays), cancellationToken);
        var tokens = await DeleteAsync(
            "DELETE FROM refresh_tokens WHERE id IN (SELECT id FROM refresh_tokens WHERE expires_at < @before LIMIT @batch)",
            now - TimeSpan.FromDays(1), cancellationToken);
        if (audit + tokens > 0)
        {
            logger.LogInformation("Retention: deleted {Audit} audit entries and {Tokens} expired refresh tokens", audit, tokens);
        }
    }

    private async Task<long> DeleteAsync(string sql, DateTimeOffset before, CancellationToken cancellationToken)
    {
        long total = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand(sql);
            command.With("before", before).With("batch", BatchSize);
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            if (deleted < BatchSize)
            {
                return total;
            }
        }
    }
}
