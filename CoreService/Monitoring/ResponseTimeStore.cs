using Npgsql;
using NpgsqlTypes;

namespace SmartHub.CoreService.Monitoring;

/// <summary>A stream entry's samples, with the gateway's batch id.</summary>
public sealed record SampleBatch(string BatchId, IReadOnlyList<ResponseTimeSample> Samples);

/// <summary>
/// Writes response-time samples to coredb (Migrations/0006_response_times.sql): in one transaction, the batch ids
/// (batches seen before are skipped: exactly once), the samples (binary COPY) and the rollups per minute, hour and day.
/// </summary>
public sealed class ResponseTimeStore(NpgsqlDataSource dataSource, SlaClassifier classifier, TimeProvider timeProvider)
{
    private static readonly char[] s_grains = ['m', 'h', 'd'];

    /// <summary>Stores the batches not stored before; returns how many samples were new.</summary>
    public async Task<int> StoreAsync(IReadOnlyList<SampleBatch> batches, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var withSamples = batches.Where(b => b.Samples.Count > 0).ToList();
        if (withSamples.Count == 0)
        {
            return 0;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var fresh = await ClaimBatchesAsync(connection, withSamples.Select(b => b.BatchId).Distinct(StringComparer.Ordinal).ToArray(), cancellationToken);
        var samples = withSamples.Where(b => fresh.Remove(b.BatchId)).SelectMany(b => b.Samples).ToList();
        if (samples.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return 0;
        }

        var rows = new List<StoredSample>(samples.Count);
        foreach (var sample in samples)
        {
            var tier = classifier.TierOf(sample.Path!);
            rows.Add(new StoredSample(
                DateTimeOffset.FromUnixTimeMilliseconds(sample.Time), sample.Service!, sample.Method!,
                classifier.EndpointOf(sample.Service!, sample.Path!, sample.Status), sample.Path!, (short)sample.Status, sample.DurationMs, tier, sample.CorrelationId));
        }

        await using (var ensure = new NpgsqlCommand("SELECT response_time_ensure_partitions($1, $2)", connection))
        {
            ensure.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = rows.Min(r => r.At).UtcDateTime });
            ensure.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = rows.Max(r => r.At).UtcDateTime });
            await ensure.ExecuteNonQueryAsync(cancellationToken);
        }

        await CopySamplesAsync(connection, rows, cancellationToken);
        await AddRollupsAsync(connection, rows, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rows.Count;
    }

    private async Task<HashSet<string>> ClaimBatchesAsync(NpgsqlConnection connection, string[] batchIds, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO response_time_batches (batch_id, stored_at) SELECT unnest($1), $2 ON CONFLICT DO NOTHING RETURNING batch_id", connection);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = batchIds });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = timeProvider.GetUtcNow().UtcDateTime });
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            fresh.Add(reader.GetString(0));
        }

        return fresh;
    }

    private static async Task CopySamplesAsync(NpgsqlConnection connection, List<StoredSample> rows, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync(
            "COPY response_time_samples (at, service, method, endpoint, path, status, duration_ms, tier, threshold_ms, correlation_id) FROM STDIN (FORMAT BINARY)",
            cancellationToken);
        foreach (var row in rows)
        {
            await copy.StartRowAsync(cancellationToken);
            await copy.WriteAsync(row.At.UtcDateTime, NpgsqlDbType.TimestampTz, cancellationToken);
            await copy.WriteAsync(row.Service, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(row.Method, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(row.Endpoint, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(row.Path, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(row.Status, NpgsqlDbType.Smallint, cancellationToken);
            await copy.WriteAsync(row.DurationMs, NpgsqlDbType.Double, cancellationToken);
            await copy.WriteAsync(row.Tier.Name, NpgsqlDbType.Text, cancellationToken);
            await copy.WriteAsync(row.Tier.ThresholdMs, NpgsqlDbType.Integer, cancellationToken);
            if (string.IsNullOrEmpty(row.CorrelationId))
            {
                await copy.WriteNullAsync(cancellationToken);
            }
            else
            {
                await copy.WriteAsync(row.CorrelationId, NpgsqlDbType.Text, cancellationToken);
            }
        }

        await copy.CompleteAsync(cancellationToken);
    }

    private static async Task AddRollupsAsync(NpgsqlConnection connection, List<StoredSample> rows, CancellationToken cancellationToken)
    {
        var rollups = new Dictionary<RollupKey, Rollup>();
        var statuses = new Dictionary<(RollupKey Key, short Status), long>();
        foreach (var row in rows)
        {
            foreach (var grain in s_grains)
            {
                var key = new RollupKey(grain, Truncate(row.At, grain), row.Service, row.Method, row.Endpoint);
                if (!rollups.TryGetValue(key, out var rollup))
                {
                    rollups[key] = rollup = new Rollup(row.Tier);
                }

                rollup.Add(row);
                statuses[(key, row.Status)] = statuses.GetValueOrDefault((key, row.Status)) + 1;
            }
        }

        var n = rollups.Count;
        var (grains, buckets, services, methods, endpoints) = (new string[n], new DateTime[n], new string[n], new string[n], new string[n]);
        var (tiers, thresholds, counts, errors, clientErrors, slow) = (new string[n], new int[n], new long[n], new long[n], new long[n], new long[n]);
        var (sums, maxima, histograms) = (new double[n], new double[n], new int[n * ResponseTimeHistogram.Buckets]);
        var i = 0;
        foreach (var (key, rollup) in rollups)
        {
            (grains[i], buckets[i], services[i], methods[i], endpoints[i]) = (key.Grain.ToString(), key.Bucket, key.Service, key.Method, key.Endpoint);
            (tiers[i], thresholds[i], counts[i], errors[i], clientErrors[i], slow[i]) = (rollup.Tier.Name, rollup.Tier.ThresholdMs, rollup.Count, rollup.Errors, rollup.ClientErrors, rollup.Slow);
            (sums[i], maxima[i]) = (rollup.SumMs, rollup.MaxMs);
            rollup.Histogram.CopyTo(histograms, i * ResponseTimeHistogram.Buckets);
            i++;
        }

        await using var batch = new NpgsqlBatch(connection);
        var add = new NpgsqlBatchCommand("SELECT response_time_add_rollups($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)");
        add.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = grains });
        add.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = buckets, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        add.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = services });
        add.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = methods });
        add.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = endpoints });
        add.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = tiers });
        add.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = thresholds });
        add.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = counts });
        add.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = errors });
        add.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = clientErrors });
        add.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = slow });
        add.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = sums });
        add.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = maxima });
        add.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = histograms });
        add.Parameters.Add(new NpgsqlParameter<int> { TypedValue = ResponseTimeHistogram.Buckets });
        batch.BatchCommands.Add(add);

        var m = statuses.Count;
        var (sGrains, sBuckets, sServices, sMethods, sEndpoints, sStatuses, sCounts) =
            (new string[m], new DateTime[m], new string[m], new string[m], new string[m], new short[m], new long[m]);
        var j = 0;
        foreach (var ((key, status), count) in statuses)
        {
            (sGrains[j], sBuckets[j], sServices[j], sMethods[j], sEndpoints[j], sStatuses[j], sCounts[j]) = (key.Grain.ToString(), key.Bucket, key.Service, key.Method, key.Endpoint, status, count);
            j++;
        }

        var addStatuses = new NpgsqlBatchCommand("SELECT response_time_add_statuses($1, $2, $3, $4, $5, $6, $7)");
        addStatuses.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = sGrains });
        addStatuses.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = sBuckets, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        addStatuses.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = sServices });
        addStatuses.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = sMethods });
        addStatuses.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = sEndpoints });
        addStatuses.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = sStatuses });
        addStatuses.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sCounts });
        batch.BatchCommands.Add(addStatuses);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The start of the minute, hour or UTC day holding <paramref name="at"/>.</summary>
    public static DateTime Truncate(DateTimeOffset at, char grain)
    {
        var utc = at.UtcDateTime;
        return grain switch
        {
            'm' => new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, DateTimeKind.Utc),
            'h' => new DateTime(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, DateTimeKind.Utc),
            _ => new DateTime(utc.Year, utc.Month, utc.Day, 0, 0, 0, DateTimeKind.Utc),
        };
    }

    private sealed record StoredSample(
        DateTimeOffset At, string Service, string Method, string Endpoint, string Path, short Status, double DurationMs, SlaTier Tier, string? CorrelationId);

    private readonly record struct RollupKey(char Grain, DateTime Bucket, string Service, string Method, string Endpoint);

    private sealed class Rollup(SlaTier tier)
    {
        public SlaTier Tier { get; } = tier;

        public long Count { get; private set; }

        public long Errors { get; private set; }

        public long ClientErrors { get; private set; }

        public long Slow { get; private set; }

        public double SumMs { get; private set; }

        public double MaxMs { get; private set; }

        public int[] Histogram { get; } = new int[ResponseTimeHistogram.Buckets];

        public void Add(StoredSample sample)
        {
            Count++;
            Errors += sample.Status >= 500 ? 1 : 0;
            ClientErrors += sample.Status is >= 400 and < 500 ? 1 : 0;
            Slow += sample.DurationMs > Tier.ThresholdMs ? 1 : 0;
            SumMs += sample.DurationMs;
            MaxMs = Math.Max(MaxMs, sample.DurationMs);
            Histogram[ResponseTimeHistogram.BucketOf(sample.DurationMs)]++;
        }
    }
}
