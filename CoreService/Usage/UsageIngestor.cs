using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Streams;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.CoreService.Usage;

/// <summary>
/// Stores usage records from the Redis stream (<see cref="UsageRecordBatch"/>) into coredb, through
/// <see cref="RedisStreamConsumer"/> (one consumer group for every replica, acknowledged after commit, pending entries
/// of a crashed replica taken over, the unstorable dead-lettered). A record stored twice (a redelivered entry) meets
/// its primary key and is stored once.
/// </summary>
public sealed class UsageIngestor(
    IRedisClient redis,
    UsageStore store,
    DatabaseReadiness readiness,
    IOptions<UsageOptions> options,
    IMeterFactory meterFactory,
    TimeProvider timeProvider,
    ILogger<UsageIngestor> logger) : RedisStreamConsumer(redis, readiness, timeProvider, logger)
{
    private readonly Counter<long> _stored = meterFactory.Create("SmartHub.CoreService.Usage")
        .CreateCounter<long>("smarthub.usage.records.stored", "{record}", "Usage records stored (duplicates not counted)");
    private readonly Counter<long> _deadLettered = meterFactory.Create("SmartHub.CoreService.Usage")
        .CreateCounter<long>("smarthub.usage.records.dead_lettered", "{record}", "Usage records that could not be stored and went to the dead-letter stream");

    protected override StreamConsumerSettings Settings { get; } = options.Value.ToSettings();

    protected override string What => "Usage records";

    protected override async Task StoreAsync(IReadOnlyList<RedisStreamEntry> entries, CancellationToken cancellationToken)
    {
        foreach (var entry in entries)
        {
            await HandleEntryAsync(entry, cancellationToken);
        }
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

        var now = Time.GetUtcNow();
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
        await DeadLetterAsync(entry, reason, "records", payload, cancellationToken);
        _deadLettered.Add(count);
    }
}
