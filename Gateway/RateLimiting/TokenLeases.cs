using System.Collections.Concurrent;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>
/// Tokens a replica took from the shared Redis bucket in one go (<see cref="BucketParameters.LeaseSize"/>) and spends
/// locally for the next requests, so a high limit does not cost a Redis round trip per request. Leased tokens have
/// already left the shared bucket: the replicas together can never admit more than the budget. The price is that a
/// lease is valid for <see cref="Lifetime"/> only and its unspent tokens are lost, so near saturation a replica may
/// leave up to one lease unused. Limits below 100 req/s lease one token, i.e. every request asks Redis.
/// </summary>
internal sealed class TokenLeases(TimeProvider timeProvider, int maxEntries = 10_000)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<string, Lease> _leases = new(StringComparer.Ordinal);

    private sealed class Lease(long tokens, long expires, long remainingInRedis, long resetSeconds)
    {
        public long Tokens = tokens;
        public long Expires { get; } = expires;
        public long RemainingInRedis { get; } = remainingInRedis;
        public long ResetSeconds { get; } = resetSeconds;
    }

    /// <summary>Takes one leased token for <paramref name="key"/>, if a live lease has one.</summary>
    public bool TryTake(string key, out RateLimitResult result)
    {
        if (_leases.TryGetValue(key, out var lease) && timeProvider.GetTimestamp() < lease.Expires)
        {
            var left = Interlocked.Decrement(ref lease.Tokens);
            if (left >= 0)
            {
                result = new RateLimitResult(true, lease.RemainingInRedis + left, lease.ResetSeconds, 0);
                return true;
            }
        }

        result = default;
        return false;
    }

    /// <summary>Keeps the tokens granted beyond the one this request used.</summary>
    public void Store(string key, long spare, RateLimitResult decision)
    {
        if (spare <= 0)
        {
            return;
        }

        if (_leases.Count >= maxEntries)
        {
            var now = timeProvider.GetTimestamp();
            foreach (var (k, lease) in _leases)
            {
                if (lease.Expires <= now)
                {
                    _leases.TryRemove(k, out _);
                }
            }

            if (_leases.Count >= maxEntries)
            {
                return; // Bounded: without a lease the next request simply asks Redis.
            }
        }

        var expires = timeProvider.GetTimestamp() + (long)(Lifetime.TotalSeconds * timeProvider.TimestampFrequency);
        _leases[key] = new Lease(spare, expires, decision.Remaining, decision.ResetSeconds);
    }
}
