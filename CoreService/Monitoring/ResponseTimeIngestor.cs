using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Streams;

namespace SmartHub.CoreService.Monitoring;

/// <summary>
/// Stores the gateway's response-time samples from the Redis stream into coredb (<see cref="ResponseTimeStore"/>),
/// through <see cref="RedisStreamConsumer"/>: one consumer group for every replica, a round of entries stored in one
/// transaction and acknowledged after it committed, pending entries of a crashed replica taken over, a batch seen
/// before skipped by its id — so a restart loses no sample and stores none twice. Entries that can never be stored go
/// to the dead-letter stream.
/// </summary>
public sealed class ResponseTimeIngestor(
    IRedisClient redis,
    ResponseTimeStore store,
    DatabaseReadiness readiness,
    IOptions<MonitoringOptions> options,
    IMeterFactory meterFactory,
    TimeProvider timeProvider,
    ILogger<ResponseTimeIngestor> logger) : RedisStreamConsumer(redis, readiness, timeProvider, logger)
{
    private const string SamplesField = "samples";
    private readonly Counter<long> _stored = meterFactory.Create("SmartHub.CoreService.Monitoring")
        .CreateCounter<long>("smarthub.response_times.samples.stored", "{sample}", "Response-time samples stored (duplicates not counted)");
    private readonly Counter<long> _deadLettered = meterFactory.Create("SmartHub.CoreService.Monitoring")
        .CreateCounter<long>("smarthub.response_times.samples.dead_lettered", "{sample}", "Response-time samples that could not be stored and went to the dead-letter stream");

    protected override StreamConsumerSettings Settings { get; } = options.Value.ToSettings();

    protected override string What => "Response-time samples";

    protected override async Task StoreAsync(IReadOnlyList<RedisStreamEntry> entries, CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow();
        var batches = new List<(RedisStreamEntry Entry, SampleBatch Batch)>(entries.Count);
        foreach (var entry in entries)
        {
            IReadOnlyList<ResponseTimeSample> samples;
            try
            {
                if (entry["v"].AsString() != ResponseTimeSample.FormatVersion)
                {
                    await DeadLetterAsync(entry, $"unknown format version '{entry["v"].AsString()}'", 1, cancellationToken);
                    continue;
                }

                samples = ResponseTimeSample.Decode(entry[SamplesField].AsBytes() ?? []);
            }
            catch (Exception ex) when (ex is JsonException or InvalidCastException or NotSupportedException)
            {
                await DeadLetterAsync(entry, "malformed samples: " + ex.Message, 1, cancellationToken);
                continue;
            }

            var valid = new List<ResponseTimeSample>(samples.Count);
            var invalid = 0;
            string? problem = null;
            foreach (var sample in samples)
            {
                if ((sample is null ? "null sample" : sample.Validate(now)) is { } reason)
                {
                    invalid++;
                    problem ??= reason;
                }
                else
                {
                    valid.Add(sample!);
                }
            }

            if (invalid > 0)
            {
                await DeadLetterAsync(entry, $"{invalid} invalid samples: {problem}", invalid, cancellationToken);
            }

            // An entry without a batch id (not the gateway's) is identified by its stream id.
            var batchId = entry["batch"].AsString() is { Length: > 0 } id ? id : "entry:" + entry.Id;
            batches.Add((entry, new SampleBatch(batchId, valid)));
        }

        try
        {
            _stored.Add(await StoreWithRetryAsync([.. batches.Select(b => b.Batch)], cancellationToken));
        }
        catch (PostgresException ex) when (ex.SqlState.StartsWith("22", StringComparison.Ordinal) || ex.SqlState.StartsWith("23", StringComparison.Ordinal))
        {
            // Data the database refuses (e.g. a NUL character in a path) would be refused forever: each entry alone,
            // so only the one at fault goes to the dead-letter stream.
            foreach (var (entry, batch) in batches)
            {
                try
                {
                    _stored.Add(await StoreWithRetryAsync([batch], cancellationToken));
                }
                catch (PostgresException one) when (one.SqlState.StartsWith("22", StringComparison.Ordinal) || one.SqlState.StartsWith("23", StringComparison.Ordinal))
                {
                    await DeadLetterAsync(entry, $"refused by the database: {one.SqlState} {one.MessageText}", batch.Samples.Count, cancellationToken);
                }
            }
        }
    }

    private async Task<int> StoreWithRetryAsync(IReadOnlyList<SampleBatch> batches, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await store.StoreAsync(batches, cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.UniqueViolation && attempt < 3)
            {
                // Two replicas adding the same rollup rows or claiming the same batch: rolled back whole; try again.
            }
        }
    }

    private async Task DeadLetterAsync(RedisStreamEntry entry, string reason, int count, CancellationToken cancellationToken)
    {
        await DeadLetterAsync(entry, reason, SamplesField, entry[SamplesField].AsBytes() ?? [], cancellationToken);
        _deadLettered.Add(count);
    }
}
