using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>
/// The shared token bucket: one atomic Lua script (EVALSHA on the shared, pipelined connection) per request, or per
/// lease of several tokens for high limits (<see cref="TokenLeases"/>), so every gateway replica draws from the same bucket. Time comes from Redis (<c>TIME</c>), not from the replicas' clocks.
/// The bucket is a hash {tokens, ts (µs)} that expires once it would be full again, so idle callers cost nothing.
/// </summary>
internal static class RedisTokenBucket
{
    /// <summary>
    /// KEYS[1] bucket; ARGV[1] rate (tokens/s), ARGV[2] burst, ARGV[3] tokens wanted (a lease; 1 for one request).
    /// Returns {granted (0 = refused), remaining, reset ms, retry-after ms}.
    /// </summary>
    public static readonly LuaScript Script = new("""
        local rate = tonumber(ARGV[1])
        local burst = tonumber(ARGV[2])
        local wanted = tonumber(ARGV[3])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
        local tokens = tonumber(state[1])
        local ts = tonumber(state[2])
        if tokens == nil or ts == nil then
          tokens = burst
        elseif now > ts then
          tokens = tokens + (now - ts) * rate / 1000000
        else
          now = ts
        end
        if tokens > burst then tokens = burst end
        local granted = 0
        local retry_ms = 0
        if tokens >= 1 then
          granted = math.min(wanted, math.floor(tokens))
          tokens = tokens - granted
        else
          retry_ms = math.ceil((1 - tokens) * 1000 / rate)
        end
        local reset_ms = math.ceil((burst - tokens) * 1000 / rate)
        if reset_ms > 0 then
          redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
          redis.call('PEXPIRE', KEYS[1], reset_ms + 1000)
        else
          redis.call('DEL', KEYS[1])
        end
        return { granted, math.floor(tokens), reset_ms, retry_ms }
        """);

    public static Task<RedisResult> EvaluateAsync(IRedisClient redis, string key, BucketParameters parameters) =>
        redis.ScriptEvaluateAsync(Script, [key], [parameters.PermitsPerSecond, (long)parameters.Burst, parameters.LeaseSize]);

    /// <summary>The decision for this request, and how many tokens were granted in all (the rest become a lease).</summary>
    /// <exception cref="InvalidCastException">The reply is not the script's four integers.</exception>
    public static (RateLimitResult Result, long Granted) Parse(RedisResult reply)
    {
        var items = reply.AsArray();
        if (items.Count != 4)
        {
            throw new InvalidCastException($"The rate-limit script returned {items.Count} values instead of 4.");
        }

        var granted = items[0].AsLong();
        return (RateLimitResult.FromMilliseconds(granted >= 1, items[1].AsLong(), items[2].AsLong(), items[3].AsLong()), granted);
    }
}
