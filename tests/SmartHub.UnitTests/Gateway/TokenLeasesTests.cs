using SmartHub.Gateway.RateLimiting;

namespace SmartHub.UnitTests.Gateway;

public sealed class TokenLeasesTests
{
    [Theory]
    [InlineData(2, 4, 1)]
    [InlineData(10, 20, 1)]
    [InlineData(99, 198, 1)]
    [InlineData(1000, 2000, 10)]
    [InlineData(1000, 50, 5)]
    [InlineData(1_000_000, 1_000_000, 10_000)]
    public void Lease_size_is_one_below_100_per_second_else_a_hundredth_of_the_rate_capped_by_the_burst(double rate, int burst, long lease) =>
        Assert.Equal(lease, BucketParameters.Create(rate, burst).LeaseSize);

    [Fact]
    public void A_lease_is_spent_token_by_token_and_then_asks_redis_again()
    {
        var leases = new TokenLeases(new ManualTimeProvider());
        leases.Store("k", 3, new RateLimitResult(true, 100, 2, 0));

        var taken = Enumerable.Range(0, 4).Select(_ => leases.TryTake("k", out var r) ? r.Remaining : -1).ToList();

        Assert.Equal([102, 101, 100, -1], taken);
    }

    [Fact]
    public void A_lease_expires_and_its_unspent_tokens_are_not_used()
    {
        var clock = new ManualTimeProvider();
        var leases = new TokenLeases(clock);
        leases.Store("k", 10, new RateLimitResult(true, 0, 1, 0));

        clock.Advance(TokenLeases.Lifetime);

        Assert.False(leases.TryTake("k", out _));
    }

    [Fact]
    public void Leases_are_per_key_and_bounded()
    {
        var leases = new TokenLeases(new ManualTimeProvider(), maxEntries: 2);
        leases.Store("a", 1, default);
        leases.Store("b", 1, default);
        leases.Store("c", 1, default);

        Assert.True(leases.TryTake("a", out _));
        Assert.True(leases.TryTake("b", out _));
        Assert.False(leases.TryTake("c", out _));
        Assert.False(leases.TryTake("a", out _));
    }
}
