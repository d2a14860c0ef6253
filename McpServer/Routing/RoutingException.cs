namespace SmartHub.McpServer.Routing;

/// <summary>Why a routed call got no answer, which decides the status the caller answers with.</summary>
public enum RoutingFailure
{
    /// <summary>400, 413 or 422 from the upstream: the request itself is at fault; it would fail everywhere.</summary>
    RequestRejected,

    /// <summary>429: every deployment was rate limited (its own limit, or the hub's requests-per-minute budget).</summary>
    RateLimited,

    /// <summary>503: circuits open, timeouts, the total timeout, rate limits (none answered with an error of its own).</summary>
    Unavailable,

    /// <summary>502: at least one deployment answered with an error (5xx, 401/403/404, a malformed answer).</summary>
    UpstreamError,
}

/// <summary>
/// No deployment answered. <see cref="StatusCode"/> is what to answer the client with (429, 503, 502, or the upstream's
/// own 400/413/422), <see cref="RetryAfter"/> the smallest known wait when one applies, and the message is safe to show
/// (deployment names and statuses, never a key). The caller's own cancellation is never a RoutingException: it stays an
/// <see cref="OperationCanceledException"/>.
/// </summary>
public sealed class RoutingException : Exception
{
    public RoutingException()
        : this("No deployment answered.")
    {
    }

    public RoutingException(string message)
        : this(message, innerException: null)
    {
    }

    public RoutingException(string message, Exception? innerException)
        : this(RoutingFailure.UpstreamError, 502, message, retryAfter: null, attempts: [], innerException)
    {
    }

    public RoutingException(
        RoutingFailure reason, int statusCode, string message, TimeSpan? retryAfter, IReadOnlyList<RouteAttempt> attempts, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
        StatusCode = statusCode;
        RetryAfter = retryAfter;
        Attempts = attempts ?? [];
    }

    public RoutingFailure Reason { get; }

    /// <summary>The HTTP status to answer with.</summary>
    public int StatusCode { get; }

    /// <summary>The smallest Retry-After among the failures that gave one (for 429 and 503); null when none did.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Every attempt made (and deployment skipped), in order.</summary>
    public IReadOnlyList<RouteAttempt> Attempts { get; }
}
