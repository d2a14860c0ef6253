using SmartHub.ServiceDefaults.Authentication;

namespace SmartHub.UnitTests.Identity;

public sealed class LocalCacheTests
{
    private readonly IdentityClock _clock = new(DateTimeOffset.UnixEpoch);

    [Fact]
    public async Task Values_live_for_the_ttl_then_load_again()
    {
        var cache = new LocalCache<string, int>(TimeSpan.FromSeconds(1), 100, _clock);
        var loads = 0;
        Task<int> Load(string _, int __) => Task.FromResult(++loads);

        Assert.Equal(1, await cache.GetOrLoadAsync("a", Load, 0));
        Assert.True(cache.TryGetFresh("a", out var hit));
        Assert.Equal(1, hit);

        _clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.True(cache.TryGetFresh("a", out _));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(cache.TryGetFresh("a", out _));
        Assert.Equal(2, await cache.GetOrLoadAsync("a", Load, 0));
    }

    [Fact]
    public async Task Concurrent_misses_share_one_load()
    {
        var cache = new LocalCache<string, int>(TimeSpan.FromSeconds(1), 100, _clock);
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loads = 0;

        var waiters = Enumerable.Range(0, 20).Select(_ => cache.GetOrLoadAsync("a", (_, g) => { Interlocked.Increment(ref loads); return g.Task; }, gate)).ToList();
        gate.SetResult(42);

        Assert.All(await Task.WhenAll(waiters), v => Assert.Equal(42, v));
        Assert.Equal(1, loads);
    }

    [Fact]
    public async Task Failures_are_not_cached()
    {
        var cache = new LocalCache<string, int>(TimeSpan.FromSeconds(1), 100, _clock);

        await Assert.ThrowsAsync<InvalidOperationException>(() => cache.GetOrLoadAsync("a", (_, _) => Task.FromException<int>(new InvalidOperationException()), 0));
        Assert.False(cache.TryGetFresh("a", out _));
        Assert.Equal(7, await cache.GetOrLoadAsync("a", (_, _) => Task.FromResult(7), 0));
    }

    [Fact]
    public async Task Removal_forces_a_new_load()
    {
        var cache = new LocalCache<string, int>(TimeSpan.FromSeconds(1), 100, _clock);
        await cache.GetOrLoadAsync("a", (_, _) => Task.FromResult(1), 0);
        await cache.GetOrLoadAsync("b", (_, _) => Task.FromResult(2), 0);

        cache.Remove("a");
        cache.RemoveWhere((value, target) => value == target, 2);

        Assert.False(cache.TryGetFresh("a", out _));
        Assert.False(cache.TryGetFresh("b", out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task Size_stays_bounded_under_a_flood_of_distinct_keys()
    {
        var cache = new LocalCache<int, int>(TimeSpan.FromSeconds(1), 100, _clock);

        for (var i = 0; i < 10_000; i++)
        {
            await cache.GetOrLoadAsync(i, (k, _) => Task.FromResult(k), 0);
        }

        Assert.InRange(cache.Count, 1, 101);
    }
}
