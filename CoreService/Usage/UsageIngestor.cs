using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.CoreService.Usage;

/// <summary>
/// Stores usage records from the Redis stream (<see cref="UsageRecordBatch"/>) into coredb. Every replica reads in one
/// consumer group, so each entry goes to one replica; an entry is acknowledged and deleted from the stream only after
/// its records are committed. A replica that crashes in between leaves its entries pending: it re-reads them when it
/// comes back, and any replica takes them over (XAUTOCLAIM) once they have been idle for
/// <see cref="UsageOptions.ClaimMinIdle"/>. A record stored twice that way meets its primary key and is stored once.
/// Entries that can never be stored (malformed, invalid records) go to the dead-letter stream with the reason, and
/// are counted and logged: nothing is dropped silently.
/// </summary>
public sealed partial class UsageIngestor(
    IRedisClient redis,
    UsageStore store,
    DatabaseReadiness readiness,
    IOptions<UsageOptions> options,
    IMeterFactory meterFactory,
    TimeProvider timeProvider,
    ILogger<UsageIngestor> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private readonly UsageOptions _options = options.Value;
    private readonly string _consumer = $"{Environment.MachineName}-{Environment.ProcessId}";
    private readonly LogThrottle _failureLog = new(TimeSpan.FromMinutes(1), timeProvider);
    private readonly Counter<long> _stored = meterFactory.Create("SmartHub.CoreService.Usage")
        .CreateCounter<long>("smarthub.usage.records.stored", "{record}", "Usage records stored (duplicates not counted)");
    private readonly Counter<long> _deadLettered = meterFactory.Create("SmartHub.CoreService.Usage")
        .CreateCounter<long>("smarthub.usage.records.dead_lettered", "{record}", "Usage records that could not be stored and went to the dead-letter stream");

    /// <summary>This replica's consumer name in the group.</summary>
    public string ConsumerName => _consumer;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
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
                        // From the stream's start: records written before any CoreService ran are stored too.
                        await redis.StreamCreateConsumerGroupAsync(_options.StreamKey, _options.ConsumerGroup, "0", stoppingToken);
                        groupReady = true;
                    }

                    int handled;
                    if (ownPending)
                    {
                        handled = await HandleAsync(await ReadAsync("0", stoppingToken), stoppingToken);
                        ownPending = handled > 0;
                    }
                    else if (timeProvider.GetUtcNow() >= nextClaim)
                    {
                        var (claimed, next) = await redis.StreamAutoClaimAsync(
                            _options.StreamKey, _options.ConsumerGroup, _consumer, _options.ClaimMinIdle, _options.ReadCount, "0-0", stoppingToken);
                        if (claimed.Count > 0)
                        {
                            LogClaimed(logger, claimed.Count);
                        }

                        handled = await HandleAsync(claimed, stoppingToken);
                        nextClaim = next == "0-0" ? timeProvider.GetUtcNow() + _options.ClaimInterval : nextClaim;
                    }
                    else
                    {
                        handled = await HandleAsync(await ReadAsync(">", stoppingToken), stoppingToken);
                    }

                    if (backoff > TimeSpan.Zero)
                    {
                        backoff = TimeSpan.Zero;
                        LogRecovered(logger);
                    }

                    if (handled == 0)
                    {
                        await Task.Delay(_options.PollInterval, timeProvider, stoppingToken);
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
                        LogFailed(logger, ex is NpgsqlException ? PostgresFailure.Describe(ex) : ex.Message, backoff);
                    }

                    await Task.Delay(backoff, timeProvider, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static bool IsRetryable(Exception ex) =>
        ex is RedisException or NpgsqlException or TimeoutException || PostgresFailure.IsTransient(ex);

    private Task<IReadOnlyList<RedisStreamEntry>> ReadAsync(string id, CancellationToken cancellationToken) =>
        redis.StreamReadGroupAsync(_options.StreamKey, _options.ConsumerGroup, _consumer, _options.ReadCount, id, cancellationToken);

    /// <summary>Stores each entry's records, then acknowledges and deletes the entries. Returns the number of entries.</summary>
    internal async Task<int> HandleAsync(IReadOnlyList<RedisStreamEntry> entries, CancellationToken cancellationToken)
    {
        if (entries.Count == 0)
        {
            return 0;
        }

        var done = new string[entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            await HandleEntryAsync(entries[i], cancellationToken);
            done[i] = entries[i].Id;
        }

        await redis.StreamAcknowledgeAsync(_options.StreamKey, _options.ConsumerGroup, done, cancellationToken);
        await redis.StreamDeleteAsync(_options.StreamKey, done, cancellationToken);
        return entries.Count;
    }

    private async Task HandleEntryAsync(RedisStreamEntry entry, CancellationToken cancellationToken)
    {
        IReadOnlyList<UsageRecord> records;
        try
        {
            if (entry[UsageRecordBatch.Fields.Version].AsString() != UsageRecordBatch.FormatVersion)
            {
                await DeadLetterAsync(entry, null, $"unknown format version '{entry[UsageRecordBatch.Fields.Version].AsString()}'", 1, cancellationToken);
                return;
            }

            records = UsageRecordBatch.Decode(entry[UsageRecordBatch.Fields.Records].AsBytes() ?? []);
        }
        catch (Exception ex) when (ex is JsonException or InvalidCastException or NotSupportedException)
        {
            await DeadLetterAsync(entry, null, "malformed records: " + ex.Message, 1, cancellationToken);
            return;
        }

        var now = timeProvider.GetUtcNow();
        var valid = new List<UsageRecord>(records.Count);
        foreach (var record in records)
        {
            if (record?.Validate(now) is { } problem)
            {
                await DeadLetterAsync(entry, record, problem, 1, cancellationToken);
            }
            else if (record is not null)
            {
                valid.Add(record);
            }
        }

        try
        {
            _stored.Add(await StoreWithRetryAsync(valid, cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("23", StringComparison.Ordinal))
        {
            // Data the database refuses (e.g. a NUL character in a model name): it would be refused forever.
            await DeadLetterAsync(entry, null, $"refused by the database: {ex.SqlState} {ex.MessageText}", valid.Count, cancellationToken);
        }
    }

    private async Task<int> StoreWithRetryAsync(List<UsageRecord> records, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.StoreAsync(records, cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure && attempt < 3)
            {
                // Two replicas adding to the same rollup rows: the transaction rolled back whole; try again.
            }
        }
    }

    private async Task DeadLetterAsync(RedisStreamEntry entry, UsageRecord? record, string reason, int count, CancellationToken cancellationToken)
    {
        var payload = record is null
            ? entry[UsageRecordBatch.Fields.Records].AsBytes() ?? []
            : JsonSerializer.SerializeToUtf8Bytes(record);
        await redis.StreamAddAsync(
            _options.DeadLetterStreamKey,
            [
                new("entry", entry.Id),
                new("reason", reason),
                new("records", payload),
                new("at", timeProvider.GetUtcNow().ToString("O", CultureInfo.InvariantCulture)),
            ],
            maxLenApprox: 100_000,
            cancellationToken);
        _deadLettered.Add(count);
        LogDeadLettered(logger, entry.Id, reason, _options.DeadLetterStreamKey);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage stream entry {EntryId}: a record could not be stored ({Reason}); kept in {DeadLetterStream}")]
    private static partial void LogDeadLettered(ILogger logger, string entryId, string reason, string deadLetterStream);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage records cannot be stored right now ({Reason}); retrying in {Backoff}, nothing is acknowledged until stored")]
    private static partial void LogFailed(ILogger logger, string reason, TimeSpan backoff);

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage records are stored again")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over {Count} usage stream entries left unacknowledged by a stopped consumer")]
    private static partial void LogClaimed(ILogger logger, int count);
}
