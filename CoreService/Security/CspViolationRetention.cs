using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.CoreService.Security;

/// <summary>
/// Keeps <c>csp_violations</c> bounded: every <see cref="SecurityOptions.RetentionInterval"/> it deletes the violations
/// older than <see cref="SecurityOptions.ViolationRetentionDays"/> and all but the newest
/// <see cref="SecurityOptions.MaxStoredViolations"/>, in batches so a large backlog never holds long locks. The report
/// endpoint is anonymous, so the cap is what bounds a flood (the gateway's per-IP rate limit slows it). Every replica
/// runs it; two deleting the same rows at once is harmless.
/// </summary>
public sealed partial class CspViolationRetention(
    CspViolationStore store,
    DatabaseReadiness readiness,
    IOptions<SecurityOptions> options,
    TimeProvider timeProvider,
    ILogger<CspViolationRetention> logger) : BackgroundService
{
    private const int BatchSize = 10_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(options.Value.RetentionInterval, timeProvider);
            do
            {
                try
                {
                    await PurgeAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    LogSkipped(logger, PostgresFailure.Describe(ex));
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: by age, then by count. Returns how many violations were deleted.</summary>
    public async Task<long> PurgeAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var before = timeProvider.GetUtcNow() - TimeSpan.FromDays(settings.ViolationRetentionDays);
        long expired = 0, beyond = 0;
        int deleted;
        do
        {
            expired += deleted = await store.DeleteOlderThanAsync(before, BatchSize, cancellationToken);
        }
        while (deleted == BatchSize);

        do
        {
            beyond += deleted = await store.DeleteBeyondAsync(settings.MaxStoredViolations, BatchSize, cancellationToken);
        }
        while (deleted == BatchSize);

        if (expired + beyond > 0)
        {
            LogPurged(logger, expired, settings.ViolationRetentionDays, beyond, settings.MaxStoredViolations);
        }

        return expired + beyond;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "CSP violations: deleted {Expired} older than {Days} days and {Beyond} beyond the newest {Cap}")]
    private static partial void LogPurged(ILogger logger, long expired, int days, long beyond, int cap);

    [LoggerMessage(Level = LogLevel.Warning, Message = "CSP violation retention skipped this round: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string reason);
}
