using System.ComponentModel.DataAnnotations;

namespace SmartHub.ServiceDefaults.Http;

/// <summary>Section "HttpClientDefaults": timeouts and retries of every IHttpClientFactory client.</summary>
public sealed class HttpClientDefaultsOptions
{
    public const string SectionName = "HttpClientDefaults";

    /// <summary>Whole call including retries and backoff (HttpClient.Timeout).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>One attempt of an idempotent call (at most TotalTimeout); a timed-out attempt is retried.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:30:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries after the first attempt (idempotent methods only). 0 disables retries.</summary>
    [Range(0, 10)]
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Base of the exponential backoff (jittered): ~base, ~2×base, ~4×base.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Upper bound of one backoff delay, including a server's Retry-After.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);
}
