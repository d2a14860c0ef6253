using Npgsql;
using NpgsqlTypes;
using SmartHub.ServiceDefaults.Usage;

namespace SmartHub.CoreService.Usage;

/// <summary>Writes usage records to coredb (Migrations/0004_usage.sql, 0005_credit_leases.sql): one <c>usage_store</c> call per batch.</summary>
public sealed class UsageStore(NpgsqlDataSource dataSource)
{
    /// <summary>Stores the records and adds the new ones to the daily rollup in one transaction; returns how many were new.</summary>
    public async Task<int> StoreAsync(IReadOnlyList<UsageRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return 0;
        }

        var n = records.Count;
        var ids = new Guid[n];
        var times = new DateTime[n];
        var users = new Guid[n];
        var keys = new Guid?[n];
        var models = new string[n];
        var providers = new string[n];
        var prompt = new int[n];
        var completion = new int[n];
        var credits = new long[n];
        var latency = new double[n];
        var ttft = new double?[n];
        var status = new short[n];
        var cache = new bool[n];
        var reservations = new Guid?[n];
        for (var i = 0; i < n; i++)
        {
            var r = records[i];
            ids[i] = r.Id;
            times[i] = r.OccurredAt.UtcDateTime;
            users[i] = r.UserId;
            keys[i] = r.ApiKeyId;
            models[i] = r.Model;
            providers[i] = r.Provider;
            prompt[i] = r.PromptTokens;
            completion[i] = r.CompletionTokens;
            credits[i] = r.Credits;
            latency[i] = r.LatencyMs;
            ttft[i] = r.TimeToFirstTokenMs;
            status[i] = (short)r.Status;
            cache[i] = r.CacheHit;
            reservations[i] = r.ReservationId;
        }

        await using var command = dataSource.CreateCommand("SELECT usage_store($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<DateTime[]> { TypedValue = times, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = users });
        command.Parameters.Add(new NpgsqlParameter<Guid?[]> { TypedValue = keys });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = models });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = providers });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = prompt });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = completion });
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = credits });
        command.Parameters.Add(new NpgsqlParameter<double[]> { TypedValue = latency });
        command.Parameters.Add(new NpgsqlParameter<double?[]> { TypedValue = ttft });
        command.Parameters.Add(new NpgsqlParameter<short[]> { TypedValue = status });
        command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = cache });
        command.Parameters.Add(new NpgsqlParameter<Guid?[]> { TypedValue = reservations });
        return (int)(await command.ExecuteScalarAsync(cancellationToken) ?? 0);
    }
}
