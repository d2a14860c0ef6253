using System.Buffers;
using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text.Json;
using SmartHub.McpServer.Chat;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.McpServer.Cache;

/// <summary>Section <c>Cache</c>: the answer cache for deterministic requests.</summary>
public sealed class ChatCacheOptions
{
    public const string SectionName = "Cache";

    public bool Enabled { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan Ttl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The share of the normal price a cached answer costs (0: free, 1: full price).</summary>
    [Range(0.0, 1.0)]
    public double ChargeFraction { get; set; }

    /// <summary>
    /// <c>User</c> (default): each user has their own cache, so an <c>X-Cache: HIT</c> never reveals that someone else
    /// asked the same question. <c>Global</c>: one cache for everyone (cheaper, for hubs where that is acceptable).
    /// </summary>
    [AllowedValues("User", "Global")]
    public string Scope { get; set; } = "User";

    /// <summary>Answers larger than this are not cached (a bound on Redis memory per entry).</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxEntryBytes { get; set; } = 256 * 1024;

    /// <summary>Time a cache lookup or store may take before the request goes on without the cache.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(250);
}

/// <summary>A cached answer: what the provider returned, with the counts that priced it.</summary>
public sealed record CachedAnswer(string? Content, string FinishReason, int PromptTokens, int CompletionTokens, string Provider, JsonElement? ToolCalls);

/// <summary>
/// Answers of deterministic requests (temperature 0) in Redis, keyed by a SHA-256 of everything that shapes the answer:
/// model, messages, sampling parameters, output limit, stop sequences, tools, tool choice, seed, response format (and
/// the user, in the default <c>User</c> scope). Redis being slow or down never fails a request: the cache is skipped.
/// </summary>
public sealed class ChatCache(IRedisClient redis, ChatCacheOptions options, ChatMetrics metrics, ILogger<ChatCache> logger, TimeProvider timeProvider)
{
    public const string KeyPrefix = "chat:cache:v1:";

    private readonly LogThrottle _throttle = new(TimeSpan.FromMinutes(1), timeProvider);

    public ChatCacheOptions Options => options;

    public static bool IsDeterministic(ChatRequest request) => request.Temperature == 0;

    public string Key(ChatRequest request, Guid userId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            json.WriteStringValue(options.Scope == "Global" ? string.Empty : userId.ToString("N"));
            json.WriteStringValue(request.Model);
            foreach (var message in request.Messages)
            {
                json.WriteStartArray();
                json.WriteStringValue(message.Role);
                WriteRaw(json, message.ContentParts, message.Content);
                json.WriteStringValue(message.Name);
                WriteRaw(json, message.ToolCalls, null);
                json.WriteStringValue(message.ToolCallId);
                json.WriteEndArray();
            }

            json.WriteNumberValue(request.Temperature ?? -1);
            json.WriteNumberValue(request.TopP ?? -1);
            json.WriteNumberValue(request.MaxTokens ?? -1);
            json.WriteStringValue(request.Stop is null ? null : string.Join('\u0000', request.Stop));
            WriteRaw(json, request.Tools, null);
            WriteRaw(json, request.ToolChoice, null);
            json.WriteNumberValue(request.Seed ?? long.MinValue);
            json.WriteNumberValue(request.PresencePenalty ?? -9);
            json.WriteNumberValue(request.FrequencyPenalty ?? -9);
            WriteRaw(json, request.ResponseFormat, null);
            json.WriteEndArray();
        }

        return KeyPrefix + Convert.ToHexStringLower(SHA256.HashData(buffer.WrittenSpan));
    }

    public async Task<CachedAnswer?> GetAsync(string key, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        try
        {
            var bytes = await redis.GetBytesAsync(key, timeout.Token).ConfigureAwait(false);
            var answer = bytes is null ? null : JsonSerializer.Deserialize(bytes, ChatCacheJsonContext.Default.CachedAnswer);
            metrics.CacheLookup(answer is null ? "miss" : "hit");
            return answer;
        }
        catch (Exception exception) when (IsCacheFailure(exception, cancellationToken))
        {
            metrics.CacheLookup("error");
            Skipped("lookup", exception);
            return null;
        }
    }

    public async Task SetAsync(string key, CachedAnswer answer, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(answer, ChatCacheJsonContext.Default.CachedAnswer);
        if (bytes.Length > options.MaxEntryBytes)
        {
            return;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        try
        {
            await redis.ExecuteAsync("SET", [key, bytes, "PX", (long)options.Ttl.TotalMilliseconds], timeout.Token).ConfigureAwait(false);
        }
        catch (Exception exception) when (IsCacheFailure(exception, cancellationToken))
        {
            Skipped("store", exception);
        }
    }

    private static void WriteRaw(Utf8JsonWriter json, JsonElement? raw, string? text)
    {
        if (raw is { } element)
        {
            element.WriteTo(json);
        }
        else
        {
            json.WriteStringValue(text);
        }
    }

    private static bool IsCacheFailure(Exception exception, CancellationToken cancellationToken) =>
        exception is RedisException or JsonException || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private void Skipped(string what, Exception exception)
    {
        if (_throttle.TryEnter())
        {
            logger.LogWarning("Chat cache {What} skipped: {Reason}", what, exception is OperationCanceledException ? $"no answer within {options.Timeout.TotalMilliseconds:0} ms" : exception.Message);
        }
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CachedAnswer))]
internal sealed partial class ChatCacheJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
