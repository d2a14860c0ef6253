using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Streams;

/// <summary>A <see cref="RedisStreamConsumer"/>'s settings in a service's options section (validated at start).</summary>
public abstract class StreamConsumerOptions
{
    protected StreamConsumerOptions(string streamKey, string consumerGroup, int readCount)
    {
        StreamKey = streamKey;
        DeadLetterStreamKey = streamKey + ":dead";
        ConsumerGroup = consumerGroup;
        ReadCount = readCount;
    }

    /// <summary>The stream the producers write to.</summary>
    [Required(AllowEmptyStrings = false)]
    public string StreamKey { get; set; }

    /// <summary>Entries that cannot be stored go here with the reason, instead of vanishing.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DeadLetterStreamKey { get; set; }

    /// <summary>The consumer group every replica reads in: each entry goes to one replica.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ConsumerGroup { get; set; }

    /// <summary>Stream entries read (and stored together) per round.</summary>
    [Range(1, 1_000)]
    public int ReadCount { get; set; }

    /// <summary>How long the reader waits when the stream is empty (reads do not block: the Redis connection is shared).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Entries another consumer read but has not acknowledged for this long are taken over (it crashed).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ClaimMinIdle { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a replica looks for such entries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ClaimInterval { get; set; } = TimeSpan.FromSeconds(10);

    public StreamConsumerSettings ToSettings() => new(StreamKey, DeadLetterStreamKey, ConsumerGroup, ReadCount, PollInterval, ClaimMinIdle, ClaimInterval);
}

/// <summary>Where a <see cref="RedisStreamConsumer"/> reads, and how (see <see cref="StreamConsumerOptions"/>).</summary>
public sealed record StreamConsumerSettings(
    string StreamKey, string DeadLetterStreamKey, string ConsumerGroup, int ReadCount, TimeSpan PollInterval, TimeSpan ClaimMinIdle, TimeSpan ClaimInterval);

/// <summary>
/// Stores what producers write to a Redis stream into PostgreSQL, losing nothing. Every replica reads in one consumer
/// group, so each entry goes to one replica; entries are acknowledged and deleted from the stream only after the store
/// committed them. A replica that crashes in between leaves its entries pending: it re-reads them when it comes back,
/// and any replica takes them over (XAUTOCLAIM) once they have been idle for <see cref="StreamConsumerSettings.ClaimMinIdle"/>;
/// the store makes a second delivery harmless (primary keys, batch ids). Entries that can never be stored go to the
/// dead-letter stream with the reason (<see cref="DeadLetterAsync"/>), counted and logged: nothing is dropped silently.
/// Redis or PostgreSQL being down pauses the consumer with backoff; nothing is acknowledged meanwhile.
/// </summary>
public abstract partial class RedisStreamConsumer(IRedisClient redis, DatabaseReadiness readiness, TimeProvider timeProvider, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private readonly LogThrottle _failureLog = new(TimeSpan.FromMinutes(1), timeProvider);

    /// <summary>This replica's consumer name in the group.</summary>
    public string ConsumerName { get; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    protected abstract StreamConsumerSettings Settings { get; }

    /// <summary>What the entries carry, for the logs ("usage records").</summary>
    protected abstract string What { get; }

    protected IRedisClient Redis => redis;

    protected TimeProvider Time => timeProvider;

    /// <summary>
    /// Stores the entries' contents (all committed when it returns), dead-lettering what can never be stored. An
    /// exception Redis, PostgreSQL or a timeout raised leaves every entry unacknowledged, to be read again.
    /// </summary>
    protected abstract Task StoreAsync(IReadOnlyList<RedisStreamEntry> entries, CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken).ConfigureAwait(false);
            var settings = Settings;
            var groupReady = false;
            var ownPending = true; // after a start or a failure, what this consumer read but did not store comes first
            var nextClaim = timeProvider.GetUtcNow();
            var backoff = TimeSpan.Zero;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (!groupReady)
                    {
                        // From the stream's start: what was written before any consumer ran is stored too.
                        await redis.StreamCreateConsumerGroupAsync(settings.StreamKey, settings.ConsumerGroup, "0", stoppingToken).ConfigureAwait(false);
                        groupReady = true;
                    }

                    int handled;
                    if (ownPending)
                    {
                        handled = await HandleAsync(await ReadAsync("0", stoppingToken).ConfigureAwait(false), stoppingToken).ConfigureAwait(false);
                        ownPending = handled > 0;
                    }
                    else if (timeProvider.GetUtcNow() >= nextClaim)
                    {
                        var (claimed, next) = await redis.StreamAutoClaimAsync(
                            settings.StreamKey, settings.ConsumerGroup, ConsumerName, settings.ClaimMinIdle, settings.ReadCount, "0-0", stoppingToken).ConfigureAwait(false);
                        if (claimed.Count > 0)
                        {
                            LogClaimed(logger, claimed.Count, settings.StreamKey);
                        }

                        handled = await HandleAsync(claimed, stoppingToken).ConfigureAwait(false);
                        nextClaim = next == "0-0" ? timeProvider.GetUtcNow() + settings.ClaimInterval : nextClaim;
                    }
                    else
                    {
                        handled = await HandleAsync(await ReadAsync(">", stoppingToken).ConfigureAwait(false), stoppingToken).ConfigureAwait(false);
                    }

                    if (backoff > TimeSpan.Zero)
                    {
                        backoff = TimeSpan.Zero;
                        LogRecovered(logger, What);
                    }

                    if (handled == 0)
                    {
                        await Task.Delay(settings.PollInterval, timeProvider, stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested && IsRetryable(ex))
                {
                    if (ex is RedisServerException { ErrorCode: "NOGROUP" })
                    {
                        groupReady = false; // the stream or group is gone (Redis restarted without its data)
                    }

                    ownPending = true;
                    backoff = backoff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                    if (_failureLog.TryEnter(force: false))
                    {
                        LogFailed(logger, What, ex is NpgsqlException ? PostgresFailure.Describe(ex) : ex.Message, backoff);
                    }

                    await Task.Delay(backoff, timeProvider, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stores the entries, then acknowledges and deletes them. Returns the number of entries.</summary>
    internal async Task<int> HandleAsync(IReadOnlyList<RedisStreamEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        await StoreAsync(entries, cancellationToken).ConfigureAwait(false);
        var done = new string[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            done[i] = entries[i].Id;
        }

        var settings = Settings;
        await redis.StreamAcknowledgeAsync(settings.StreamKey, settings.ConsumerGroup, done, cancellationToken).ConfigureAwait(false);
        await redis.StreamDeleteAsync(settings.StreamKey, done, cancellationToken).ConfigureAwait(false);
        return entries.Count;
    }

    /// <summary>Keeps what cannot be stored in the dead-letter stream (fields entry, reason, <paramref name="field"/>, at).</summary>
    protected async Task DeadLetterAsync(RedisStreamEntry entry, string reason, string field, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var settings = Settings;
        await redis.StreamAddAsync(
            settings.DeadLetterStreamKey,
            [
                new("entry", entry.Id),
                new("reason", reason),
                new(field, payload),
                new("at", timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)),
            ],
            maxLenApprox: 100_000,
            cancellationToken).ConfigureAwait(false);
        LogDeadLettered(logger, settings.StreamKey, entry.Id, reason, settings.DeadLetterStreamKey);
    }

    private static bool IsRetryable(Exception ex) =>
        ex is RedisException or NpgsqlException or TimeoutException || PostgresFailure.IsTransient(ex);

    private Task<IReadOnlyList<RedisStreamEntry>> ReadAsync(string id, CancellationToken cancellationToken)
    {
        var settings = Settings;
        return redis.StreamReadGroupAsync(settings.StreamKey, settings.ConsumerGroup, ConsumerName, settings.ReadCount, id, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stream {Stream} entry {EntryId}: could not be stored ({Reason}); kept in {DeadLetterStream}")]
    private static partial void LogDeadLettered(ILogger logger, string stream, string entryId, string reason, string deadLetterStream);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{What} cannot be stored right now ({Reason}); retrying in {Backoff}, nothing is acknowledged until stored")]
    private static partial void LogFailed(ILogger logger, string what, string reason, TimeSpan backoff);

    [LoggerMessage(Level = LogLevel.Information, Message = "{What} are stored again")]
    private static partial void LogRecovered(ILogger logger, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over {Count} entries of stream {Stream} left unacknowledged by a stopped consumer")]
    private static partial void LogClaimed(ILogger logger, int count, string stream);
}
