namespace SmartHub.McpServer.Providers;

/// <summary>
/// A provider type's wire protocol (mock, openai, anthropic). One instance serves every deployment of its type; the
/// deployment says where and with which key. Failures are <see cref="ProviderException"/>s, whose messages never
/// contain the API key; cancellation (the caller left, or a timeout) is an <see cref="OperationCanceledException"/>.
/// </summary>
public interface IChatProvider
{
    /// <summary>The provider type this protocol serves (<c>Providers:&lt;name&gt;:Type</c>).</summary>
    string Type { get; }

    Task<ChatCompletion> CompleteAsync(ChatCall call, CancellationToken cancellationToken);

    /// <summary>
    /// The answer as it is produced. A failure before the first delta may be retried elsewhere; after it, it ends the
    /// stream. The sequence ends with a delta carrying the finish reason.
    /// </summary>
    IAsyncEnumerable<ChatDelta> StreamAsync(ChatCall call, CancellationToken cancellationToken);
}

/// <summary>
/// A provider failed a call. <see cref="StatusCode"/> is the upstream HTTP status (null: no answer — a connection
/// failure or a timeout); <see cref="IsTransient"/> says whether another attempt may succeed (429, 5xx, 408, timeouts,
/// connection failures); <see cref="RetryAfter"/> is the upstream's Retry-After. The message is safe to log and to show
/// (no key, no upstream body beyond its error message).
/// </summary>
public sealed class ProviderException : Exception
{
    public ProviderException(string provider, string message, int? statusCode, bool isTransient, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Provider = provider;
        StatusCode = statusCode;
        IsTransient = isTransient;
        RetryAfter = retryAfter;
    }

    public string Provider { get; }

    public int? StatusCode { get; }

    public bool IsTransient { get; }

    public TimeSpan? RetryAfter { get; }

    /// <summary>Transient for these statuses: 408, 409 (OpenAI's "conflict, retry"), 429 and 5xx.</summary>
    public static bool IsTransientStatus(int statusCode) => statusCode is 408 or 409 or 429 or >= 500;
}
