using System.Diagnostics;
using Microsoft.Extensions.Logging;
using SmartHub.Gateway.RateLimiting;
using SmartHub.ServiceDefaults.Redis;

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
        // A generous timeout: the gated tests hold a reply on purpose, and on a loaded CI machine releasing it can take
        // longer than 50 ms, which would (rightly) switch the limiter to its local fallback. Timeouts have their own test.
        _limiter = new DistributedRateLimiter(
            _redis, new RateLimitOptions { RedisTimeoutMilliseconds = 5000 }, TimeProvider.System, _logger, _metrics.Metrics);
    }

    /// <summary>
    /// A lease lasts 50 ms of the limiter's clock. On a loaded machine the waiters of a refill can take longer than that
    /// to run, and an expired lease means one more refill: with a clock that stands still, the lease tests count refills
    /// and nothing else (timeouts still run on real timers).
    /// </summary>
    private DistributedRateLimiter LimiterOnAStoppedClock() =>
        new(_redis, new RateLimitOptions { RedisTimeoutMilliseconds = 5000 }, new ManualTimeProvider(), _logger, _metrics.Metrics);

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
        _redis.Reply = () => RedisResult.FromInteger(1);

        var result = await _limiter.TakeAsync("ratelimit:api:key:a", TwoPerSecond);

        Assert.True(result.Allowed);
        Assert.True(_limiter.InFallback);
    }

    [Fact]
    public async Task Requests_that_find_no_lease_together_ask_redis_once_and_share_the_new_lease()
    {
        var leased = BucketParameters.Create(1000, 2000); // lease size 10
        _redis.Reply = () => Script(granted: leased.LeaseSize, remaining: 1990, retryMs: 0);
        _redis.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var limiter = LimiterOnAStoppedClock();

        var takes = Enumerable.Range(0, 10).Select(_ => limiter.TakeAsync("ratelimit:api:key:a", leased).AsTask()).ToArray();
        Assert.Equal(1, _redis.Calls); // one refill in flight; the other nine wait for it
        _redis.Gate.SetResult();
        var results = await Task.WhenAll(takes);

        Assert.All(results, r => Assert.True(r.Allowed));
        Assert.Equal(1, _redis.Calls); // the leader's token plus nine from its lease
    }

    [Fact]
    public async Task Waiters_beyond_the_new_lease_refill_again()
    {
        var leased = BucketParameters.Create(1000, 2000);
        _redis.Reply = () => Script(granted: leased.LeaseSize, remaining: 1990, retryMs: 0);
        _redis.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var limiter = LimiterOnAStoppedClock();

        var takes = Enumerable.Range(0, 15).Select(_ => limiter.TakeAsync("ratelimit:api:key:a", leased).AsTask()).ToArray();
        _redis.Gate.SetResult();
        var results = await Task.WhenAll(takes);

        Assert.All(results, r => Assert.True(r.Allowed));
        Assert.Equal(2, _redis.Calls); // 10 from the first lease, 5 from the second
    }

    [Fact]
    public async Task A_refused_refill_refuses_its_waiters_with_the_same_retry_after()
    {
        var leased = BucketParameters.Create(1000, 2000);
        _redis.Reply = () => Script(granted: 0, remaining: 0, retryMs: 1500);
        _redis.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var takes = Enumerable.Range(0, 5).Select(_ => _limiter.TakeAsync("ratelimit:api:key:a", leased).AsTask()).ToArray();
        _redis.Gate.SetResult();
        var results = await Task.WhenAll(takes);

        Assert.All(results, r => Assert.Equal(new RateLimitResult(false, 0, 2, 2), r));
        Assert.Equal(1, _redis.Calls);
    }

    private static RedisResult Script(long granted, long remaining, long retryMs) =>
        RedisResult.FromArray(
        [
            RedisResult.FromInteger(granted), RedisResult.FromInteger(remaining),
            RedisResult.FromInteger(2000), RedisResult.FromInteger(retryMs),
        ]);
}
