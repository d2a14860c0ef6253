using System.Text;
using Npgsql;

namespace SmartHub.CoreService.Usage;

/// <summary>What usage can be grouped by.</summary>
public enum UsageDimension
{
    Total,
    Day,
    Model,
    ApiKey,
    User,
}

/// <summary>Sums over a group of requests; averages are null when there was no request (or no first-token time).</summary>
public record UsageFigures(
    long Requests,
    long Errors,
    long CacheHits,
    long PromptTokens,
    long CompletionTokens,
    long TotalTokens,
    long Credits,
    double? AverageLatencyMs,
    double? AverageTimeToFirstTokenMs)
{
    public static readonly UsageFigures Zero = new(0, 0, 0, 0, 0, 0, 0, null, null);
}

/// <summary>One group: the dimension it belongs to and its key columns (the others are null).</summary>
public sealed record UsageGroup(UsageDimension Dimension, DateOnly? Day, Guid? UserId, Guid? ApiKeyId, string? Model, string? Provider, UsageFigures Figures);

/// <summary>
/// A period [From, To) split for the storage: whole UTC days are read from the daily rollup, the partial days at either
/// edge from the raw records, so any period is exact while a long one reads only rollup rows.
/// </summary>
public readonly record struct UsagePeriod(DateTimeOffset From, DateTimeOffset To)
{
    public DateOnly FirstWholeDay => DateOnly.FromDateTime(From.UtcDateTime.TimeOfDay == TimeSpan.Zero ? From.UtcDateTime : From.UtcDateTime.Date.AddDays(1));

    public DateOnly EndOfWholeDays => DateOnly.FromDateTime(To.UtcDateTime.Date);

    public bool HasWholeDays => FirstWholeDay < EndOfWholeDays;
}

/// <summary>Reads usage (Migrations/0004_usage.sql) grouped several ways in one scan (GROUPING SETS).</summary>
public sealed class UsageQueries(NpgsqlDataSource dataSource)
{
    /// <summary>The rollup's "no API key" (a signed-in session).</summary>
    public static readonly Guid SessionKey = Guid.Empty;

    // GROUPING(day, user_id, api_key_id, model, provider): a bit is 1 for a column the group is NOT by.
    private static readonly Dictionary<int, UsageDimension> s_masks = new()
    {
        [0b11111] = UsageDimension.Total,
        [0b01111] = UsageDimension.Day,
        [0b10111] = UsageDimension.User,
        [0b11011] = UsageDimension.ApiKey,
        [0b11100] = UsageDimension.Model,
    };

    /// <summary>
    /// Totals and one set of groups per dimension asked for, over the period, for one user (or everyone when
    /// <paramref name="userId"/> is null).
    /// </summary>
    public async Task<IReadOnlyList<UsageGroup>> QueryAsync(
        Guid? userId, UsagePeriod period, IReadOnlyCollection<UsageDimension> dimensions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        // Only columns some grouping set names may appear in GROUPING() or the select list; the others are constants.
        var grouped = new HashSet<string>(StringComparer.Ordinal);
        var sets = new StringBuilder("()");
        foreach (var dimension in dimensions)
        {
            string[] columns = dimension switch
            {
                UsageDimension.Day => ["day"],
                UsageDimension.User => ["user_id"],
                UsageDimension.ApiKey => ["api_key_id"],
                UsageDimension.Model => ["model", "provider"],
                _ => [],
            };
            if (columns.Length > 0)
            {
                sets.Append(", (").Append(string.Join(", ", columns)).Append(')');
                grouped.UnionWith(columns);
            }
        }

        string[] keyColumns = ["day", "user_id", "api_key_id", "model", "provider"];
        var mask = string.Join(" + ", keyColumns.Select((c, i) => $"{(grouped.Contains(c) ? $"GROUPING({c})" : "1")} * {1 << (keyColumns.Length - 1 - i)}"));
        var keys = string.Join(", ", keyColumns.Select(c => grouped.Contains(c) ? c : "NULL"));
        // The smallest rollup that has the columns asked for: across all users, by user or by model alone reads a
        // row per user (or model) and day instead of one per user, key and model.
        var rollup = grouped.Contains("api_key_id") || userId is not null || (grouped.Contains("user_id") && grouped.Contains("model"))
            ? "usage_daily"
            : grouped.Contains("model") ? "usage_daily_models" : "usage_daily_users";
        var rollupKeys = rollup switch
        {
            "usage_daily_users" => "day, user_id, NULL::uuid, NULL::text, NULL::text",
            "usage_daily_models" => "day, NULL::uuid, NULL::uuid, model, provider",
            _ => "day, user_id, api_key_id, model, provider",
        };
        var who = userId is null ? "true" : "user_id = $1";
        var sql = $"""
            WITH src AS (
                SELECT {rollupKeys}, requests, errors, cache_hits, prompt_tokens,
                       completion_tokens, credits, latency_ms_sum, ttft_ms_sum, ttft_count
                FROM {rollup}
                WHERE {who} AND day >= $2 AND day < $3
                UNION ALL
                SELECT (occurred_at AT TIME ZONE 'UTC')::date, user_id, coalesce(api_key_id, '00000000-0000-0000-0000-000000000000'),
                       model, provider, 1, (status >= 400)::int, cache_hit::int, prompt_tokens, completion_tokens, credits,
                       latency_ms, coalesce(ttft_ms, 0), (ttft_ms IS NOT NULL)::int
                FROM usage_records
                WHERE {who} AND ((occurred_at >= $4 AND occurred_at < $5) OR (occurred_at >= $6 AND occurred_at < $7))
            )
            SELECT {mask}, {keys},
                   sum(requests)::bigint, sum(errors)::bigint, sum(cache_hits)::bigint, sum(prompt_tokens)::bigint,
                   sum(completion_tokens)::bigint, sum(credits)::bigint, sum(latency_ms_sum), sum(ttft_ms_sum), sum(ttft_count)::bigint
            FROM src
            GROUP BY GROUPING SETS ({sets})
            """;

        // Whole days from the rollup; the raw records of the partial days at the edges (or of the whole period when
        // it has no whole day).
        DateOnly dayFrom, dayTo;
        DateTimeOffset headFrom, headTo, tailFrom, tailTo;
        if (period.HasWholeDays)
        {
            (dayFrom, dayTo) = (period.FirstWholeDay, period.EndOfWholeDays);
            (headFrom, headTo) = (period.From, ToTime(dayFrom));
            (tailFrom, tailTo) = (ToTime(dayTo), period.To);
        }
        else
        {
            (dayFrom, dayTo) = (default, default);
            (headFrom, headTo) = (period.From, period.To);
            (tailFrom, tailTo) = (period.To, period.To);
        }

        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = userId ?? Guid.Empty });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = dayFrom });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = dayTo });
        foreach (var time in (ReadOnlySpan<DateTimeOffset>)[headFrom, headTo, tailFrom, tailTo])
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.ToUniversalTime() });
        }

        var groups = new List<UsageGroup>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (!s_masks.TryGetValue(reader.GetInt32(0), out var dimension))
            {
                continue;
            }

            var requests = reader.IsDBNull(6) ? 0 : reader.GetInt64(6);
            var prompt = reader.IsDBNull(9) ? 0 : reader.GetInt64(9);
            var completion = reader.IsDBNull(10) ? 0 : reader.GetInt64(10);
            var ttftCount = reader.IsDBNull(14) ? 0 : reader.GetInt64(14);
            var figures = new UsageFigures(
                requests,
                reader.IsDBNull(7) ? 0 : reader.GetInt64(7),
                reader.IsDBNull(8) ? 0 : reader.GetInt64(8),
                prompt,
                completion,
                prompt + completion,
                reader.IsDBNull(11) ? 0 : reader.GetInt64(11),
                requests > 0 ? Math.Round(reader.GetDouble(12) / requests, 3) : null,
                ttftCount > 0 ? Math.Round(reader.GetDouble(13) / ttftCount, 3) : null);
            groups.Add(new UsageGroup(
                dimension,
                dimension == UsageDimension.Day ? reader.GetFieldValue<DateOnly>(1) : null,
                dimension == UsageDimension.User ? reader.GetGuid(2) : null,
                dimension == UsageDimension.ApiKey ? reader.GetGuid(3) : null,
                dimension == UsageDimension.Model ? reader.GetString(4) : null,
                dimension == UsageDimension.Model ? reader.GetString(5) : null,
                figures));
        }

        return groups;
    }

    private static DateTimeOffset ToTime(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
}
