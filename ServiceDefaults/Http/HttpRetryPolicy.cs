using System.Net;
using Polly;
using Polly.Timeout;

namespace SmartHub.ServiceDefaults.Http;

/// <summary>
/// Which calls may be retried and which failures are transient. Only idempotent methods are
/// retried (RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT, DELETE); POST and PATCH never,
/// because a lost response does not tell whether the server acted.
/// </summary>
public static class HttpRetryPolicy
{
    /// <summary>Set to true on a request to opt it out of retries (health probes, streaming).</summary>
    public static readonly HttpRequestOptionsKey<bool> DisableRetries = new("SmartHub.DisableRetries");

    public static bool IsIdempotent(HttpMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);

        return method == HttpMethod.Get
            || method == HttpMethod.Head
            || method == HttpMethod.Options
            || method == HttpMethod.Trace
            || method == HttpMethod.Put
            || method == HttpMethod.Delete;
    }

    public static bool IsTransient(HttpStatusCode statusCode) => statusCode is
        HttpStatusCode.RequestTimeout or
        HttpStatusCode.TooManyRequests or
        HttpStatusCode.InternalServerError or
        HttpStatusCode.BadGateway or
        HttpStatusCode.ServiceUnavailable or
        HttpStatusCode.GatewayTimeout;

    /// <summary>
    /// Transport failures, a timed-out attempt, or a transient status. A cancellation (the
    /// caller's token or HttpClient's total timeout) is not transient: it ends the call.
    /// </summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome.Exception switch
    {
        HttpRequestException => true,
        TimeoutRejectedException => true,
        null => outcome.Result is { } response && IsTransient(response.StatusCode),
        _ => false,
    };

    /// <summary>Whether a request may go through the retry pipeline.</summary>
    public static bool ShouldRetry(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);

        return IsIdempotent(request.Method)
            && !(request.Options.TryGetValue(DisableRetries, out var disabled) && disabled);
    }

    /// <summary>A server's Retry-After (delta or date), capped; null when absent.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage? response, DateTimeOffset now, TimeSpan max)
    {
        var retryAfter = response?.Headers.RetryAfter;
        TimeSpan? delay = retryAfter?.Delta ?? (retryAfter?.Date is { } date ? date - now : null);
        if (delay is not { } value)
        {
            return null;
        }

        return value < TimeSpan.Zero ? TimeSpan.Zero : value > max ? max : value;
    }
}
