using System.Collections.Concurrent;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>
/// In-memory token buckets with the same parameters and arithmetic as the Redis ones, used only while Redis is
/// unavailable. They are per replica: during an outage each gateway replica enforces its own full copy of every limit
/// (with N replicas a caller can get up to N× the rate), which is the price of staying up without Redis.
/// Bounded: buckets that are full again are pruned (a full bucket is the same as no bucket), and beyond
/// <c>maxBuckets</c> new callers share one overflow bucket per key prefix.
/// </summary>
internal sealed class LocalTokenBuckets(TimeProvider timeProvider, int maxBuckets)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public RateLimitResult Take(string key, BucketParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(parameters);

        var now = timeProvider.GetTimestamp();
        if (!_buckets.TryGetValue(key, out var bucket))
        {
            if (Volatile.Read(ref _count) >= maxBuckets)
            {
                key = OverflowKey(key);
            }

            var created = new Bucket(parameters.Burst, now, parameters);
            bucket = _buckets.GetOrAdd(key, created);
            if (ReferenceEquals(bucket, created))
            {
                Interlocked.Increment(ref _count);
            }
        }

        lock (bucket)
        {
            var elapsed = now > bucket.Updated ? timeProvider.GetElapsedTime(bucket.Updated, now).TotalSeconds : 0;
            bucket.Updated = Math.Max(bucket.Updated, now);
            bucket.Parameters = parameters;
            return TokenBucketMath.Take(ref bucket.Tokens, elapsed, parameters);
        }
    }

    /// <summary>Removes the buckets that have refilled completely by now. Called about once a second during an outage.</summary>
    public void Prune()
    {
        var now = timeProvider.GetTimestamp();
        foreach (var (key, bucket) in _buckets)
        {
            bool full;
            lock (bucket)
            {
                var refill = now > bucket.Updated ? timeProvider.GetElapsedTime(bucket.Updated, now).TotalSeconds * bucket.Parameters.PermitsPerSecond : 0;
                full = bucket.Tokens + refill >= bucket.Parameters.Burst;
            }

            if (full && _buckets.TryRemove(new KeyValuePair<string, Bucket>(key, bucket)))
            {
                Interlocked.Decrement(ref _count);
            }
        }
    }

    public void Clear()
    {
        _buckets.Clear();
        Volatile.Write(ref _count, 0);
    }

    /// <summary>"ratelimit:api:ip:203.0.113.7" → "ratelimit:api:overflow".</summary>
    internal static string OverflowKey(string key)
    {
        var scopeEnd = key.IndexOf(':', RateLimitKeys.KeyPrefix.Length);
        return scopeEnd < 0 ? RateLimitKeys.KeyPrefix + "overflow" : string.Concat(key.AsSpan(0, scopeEnd + 1), "overflow");
    }

    private sealed class Bucket(double tokens, long updated, BucketParameters parameters)
    {
        public double Tokens = tokens;
        public long Updated = updated;
        public BucketParameters Parameters = parameters;
    }
}
