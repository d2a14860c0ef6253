using System.Threading.Channels;
using SmartHub.ServiceDefaults.Credits;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.McpServer.Chat;

/// <summary>
/// Captures and releases of reservations. One that CoreService cannot take now (down, restarting) is not dropped: it is
/// retried in the background, with backoff, for <see cref="ChatServiceOptions.SettlementRetryWindow"/>; the operations
/// are idempotent, so a retry of one that did land changes nothing. Past the window the ledger's expiry releases the
/// reservation (the user is not charged) and the loss is logged as an error.
/// </summary>
public sealed class Settlements(CreditsClient credits, ChatServiceOptions options, TimeProvider timeProvider, ILogger<Settlements> logger) : BackgroundService
{
    private const int Capacity = 100_000;

    private readonly Channel<(CreditOperation Operation, long Since)> _retries =
        Channel.CreateBounded<(CreditOperation, long)>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Operations waiting for a retry.</summary>
    public int Pending => _retries.Reader.Count;

    public async Task SettleAsync(CreditOperation operation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (!await TryAsync(operation, cancellationToken).ConfigureAwait(false))
        {
            if (!_retries.Writer.TryWrite((operation, timeProvider.GetTimestamp())))
            {
                logger.LogError("Settlement of reservation {Reservation} dropped: {Capacity} settlements already wait for CoreService", Reservation(operation), Capacity);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromSeconds(1);
        await foreach (var (operation, since) in _retries.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            while (true)
            {
                if (await TryAsync(operation, stoppingToken).ConfigureAwait(false))
                {
                    delay = TimeSpan.FromSeconds(1);
                    break;
                }

                if (timeProvider.GetElapsedTime(since) > options.SettlementRetryWindow)
                {
                    logger.LogError("Settlement of reservation {Reservation} given up after {Window}: the ledger's expiry will release it", Reservation(operation), options.SettlementRetryWindow);
                    break;
                }

                await Task.Delay(delay, timeProvider, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>True when settled (or refused for good: retrying cannot help); false when CoreService could not answer.</summary>
    private async Task<bool> TryAsync(CreditOperation operation, CancellationToken cancellationToken)
    {
        try
        {
            var answer = operation.Capture is { } capture
                ? await credits.CaptureAsync(capture, cancellationToken).ConfigureAwait(false)
                : await credits.ReleaseAsync(operation.Release!, cancellationToken).ConfigureAwait(false);
            if (answer.Status >= 500)
            {
                return false;
            }

            if (!answer.Succeeded)
            {
                logger.LogError("Settlement of reservation {Reservation} refused: {Status} {Detail}", Reservation(operation), answer.Status, answer.Problem?.Detail);
            }

            return true;
        }
        catch (DependencyUnavailableException exception)
        {
            logger.LogWarning("Settlement of reservation {Reservation} deferred: {Reason}", Reservation(operation), exception.Message);
            return false;
        }
    }

    private static Guid? Reservation(CreditOperation operation) => operation.Capture?.ReservationId ?? operation.Release?.ReservationId;
}
