using System.Text.Json;

namespace SmartHub.FakeProviders;

/// <summary>How a fake server starts. Every property has a working default.</summary>
public sealed class FakeServerOptions
{
    /// <summary>The name in its answers ("Fake &lt;Name&gt; answer: ..."); default "openai" / "anthropic".</summary>
    public string? Name { get; init; }

    /// <summary>
    /// The key it requires (401 in the provider's error shape otherwise). Default: <see cref="FakeOpenAiServer.DefaultApiKey"/>
    /// / <see cref="FakeAnthropicServer.DefaultApiKey"/>. Set <see cref="RequireApiKey"/> to false for a server without
    /// keys (Ollama, vLLM).
    /// </summary>
    public string? ApiKey { get; init; }

    public bool RequireApiKey { get; init; } = true;

    /// <summary>
    /// The header the key is expected in: openai "Authorization" (as "Bearer &lt;key&gt;") or e.g. "api-key" (Azure);
    /// anthropic "x-api-key".
    /// </summary>
    public string? ApiKeyHeader { get; init; }

    /// <summary>The API root's path: <see cref="FakeProviderServer.BaseUrl"/> is http://127.0.0.1:PORT{PathPrefix}.</summary>
    public string PathPrefix { get; init; } = "/v1";

    /// <summary>0 (default): a free port.</summary>
    public int Port { get; init; }

    /// <summary>Models it serves (404 model_not_found / not_found_error for others); null: any model.</summary>
    public IReadOnlyCollection<string>? Models { get; init; }

    /// <summary>For the "created" timestamps of its answers.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>
/// A scripted failure: the HTTP status, the error message (default: the provider's own for that status), and the
/// wait the server asks for: <see cref="RetryAfter"/> as <c>Retry-After: &lt;seconds&gt;</c>,
/// <see cref="RetryAfterDate"/> as <c>Retry-After: &lt;HTTP date&gt;</c>, <see cref="RetryAfterMs"/> as
/// <c>retry-after-ms</c> (OpenAI).
/// </summary>
public sealed record FakeFailure(int Status, string? Message = null)
{
    public TimeSpan? RetryAfter { get; init; }

    public DateTimeOffset? RetryAfterDate { get; init; }

    public TimeSpan? RetryAfterMs { get; init; }
}

/// <summary>One request a fake server received, as it arrived.</summary>
public sealed class FakeRequest
{
    private int _aborted;
    private int _chunksSent;

    internal FakeRequest(int number, string method, string path, string queryString, IReadOnlyDictionary<string, string> headers, string bodyText)
    {
        Number = number;
        Method = method;
        Path = path;
        QueryString = queryString;
        Headers = headers;
        BodyText = bodyText;
        try
        {
            using var document = JsonDocument.Parse(bodyText);
            Body = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            Body = default;
        }
    }

    /// <summary>1 for the first request since start or <see cref="FakeProviderServer.Reset"/>.</summary>
    public int Number { get; }

    public string Method { get; }

    /// <summary>The path, e.g. "/v1/chat/completions".</summary>
    public string Path { get; }

    /// <summary>The query string with its '?', or "".</summary>
    public string QueryString { get; }

    /// <summary>Every header (case-insensitive names; repeated headers joined with ", ").</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    public string BodyText { get; }

    /// <summary>The body as JSON (ValueKind Undefined when it was not JSON).</summary>
    public JsonElement Body { get; }

    /// <summary>Whether the body asked for a stream.</summary>
    public bool Stream => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;

    /// <summary>The client went away (or the server aborted on script) before the answer was complete.</summary>
    public bool Aborted => Volatile.Read(ref _aborted) == 1;

    /// <summary>Content chunks written to a stream so far.</summary>
    public int ChunksSent => Volatile.Read(ref _chunksSent);

    /// <summary>The answer (or scripted failure) was written to the end.</summary>
    public bool Completed { get; internal set; }

    /// <summary>The status it was answered with.</summary>
    public int Status { get; internal set; }

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    internal bool MarkAborted() => Interlocked.Exchange(ref _aborted, 1) == 0;

    internal void CountChunk() => Interlocked.Increment(ref _chunksSent);

    public override string ToString() => $"#{Number} {Method} {Path}{QueryString} -> {Status}{(Aborted ? " (aborted)" : string.Empty)}";
}
