using Microsoft.Extensions.Options;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>
/// Rate limits, section <c>RateLimits</c> (env <c>RateLimits__Api__PermitsPerSecond</c>, ...). Validated at start.
/// Defaults from the deployment guide: API routes (/api, /v1, /mcp) 10 req/s with a burst of 20, auth routes (/auth)
/// 5 req/s per client IP with a burst of 10. An API key's own <c>rate_limit_per_second</c> overrides the API rate
/// for that key (burst 2× the rate).
/// </summary>
internal sealed class RateLimitOptions
{
    public const string SectionName = "RateLimits";

    /// <summary>Off: no limits and no X-RateLimit-* headers.</summary>
    public bool Enabled { get; set; } = true;

    public TokenBucketOptions Api { get; set; } = new() { PermitsPerSecond = 10 };

    public TokenBucketOptions Auth { get; set; } = new() { PermitsPerSecond = 5 };

    /// <summary>
    /// How long a request waits for Redis's answer before it is decided by the local fallback buckets (and Redis is
    /// skipped until a background probe succeeds). Keep it short: it is added latency whenever Redis hangs.
    /// </summary>
    public int RedisTimeoutMilliseconds { get; set; } = 100;

    /// <summary>Local fallback buckets kept at most (beyond it new callers share one overflow bucket per scope).</summary>
    public int MaxLocalBuckets { get; set; } = 100_000;
}

/// <summary>One token bucket: refills at <see cref="PermitsPerSecond"/>, holds at most <see cref="Burst"/> tokens.</summary>
internal sealed class TokenBucketOptions
{
    /// <summary>Sustained rate in requests per second (fractions allowed, e.g. 0.5).</summary>
    public double PermitsPerSecond { get; set; }

    /// <summary>Bucket size: requests allowed at once after a quiet period. Default 2 × <see cref="PermitsPerSecond"/>.</summary>
    public int? Burst { get; set; }

    public BucketParameters ToParameters() => BucketParameters.Create(PermitsPerSecond, Burst ?? BucketParameters.DefaultBurst(PermitsPerSecond));
}

internal sealed class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>
{
    public const double MaxPermitsPerSecond = 1_000_000_000;

    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        var errors = new List<string>();
        Check("Api", options.Api);
        Check("Auth", options.Auth);
        if (options.RedisTimeoutMilliseconds is < 1 or > 10_000)
        {
            errors.Add($"RateLimits:RedisTimeoutMilliseconds must be between 1 and 10000, not {options.RedisTimeoutMilliseconds}.");
        }

        if (options.MaxLocalBuckets is < 1 or > 10_000_000)
        {
            errors.Add($"RateLimits:MaxLocalBuckets must be between 1 and 10000000, not {options.MaxLocalBuckets}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);

        void Check(string section, TokenBucketOptions? bucket)
        {
            if (bucket is null)
            {
                errors.Add($"RateLimits:{section} is missing.");
                return;
            }

            if (!(bucket.PermitsPerSecond > 0 && bucket.PermitsPerSecond <= MaxPermitsPerSecond))
            {
                errors.Add($"RateLimits:{section}:PermitsPerSecond must be greater than 0 and at most {MaxPermitsPerSecond:0}, not {bucket.PermitsPerSecond}.");
            }

            if (bucket.Burst is < 1)
            {
                errors.Add($"RateLimits:{section}:Burst must be at least 1 (the bucket must hold one request), not {bucket.Burst}.");
            }
        }
    }
}
