using System.ComponentModel.DataAnnotations;

namespace SmartHub.McpServer.Routing;

/// <summary>
/// Section <c>Routing</c>: how <see cref="DeploymentRouter"/> retries, falls back and breaks circuits. Validated at
/// start. The per-attempt timeout is each deployment's own (<c>Providers:&lt;name&gt;:Timeout</c>).
/// </summary>
public sealed class RouterOptions
{
    public const string SectionName = "Routing";

    /// <summary>Retries of one deployment after its first attempt, on transient failures (0: none, fall back at once).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>Base of the jittered exponential backoff between retries (~base, ~2×base, ...).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Longest wait before a retry. An upstream Retry-After above it is not waited for: the router moves to the next
    /// deployment instead (the client is better served elsewhere than after a long pause).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The whole routed call: every attempt and backoff on every deployment (non-streaming); for a stream, the time to
    /// its first delta (the rest of the stream is bounded by the deployment's own timeout).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Circuit breaker: the share of failed attempts within <see cref="SamplingDuration"/> that opens a deployment's circuit.</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Circuit breaker: attempts within <see cref="SamplingDuration"/> before the ratio is considered at all.</summary>
    [Range(2, 100_000)]
    public int MinimumThroughput { get; set; } = 5;

    /// <summary>Circuit breaker: the window the failure ratio is measured over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Circuit breaker: how long an open circuit skips its deployment before one probe attempt is let through.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "1.00:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the requests-per-minute check waits for Redis before it lets the request through (fails open). It is
    /// added latency whenever Redis hangs, so keep it short.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:05")]
    public TimeSpan RpmRedisTimeout { get; set; } = TimeSpan.FromMilliseconds(250);
}
