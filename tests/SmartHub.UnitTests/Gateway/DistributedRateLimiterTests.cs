using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SmartHub.Gateway.RateLimiting;

namespace SmartHub.UnitTests.Gateway;

public sealed class DistributedRateLimiterTests : IAsyncDisposable
{
    private static readonly BucketParameters TwoPerSecond = BucketParameters.Create(2, 4);

    private readonly ScriptedRedis _redis = new();
    private readonly ListLogger<DistributedRateLimiter> _logger = new();
    private readonly MetricsProbe _metrics = new();
    private readonly DistributedRateLimiter _limiter;

    public DistributedRateLimiterTests()
    {
        _limiter = new DistributedRateLimiter(
            _redis, new RateLimitOptions { RedisTimeoutMilliseconds = 50 }, TimeProvider.System, _logger, _metrics.Metrics);
    }

    public async ValueTask DisposeAsync()
    {
        await _limiter.DisposeAsync();
        _metrics.Dispose();
    }

    [Fact]
    public async Task While_redis_answers_the_script_decides()
    {
        var result = await _limiter.TakeAsync("ratelimit:api:key:a", TwoPerSecond);

        Assert.Equal(new RateLimitResult(true, 5, 2, 0), result);
        Assert.False(_limiter.InFallback);
        Assert.Equal(0, _metrics.Total("smarthub.gateway.ratelimit.fallback"));
    }

    [Fact]
    public async Task Redis_down_switches_to_local_buckets_once_with_one_warning_then_skips_redis()
    {
        _redis.Behaviour = ScriptedRedis.Mode.Fail;

        var results = new List<RateLimitResult>();
        for (var i = 0; i < 6; i++)
        {
            results.Add(await _limiter.TakeAsync("ratelimit:api:key:a", TwoPerSecond));
        }

        Assert.True(_limiter.InFallback);
        Assert.Equal([true, true, true, true, false, false], results.Select(r => r.Allowed)); // the same limit, locally
        Assert.Equal(1, _redis.Calls);                                                       // the circuit skips Redis
        Assert.Single(_logger.Entries, e => e.Level == LogLevel.Warning);
        Assert.Equal(6, _metrics.Total("smarthub.gateway.ratelimit.fallback"));
        Assert.Equal(1, _metrics.Total("smarthub.gateway.ratelimit.fallback.active"));
    }

    [Fact]
    public async Task A_hanging_redis_costs_one_request_the_timeout_and_no_more()
    {
        _redis.Behaviour = ScriptedRedis.Mode.Hang;
        await using var limiter = new DistributedRateLimiter(
            _redis, new RateLimitOptions { RedisTimeoutMilliseconds = 500 }, TimeProvider.System, _logger, _metrics.Metrics);

        var first = Stopwatch.StartNew();
        var result = await limiter.TakeAsync("ratelimit:api:ip:10.0.0.1", TwoPerSecond);
        first.Stop();
        var second = Stopwatch.StartNew();
        await limiter.TakeAsync("ratelimit:api:ip:10.0.0.1", TwoPerSecond);
        second.Stop();

        Assert.True(result.Allowed);
        Assert.InRange(first.Elapsed, TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(5));
        Assert.True(second.Elapsed < TimeSpan.FromMilliseconds(250), $"second request waited {second.Elapsed}: the circuit should skip Redis");
        Assert.Equal(1, _redis.Calls);
        Assert.Contains(_logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("no answer within 500 ms", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Back_on_redis_by_itself_when_the_probe_succeeds_with_one_information()
    {
        _redis.Behaviour = ScriptedRedis.Mode.Fail;
        await _limiter.TakeAsync("ratelimit:api:key:a", TwoPerSecond);
        Assert.True(_limiter.InFallback);

        var clock = Stopwatch.StartNew();
        while (_redis.Calls < 3 && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(20);
        }

        Assert.True(_limiter.InFallback, "still down: stays local");
        Assert.Equal(3, _redis.Calls);                       // the request, then one probe a second
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.5), $"two probes after {clock.Elapsed}: more than one a second");

        _redis.Behaviour = ScriptedRedis.Mode.Answer;
        var deadline = Stopwatch.StartNew();
        while (_limiter.InFallback && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50);
        }

        Assert.False(_limiter.InFallback);
        Assert.Equal(0, _limiter.Local.Count);
        Assert.Single(_logger.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("back on Redis", StringComparison.Ordinal));
        Assert.Equal(0, _metrics.Total("smarthub.gateway.ratelimit.fallback.active")); // +1 then -1
        Assert.True((await _limiter.TakeAsync("ratelimit:api:key:a", TwoPerSecond)).Allowed);
    }

    [Fact]
    public async Task An_unexpected_reply_counts_as_redis_failure()
    {
        _redis.Reply = () => SmartHub.ServiceDefaults.Redis.RedisResult.FromInteger(1);

        var result = await _limiter.TakeAsync("ratelimit:api:key:a", TwoPerSecond);

        Assert.True(result.Allowed);
        Assert.True(_limiter.InFallback);
    }
}
