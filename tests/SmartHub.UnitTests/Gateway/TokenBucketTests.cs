using SmartHub.Gateway.RateLimiting;

namespace SmartHub.UnitTests.Gateway;

public sealed class TokenBucketTests
{
    private static readonly BucketParameters TenPerSecond = BucketParameters.Create(10, 20);

    [Fact]
    public void A_full_bucket_allows_the_burst_then_refuses_with_retry_after_of_at_least_one_second()
    {
        double tokens = 20;
        for (var i = 0; i < 20; i++)
        {
            var allowed = TokenBucketMath.Take(ref tokens, 0, TenPerSecond);
            Assert.True(allowed.Allowed);
            Assert.Equal(19 - i, allowed.Remaining);
            Assert.Equal(0, allowed.RetryAfterSeconds);
        }

        var refused = TokenBucketMath.Take(ref tokens, 0, TenPerSecond);

        Assert.False(refused.Allowed);
        Assert.Equal(0, refused.Remaining);
        Assert.Equal(1, refused.RetryAfterSeconds); // 0.1 s until a token, rounded up to whole seconds
        Assert.Equal(2, refused.ResetSeconds);      // 20 tokens at 10/s
    }

    [Fact]
    public void Tokens_refill_with_elapsed_time_up_to_the_burst()
    {
        double tokens = 0;

        var afterHalfSecond = TokenBucketMath.Take(ref tokens, 0.5, TenPerSecond);   // 5 refilled, 1 taken
        Assert.True(afterHalfSecond.Allowed);
        Assert.Equal(4, afterHalfSecond.Remaining);

        var afterAnHour = TokenBucketMath.Take(ref tokens, 3600, TenPerSecond);      // capped at 20, 1 taken
        Assert.Equal(19, afterAnHour.Remaining);
        Assert.Equal(1, afterAnHour.ResetSeconds);                                   // 1 token at 10/s: 0.1 s, rounded up
    }

    [Fact]
    public void Slow_rates_report_long_waits()
    {
        var oneEveryFourSeconds = BucketParameters.Create(0.25, 1);
        double tokens = 1;

        Assert.True(TokenBucketMath.Take(ref tokens, 0, oneEveryFourSeconds).Allowed);
        var refused = TokenBucketMath.Take(ref tokens, 1, oneEveryFourSeconds);

        Assert.False(refused.Allowed);
        Assert.Equal(3, refused.RetryAfterSeconds);
        Assert.Equal(3, refused.ResetSeconds);
    }

    [Fact]
    public void A_lowered_burst_clamps_a_fuller_bucket()
    {
        double tokens = 50;

        var result = TokenBucketMath.Take(ref tokens, 0, TenPerSecond);

        Assert.Equal(19, result.Remaining);
    }

    [Fact]
    public void Redis_replies_in_milliseconds_become_whole_seconds()
    {
        Assert.Equal(new RateLimitResult(true, 3, 2, 0), RateLimitResult.FromMilliseconds(true, 3, 1001, 0));
        Assert.Equal(new RateLimitResult(false, 0, 0, 1), RateLimitResult.FromMilliseconds(false, 0, 0, 1));
        Assert.Equal(new RateLimitResult(false, 0, 2, 1), RateLimitResult.FromMilliseconds(false, -1, 2000, 0));
    }

    [Fact]
    public void Local_buckets_apply_the_same_math_per_key_with_the_clock()
    {
        var clock = new ManualTimeProvider();
        var buckets = new LocalTokenBuckets(clock, maxBuckets: 100);
        var twoPerSecond = BucketParameters.Create(2, 4);

        var results = Enumerable.Range(0, 5).Select(_ => buckets.Take("ratelimit:api:key:a", twoPerSecond)).ToList();
        Assert.Equal([true, true, true, true, false], results.Select(r => r.Allowed));
        Assert.Equal(1, results[4].RetryAfterSeconds);
        Assert.True(buckets.Take("ratelimit:api:key:b", twoPerSecond).Allowed); // another key, another bucket

        clock.Advance(TimeSpan.FromMilliseconds(500));                            // one token back
        Assert.True(buckets.Take("ratelimit:api:key:a", twoPerSecond).Allowed);
        Assert.False(buckets.Take("ratelimit:api:key:a", twoPerSecond).Allowed);
    }

    [Fact]
    public void Local_buckets_that_refilled_are_pruned_and_the_count_is_bounded()
    {
        var clock = new ManualTimeProvider();
        var buckets = new LocalTokenBuckets(clock, maxBuckets: 3);
        var parameters = BucketParameters.Create(10, 20);

        for (var i = 0; i < 10; i++)
        {
            buckets.Take($"ratelimit:api:ip:10.0.0.{i}", parameters);
        }

        Assert.Equal(4, buckets.Count); // 3 own buckets + the shared overflow bucket of the "api" scope

        clock.Advance(TimeSpan.FromSeconds(1));
        buckets.Prune();

        Assert.Equal(0, buckets.Count);
        Assert.Equal("ratelimit:api:overflow", LocalTokenBuckets.OverflowKey("ratelimit:api:ip:10.0.0.9"));
    }
}
