using Npgsql;

namespace SmartHub.CoreService.Monitoring;

/// <summary>A period [From, To) read at one rollup grain ('m', 'h' or 'd'); From and To are aligned to it.</summary>
public sealed record MonitoringPeriod(DateTimeOffset From, DateTimeOffset To, char Grain)
{
    public TimeSpan GrainSize => GrainSizeOf(Grain);

    public static TimeSpan GrainSizeOf(char grain) => grain switch
    {
        'm' => TimeSpan.FromMinutes(1),
        'h' => TimeSpan.FromHours(1),
        _ => TimeSpan.FromDays(1),
    };
}

/// <summary>One endpoint's (or group's) response times over a period, merged from rollup rows.</summary>
public sealed class ResponseTimeStats
{
    public string Service { get; init; } = "";

    public string Method { get; init; } = "";

    public string Endpoint { get; init; } = "";

    public string Tier { get; set; } = "";

    public int ThresholdMs { get; set; }

    public long Count { get; private set; }

    public long Errors { get; private set; }

    public long ClientErrors { get; private set; }

    public long Slow { get; private set; }

    public double SumMs { get; private set; }

    public double MaxMs { get; private set; }

    public long[] Histogram { get; } = new long[ResponseTimeHistogram.Buckets];

    public double? AverageMs => Count == 0 ? null : SumMs / Count;

    public double? Percentile(double quantile) => ResponseTimeHistogram.Percentile(Histogram, quantile, MaxMs);

    /// <summary>P95 within the tier's threshold: at least 95% of the requests were at or under it.</summary>
    public bool MeetsSla => Slow * 20 <= Count;

    internal void Add(long count, long errors, long clientErrors, long slow, double sumMs, double maxMs, int[] histogram)
    {
        Count += count;
        Errors += errors;
        ClientErrors += clientErrors;
        Slow += slow;
        SumMs += sumMs;
        MaxMs = Math.Max(MaxMs, maxMs);
        for (var i = 0; i < histogram.Length && i < Histogram.Length; i++)
        {
            Histogram[i] += histogram[i];
        }
    }

    internal void Add(ResponseTimeStats other)
    {
        Count += other.Count;
        Errors += other.Errors;
        ClientErrors += other.ClientErrors;
        Slow += other.Slow;
        SumMs += other.SumMs;
        MaxMs = Math.Max(MaxMs, other.MaxMs);
        for (var i = 0; i < Histogram.Length; i++)
        {
            Histogram[i] += other.Histogram[i];
        }
    }
}

/// <summary>An endpoint window (a minute, or an hour past the minute rollups' retention) whose P95 exceeded its tier's threshold.</summary>
public sealed record SlaViolation(
    DateTimeOffset Start, DateTimeOffset End, string Service, string Method, string Endpoint, string Tier, int ThresholdMs,
    double MeasuredP95Ms, double MaxMs, long Requests, long SlowRequests);

public sealed record PerformanceBaseline(
    DateOnly Day, string Service, string Method, string Endpoint, long Count, double P50Ms, double P90Ms, double P95Ms, double P99Ms, double AverageMs, DateTimeOffset ComputedAt);

/// <summary>Filters shared by the monitoring queries (null: any).</summary>
public sealed record MonitoringFilter(string? Service = null, string? Tier = null, string? Method = null, string? Endpoint = null);

/// <summary>Reads the response-time rollups and baselines of coredb (Migrations/0006_response_times.sql).</summary>
public sealed class MonitoringQueries(NpgsqlDataSource dataSource)
{
    private const string Filters =
        " AND ($4::text IS NULL OR service = $4) AND ($5::text IS NULL OR tier = $5) AND ($6::text IS NULL OR method = $6) AND ($7::text IS NULL OR endpoint = $7)";

    /// <summary>Per endpoint over the period.</summary>
    public async Task<IReadOnlyList<ResponseTimeStats>> EndpointsAsync(MonitoringPeriod period, MonitoringFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(period);
        var stats = new Dictionary<(string, string, string), ResponseTimeStats>();
        await ReadRollupsAsync(period, filter, (bucket, stat) =>
        {
            var key = (stat.Service, stat.Method, stat.Endpoint);
            if (!stats.TryGetValue(key, out var merged))
            {
                stats[key] = merged = new ResponseTimeStats { Service = stat.Service, Method = stat.Method, Endpoint = stat.Endpoint };
            }

            merged.Tier = stat.Tier;
            merged.ThresholdMs = stat.ThresholdMs;
            merged.Add(stat);
        }, cancellationToken);
        return [.. stats.Values];
    }

    /// <summary>Time slots of <paramref name="slot"/> (a multiple of the period's grain) from the period's start.</summary>
    public async Task<IReadOnlyList<(DateTimeOffset Start, ResponseTimeStats Stats)>> TrendsAsync(
        MonitoringPeriod period, TimeSpan slot, MonitoringFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(period);
        var slots = new SortedDictionary<DateTimeOffset, ResponseTimeStats>();
        for (var start = period.From; start < period.To; start += slot)
        {
            slots[start] = new ResponseTimeStats { Endpoint = "*" };
        }

        await ReadRollupsAsync(period, filter, (bucket, stat) =>
        {
            var start = period.From + TimeSpan.FromTicks((bucket - period.From).Ticks / slot.Ticks * slot.Ticks);
            if (slots.TryGetValue(start, out var merged))
            {
                merged.Add(stat);
            }
        }, cancellationToken);
        return [.. slots.Select(s => (s.Key, s.Value))];
    }

    /// <summary>Status codes per endpoint over the period.</summary>
    public async Task<Dictionary<(string Service, string Method, string Endpoint), Dictionary<int, long>>> StatusesAsync(
        MonitoringPeriod period, MonitoringFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(period);
        ArgumentNullException.ThrowIfNull(filter);
        await using var command = dataSource.CreateCommand(
            "SELECT service, method, endpoint, status, sum(count)::bigint FROM response_time_statuses "
            + "WHERE grain = $1::\"char\" AND bucket >= $2 AND bucket < $3 AND ($4::text IS NULL OR service = $4) AND ($5::text IS NULL OR method = $5) "
            + "GROUP BY 1, 2, 3, 4");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = period.Grain.ToString() });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = period.From.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = period.To.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Service ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Method ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var result = new Dictionary<(string, string, string), Dictionary<int, long>>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var key = (reader.GetString(0), reader.GetString(1), reader.GetString(2));
            if (!result.TryGetValue(key, out var codes))
            {
                result[key] = codes = [];
            }

            codes[reader.GetInt16(3)] = reader.GetInt64(4);
        }

        return result;
    }

    /// <summary>Windows of the period's grain whose P95 exceeded the threshold, newest first.</summary>
    public async Task<IReadOnlyList<SlaViolation>> ViolationsAsync(MonitoringPeriod period, MonitoringFilter filter, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(period);
        await using var command = dataSource.CreateCommand(
            "SELECT bucket, service, method, endpoint, tier, threshold_ms, count, errors, client_errors, slow, sum_ms, max_ms, histogram "
            + "FROM response_time_rollups WHERE grain = $1::\"char\" AND bucket >= $2 AND bucket < $3" + Filters + " AND slow * 20 > count "
            + "ORDER BY bucket DESC, service, method, endpoint LIMIT $8");
        AddParameters(command, period, filter);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        var violations = new List<SlaViolation>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var start = new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero);
            var stat = ReadStats(reader, 1);
            violations.Add(new SlaViolation(
                start, start + period.GrainSize, stat.Service, stat.Method, stat.Endpoint, stat.Tier, stat.ThresholdMs,
                Math.Round(stat.Percentile(0.95) ?? 0, 3), Math.Round(stat.MaxMs, 3), stat.Count, stat.Slow));
        }

        return violations;
    }

    /// <summary>How many windows of the period's grain had a P95 over the threshold.</summary>
    public async Task<long> ViolationCountAsync(MonitoringPeriod period, MonitoringFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(period);
        await using var command = dataSource.CreateCommand(
            "SELECT count(*) FROM response_time_rollups WHERE grain = $1::\"char\" AND bucket >= $2 AND bucket < $3" + Filters + " AND slow * 20 > count");
        AddParameters(command, period, filter);
        return (long)(await command.ExecuteScalarAsync(cancellationToken) ?? 0L);
    }

    /// <summary>The baselines of <paramref name="day"/> (null: each endpoint's latest).</summary>
    public async Task<IReadOnlyList<PerformanceBaseline>> BaselinesAsync(DateOnly? day, MonitoringFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using var command = dataSource.CreateCommand(
            "SELECT DISTINCT ON (service, method, endpoint) day, service, method, endpoint, count, p50_ms, p90_ms, p95_ms, p99_ms, avg_ms, computed_at "
            + "FROM performance_baselines WHERE ($1::date IS NULL OR day = $1) AND ($2::text IS NULL OR service = $2) AND ($3::text IS NULL OR method = $3) "
            + "AND ($4::text IS NULL OR endpoint = $4) ORDER BY service, method, endpoint, day DESC");
        command.Parameters.Add(new NpgsqlParameter { Value = day is { } d ? d : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Date });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Service ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Method ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Endpoint ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        var baselines = new List<PerformanceBaseline>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            baselines.Add(new PerformanceBaseline(
                reader.GetFieldValue<DateOnly>(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
                reader.GetDouble(5), reader.GetDouble(6), reader.GetDouble(7), reader.GetDouble(8), reader.GetDouble(9),
                reader.GetFieldValue<DateTimeOffset>(10)));
        }

        return baselines;
    }

    /// <summary>
    /// Computes the baselines of one UTC day from its samples, exactly (percentile_cont: linear interpolation between
    /// the closest ranks), replacing those computed before. Returns the endpoints computed.
    /// </summary>
    public async Task<int> ComputeBaselinesAsync(DateOnly day, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            INSERT INTO performance_baselines AS b (day, service, method, endpoint, count, p50_ms, p90_ms, p95_ms, p99_ms, avg_ms, computed_at)
            SELECT $1, service, method, endpoint, count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms), percentile_cont(0.9) WITHIN GROUP (ORDER BY duration_ms),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms), percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms),
                   avg(duration_ms), $4
            FROM response_time_samples WHERE at >= $2 AND at < $3
            GROUP BY service, method, endpoint
            ON CONFLICT (day, service, method, endpoint) DO UPDATE SET
                count = EXCLUDED.count, p50_ms = EXCLUDED.p50_ms, p90_ms = EXCLUDED.p90_ms, p95_ms = EXCLUDED.p95_ms,
                p99_ms = EXCLUDED.p99_ms, avg_ms = EXCLUDED.avg_ms, computed_at = EXCLUDED.computed_at
            """);
        var start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = day });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = start });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = start.AddDays(1) });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = now.UtcDateTime });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Days from <paramref name="since"/> to before <paramref name="before"/> whose baselines are missing or stale: the
    /// samples of the day (its daily rollups) number more than its baselines counted — samples that arrived late.
    /// </summary>
    public async Task<IReadOnlyList<DateOnly>> DaysToBaselineAsync(DateOnly since, DateOnly before, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT d.day FROM (
                SELECT (bucket AT TIME ZONE 'UTC')::date AS day, sum(count) AS samples FROM response_time_rollups
                WHERE grain = 'd' AND bucket >= $1::date::timestamp AT TIME ZONE 'UTC' AND bucket < $2::date::timestamp AT TIME ZONE 'UTC'
                GROUP BY 1) d
            LEFT JOIN (SELECT day, sum(count) AS samples FROM performance_baselines WHERE day >= $1 AND day < $2 GROUP BY 1) b USING (day)
            WHERE b.samples IS DISTINCT FROM d.samples
            ORDER BY 1
            """);
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = since });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = before });
        var days = new List<DateOnly>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            days.Add(reader.GetFieldValue<DateOnly>(0));
        }

        return days;
    }

    /// <summary>Deletes what retention no longer keeps: sample partitions (whole days), batch ids, rollups per grain and old baselines.</summary>
    public async Task<int> ApplyRetentionAsync(MonitoringOptions options, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sampleCutoff = (now - options.SampleRetention).UtcDateTime.Date;
        var dropped = 0;
        await using (var partitions = dataSource.CreateCommand(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            + "WHERE p.relname = 'response_time_samples' ORDER BY 1"))
        {
            var names = new List<string>();
            await using (var reader = await partitions.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    names.Add(reader.GetString(0));
                }
            }

            foreach (var name in names)
            {
                if (DateTime.TryParseExact(name["response_time_samples_".Length..], "yyyy_MM_dd", System.Globalization.CultureInfo.InvariantCulture,
                        System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var day)
                    && day < sampleCutoff)
                {
                    await using var drop = dataSource.CreateCommand($"DROP TABLE IF EXISTS \"{name}\"");
                    await drop.ExecuteNonQueryAsync(cancellationToken);
                    dropped++;
                }
            }
        }

        await using var delete = dataSource.CreateBatch();
        AddDelete(delete, "DELETE FROM response_time_batches WHERE stored_at < $1", sampleCutoff);
        AddDelete(delete, "DELETE FROM response_time_rollups WHERE grain = 'm' AND bucket < $1", (now - options.MinuteRollupRetention).UtcDateTime);
        AddDelete(delete, "DELETE FROM response_time_statuses WHERE grain = 'm' AND bucket < $1", (now - options.MinuteRollupRetention).UtcDateTime);
        AddDelete(delete, "DELETE FROM response_time_rollups WHERE grain = 'h' AND bucket < $1", sampleCutoff);
        AddDelete(delete, "DELETE FROM response_time_statuses WHERE grain = 'h' AND bucket < $1", sampleCutoff);
        AddDelete(delete, "DELETE FROM response_time_rollups WHERE grain = 'd' AND bucket < $1", (now - options.DayRollupRetention).UtcDateTime);
        AddDelete(delete, "DELETE FROM response_time_statuses WHERE grain = 'd' AND bucket < $1", (now - options.DayRollupRetention).UtcDateTime);
        AddDelete(delete, "DELETE FROM performance_baselines WHERE day < $1::date", (now - options.DayRollupRetention).UtcDateTime);
        await delete.ExecuteNonQueryAsync(cancellationToken);
        return dropped;
    }

    private static void AddDelete(NpgsqlBatch batch, string sql, DateTime cutoff)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = DateTime.SpecifyKind(cutoff, DateTimeKind.Utc) });
        batch.BatchCommands.Add(command);
    }

    private async Task ReadRollupsAsync(MonitoringPeriod period, MonitoringFilter filter, Action<DateTimeOffset, ResponseTimeStats> each, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT bucket, service, method, endpoint, tier, threshold_ms, count, errors, client_errors, slow, sum_ms, max_ms, histogram "
            + "FROM response_time_rollups WHERE grain = $1::\"char\" AND bucket >= $2 AND bucket < $3" + Filters);
        AddParameters(command, period, filter);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            each(new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero), ReadStats(reader, 1));
        }
    }

    private static ResponseTimeStats ReadStats(NpgsqlDataReader reader, int first)
    {
        var stats = new ResponseTimeStats
        {
            Service = reader.GetString(first),
            Method = reader.GetString(first + 1),
            Endpoint = reader.GetString(first + 2),
            Tier = reader.GetString(first + 3),
            ThresholdMs = reader.GetInt32(first + 4),
        };
        stats.Add(
            reader.GetInt64(first + 5), reader.GetInt64(first + 6), reader.GetInt64(first + 7), reader.GetInt64(first + 8),
            reader.GetDouble(first + 9), reader.GetDouble(first + 10), reader.GetFieldValue<int[]>(first + 11));
        return stats;
    }

    private static void AddParameters(NpgsqlCommand command, MonitoringPeriod period, MonitoringFilter filter)
    {
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = period.Grain.ToString() });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = period.From.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = period.To.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Service ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Tier ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Method ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Endpoint ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
    }
}
