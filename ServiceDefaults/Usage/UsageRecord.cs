using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Usage;

/// <summary>
/// One AI request, as McpServer reports it and CoreService stores it. <see cref="Id"/> is the request's id: a record
/// written twice (a retried batch) is stored once. <see cref="Status"/> is the HTTP status the caller got (499 when
/// the caller went away mid-answer); <see cref="Credits"/> what was captured for it; <see cref="ReservationId"/> the
/// reservation (or credit lease) that paid for it, by which the ledger's expiry charges a reservation its holder never
/// settled.
/// </summary>
public sealed record UsageRecord(
    Guid Id,
    DateTimeOffset OccurredAt,
    Guid UserId,
    Guid? ApiKeyId,
    string Model,
    string Provider,
    int PromptTokens,
    int CompletionTokens,
    long Credits,
    double LatencyMs,
    double? TimeToFirstTokenMs,
    int Status,
    bool CacheHit,
    Guid? ReservationId = null)
{
    public const int MaxNameLength = 200;

    /// <summary>How far in the past and future an <see cref="OccurredAt"/> may be (clock skew, a backlog in Redis).</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(400);

    public static readonly TimeSpan MaxSkew = TimeSpan.FromDays(1);

    /// <summary>Null when the record can be stored; else what is wrong with it.</summary>
    public string? Validate(DateTimeOffset now)
    {
        if (Id == Guid.Empty || UserId == Guid.Empty)
        {
            return "id and user_id are required";
        }

        if (OccurredAt < now - MaxAge || OccurredAt > now + MaxSkew)
        {
            return $"occurred_at {OccurredAt:O} is outside [now - {MaxAge.TotalDays} days, now + {MaxSkew.TotalDays} day]";
        }

        if (string.IsNullOrWhiteSpace(Model) || Model.Length > MaxNameLength || string.IsNullOrWhiteSpace(Provider) || Provider.Length > MaxNameLength)
        {
            return $"model and provider must be 1-{MaxNameLength} characters";
        }

        if (PromptTokens < 0 || CompletionTokens < 0 || Credits < 0)
        {
            return "token counts and credits must not be negative";
        }

        if (!double.IsFinite(LatencyMs) || LatencyMs < 0 || TimeToFirstTokenMs is { } ttft && (!double.IsFinite(ttft) || ttft < 0))
        {
            return "latency_ms and ttft_ms must be finite and not negative";
        }

        return Status is < 100 or > 599 ? "status must be an HTTP status code" : null;
    }
}

/// <summary>
/// Usage records travel from McpServer to CoreService through a Redis stream (default key <c>usage:records</c>), one
/// entry per batch: fields <c>v</c> (format, "1"), <c>batch</c> (kept across retries), <c>count</c>, and
/// <c>records</c>, a JSON array of records with snake_case names (<c>id</c>, <c>occurred_at</c>, <c>user_id</c>,
/// <c>api_key_id</c>, <c>model</c>, <c>provider</c>, <c>prompt_tokens</c>, <c>completion_tokens</c>, <c>credits</c>,
/// <c>latency_ms</c>, <c>time_to_first_token_ms</c>, <c>status</c>, <c>cache_hit</c>, <c>reservation_id</c>).
/// </summary>
public static class UsageRecordBatch
{
    public const string FormatVersion = "1";

    public static class Fields
    {
        public const string Version = "v";
        public const string BatchId = "batch";
        public const string Count = "count";
        public const string Records = "records";
    }

    public static void Encode(IReadOnlyList<UsageRecord> records, IBufferWriter<byte> buffer)
    {
        using var json = new Utf8JsonWriter(buffer);
        JsonSerializer.Serialize(json, records, UsageJsonContext.Default.IReadOnlyListUsageRecord);
    }

    /// <summary>The records of an entry's <c>records</c> field; a <see cref="JsonException"/> when it is not a valid array.</summary>
    public static IReadOnlyList<UsageRecord> Decode(ReadOnlySpan<byte> records) =>
        JsonSerializer.Deserialize(records, UsageJsonContext.Default.IReadOnlyListUsageRecord)
        ?? throw new JsonException("records is null");

    /// <summary>XADD key * v 1 batch id count n records [...] (no MAXLEN: entries leave the stream once stored).</summary>
    public static Task<string> WriteAsync(
        IRedisClient redis, string streamKey, string batchId, int count, ReadOnlyMemory<byte> records, CancellationToken cancellationToken) =>
        redis.StreamAddAsync(
            streamKey,
            [
                new(Fields.Version, FormatVersion),
                new(Fields.BatchId, batchId),
                new(Fields.Count, (long)count),
                new(Fields.Records, records),
            ],
            maxLenApprox: null,
            cancellationToken);
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip)]
[JsonSerializable(typeof(IReadOnlyList<UsageRecord>))]
internal sealed partial class UsageJsonContext : JsonSerializerContext;
