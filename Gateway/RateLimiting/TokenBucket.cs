using System.Globalization;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>A bucket's parameters, with the header text of its rate computed once.</summary>
internal sealed class BucketParameters
{
    private BucketParameters(double permitsPerSecond, int burst)
    {
        PermitsPerSecond = permitsPerSecond;
        Burst = burst;
        LimitHeader = HeaderNumbers.Format(permitsPerSecond);
        LeaseSize = permitsPerSecond < 100 ? 1 : (long)Math.Clamp(Math.Floor(permitsPerSecond / 100), 1, Math.Max(1, burst / 10));
    }

    /// <summary>
    /// Tokens a replica takes from the shared Redis bucket at once (see <see cref="TokenLeases"/>): 1 below 100 req/s
    /// (every request asks Redis), else 1% of a second's budget, at most a tenth of the burst.
    /// </summary>
    public long LeaseSize { get; }

    public double PermitsPerSecond { get; }

    public int Burst { get; }

    /// <summary>The <c>X-RateLimit-Limit</c> value: the sustained rate per second.</summary>
    public string LimitHeader { get; }

    public static BucketParameters Create(double permitsPerSecond, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permitsPerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        return new BucketParameters(permitsPerSecond, burst);
    }

    /// <summary>2 × the rate, at least 1.</summary>
    public static int DefaultBurst(double permitsPerSecond) =>
        (int)Math.Clamp(Math.Ceiling(permitsPerSecond * 2), 1, int.MaxValue);

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{PermitsPerSecond}/s, burst {Burst}");
}

/// <summary>The outcome of taking one token.</summary>
/// <param name="Remaining">Whole tokens left after this request (0..burst).</param>
/// <param name="ResetSeconds">Seconds until the bucket is full again (0 when full), rounded up.</param>
/// <param name="RetryAfterSeconds">When refused: seconds until one token is back, rounded up, at least 1; else 0.</param>
internal readonly record struct RateLimitResult(bool Allowed, long Remaining, long ResetSeconds, long RetryAfterSeconds)
{
    /// <summary>From the Redis script's reply, whose times are in milliseconds.</summary>
    public static RateLimitResult FromMilliseconds(bool allowed, long remaining, long resetMs, long retryAfterMs) => new(
        allowed,
        Math.Max(0, remaining),
        CeilingSeconds(resetMs),
        allowed ? 0 : Math.Max(1, CeilingSeconds(retryAfterMs)));

    private static long CeilingSeconds(long ms) => ms <= 0 ? 0 : (ms + 999) / 1000;
}

/// <summary>
/// Token-bucket arithmetic, the same as the Redis script's (<see cref="RedisTokenBucket"/>): refill by elapsed time at
/// the rate up to the burst, then take one token if there is a whole one.
/// </summary>
internal static class TokenBucketMath
{
    /// <param name="tokens">The bucket's tokens; updated.</param>
    /// <param name="elapsedSeconds">Time since the last update (negative counts as 0).</param>
    public static RateLimitResult Take(ref double tokens, double elapsedSeconds, BucketParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);

        var rate = parameters.PermitsPerSecond;
        double burst = parameters.Burst;
        if (elapsedSeconds > 0)
        {
            tokens += elapsedSeconds * rate;
        }

        if (tokens > burst)
        {
            tokens = burst;
        }

        var allowed = tokens >= 1;
        if (allowed)
        {
            tokens -= 1;
        }

        var resetMs = (long)Math.Ceiling((burst - tokens) * 1000 / rate);
        var retryMs = allowed ? 0 : (long)Math.Ceiling((1 - tokens) * 1000 / rate);
        return RateLimitResult.FromMilliseconds(allowed, (long)Math.Floor(tokens), resetMs, retryMs);
    }
}

/// <summary>Header values for small numbers without allocating.</summary>
internal static class HeaderNumbers
{
    private static readonly string[] s_small = [.. Enumerable.Range(0, 1025).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    public static string Format(long value) =>
        (ulong)value < (ulong)s_small.Length ? s_small[value] : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Whole numbers without decimals ("10"), others with up to three ("0.5").</summary>
    public static string Format(double value) =>
        value == Math.Floor(value) && value < long.MaxValue ? Format((long)value) : value.ToString("0.###", CultureInfo.InvariantCulture);
}
