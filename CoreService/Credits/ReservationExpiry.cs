using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.CoreService.Credits;

/// <summary>
/// Settles reservations nobody settled in time (a caller that crashed between reserve and capture, or McpServer killed
/// while holding a credit lease), by <c>system:expiry</c>: one that usage records name is captured for what those
/// requests cost (Migrations/0005_credit_leases.sql); any other is released, its hold going back to the available
/// balance. Every replica runs it; the SQL takes each reservation under its account's lock, so two replicas never
/// settle one twice.
/// </summary>
public sealed partial class ReservationExpiry(
    CreditLedger ledger,
    DatabaseReadiness readiness,
    IOptions<CreditsOptions> options,
    TimeProvider timeProvider,
    ILogger<ReservationExpiry> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
            var settings = options.Value;
            while (!stoppingToken.IsCancellationRequested)
            {
                await SweepAsync(settings.ExpiryBatchSize, stoppingToken);
                await Task.Delay(settings.ExpiryInterval, timeProvider, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass: batches until none is left due. Database failures are logged and retried next pass.</summary>
    public async Task<int> SweepAsync(int batchSize, CancellationToken cancellationToken)
    {
        var released = 0;
        try
        {
            while (true)
            {
                var (examined, count) = await ledger.ExpireDueAsync(batchSize, cancellationToken);
                released += count;
                if (examined < batchSize)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            LogSweepFailed(logger, PostgresFailure.Describe(ex));
        }

        if (released > 0)
        {
            LogReleased(logger, released);
        }

        return released;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Settled {Count} reservations not settled in time by their holder")]
    private static partial void LogReleased(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Expired reservations could not be settled this time: {Reason}")]
    private static partial void LogSweepFailed(ILogger logger, string reason);
}
