using System.Diagnostics;
using System.Net;
using SmartHub.IntegrationTests.Hosting;

namespace SmartHub.IntegrationTests.Identity;

[Collection(GraphCollection.Name)]
public sealed class RateLimitTests(GraphFixture graph)
{
    /// <summary>
    /// A key limited to 2 req/s (burst 4) hammered through both replicas as fast as possible: the replicas share one
    /// bucket in Redis, so no more than the burst plus what refilled meanwhile gets through. Separate buckets would let
    /// 8 through.
    /// </summary>
    private async Task<(int Allowed, int Limited, HttpResponseMessage? LimitedResponse)> HammerAsync(string key, int requests)
    {
        using var one = graph.Client(apiKey: key, replica: 1);
        using var two = graph.Client(apiKey: key, replica: 2);
        var allowed = 0;
        var limited = 0;
        HttpResponseMessage? sample = null;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < requests; i++)
        {
            var response = await (i % 2 == 0 ? one : two).GetAsync("/api/status");
            Assert.True(response.Headers.Contains("X-RateLimit-Limit"), $"X-RateLimit-Limit missing on {(int)response.StatusCode}");
            Assert.True(response.Headers.Contains("X-RateLimit-Remaining"));
            Assert.True(response.Headers.Contains("X-RateLimit-Reset"));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited++;
                sample ??= response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                allowed++;
                response.Dispose();
            }
        }

        var ceiling = 4 + (int)Math.Ceiling(clock.Elapsed.TotalSeconds * 2) + 1;
        Assert.True(allowed <= ceiling, $"{allowed} requests got through in {clock.Elapsed.TotalMilliseconds:0} ms; one shared 2/s bucket allows at most {ceiling}");
        return (allowed, limited, sample);
    }

    [Fact]
    public async Task Two_gateway_replicas_share_one_budget_and_answer_429_with_retry_after()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user, rateLimitPerSecond: 2);

        var (allowed, limited, sample) = await HammerAsync(key, 12);

        Assert.True(allowed >= 4, $"the burst of 4 should pass, {allowed} did");
        Assert.True(limited > 0);
        Assert.NotNull(sample!.Headers.RetryAfter?.Delta);
        Assert.True(sample.Headers.RetryAfter!.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("2", sample.Headers.GetValues("X-RateLimit-Limit").Single());
        Assert.Equal("0", sample.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal("application/problem+json", sample.Content.Headers.ContentType?.MediaType);
        sample.Dispose();
    }

    [Fact]
    public async Task Redis_stopped_during_traffic_degrades_to_local_limits_and_recovers()
    {
        var user = await graph.NewUserAsync();
        var (_, key) = await graph.NewApiKeyAsync(user);
        using var jwt = graph.Client(bearer: user.Tokens.AccessToken, replica: 2);
        using var apiKey = graph.Client(apiKey: key, replica: 1);
        Assert.Equal(HttpStatusCode.OK, (await apiKey.GetAsync("/api/status")).StatusCode);

        await graph.App.StopResourceAsync("cache");
        try
        {
            for (var i = 0; i < 20; i++)
            {
                using var byToken = await jwt.GetAsync("/api/status");
                using var byKey = await apiKey.GetAsync("/api/status");
                Assert.Equal(HttpStatusCode.OK, byToken.StatusCode);
                Assert.Equal(HttpStatusCode.OK, byKey.StatusCode);
                Assert.True(byKey.Headers.Contains("X-RateLimit-Remaining"), "local limits still apply during the outage");
                await Task.Delay(50);
            }
        }
        finally
        {
            await graph.App.StartResourceAsync("cache");
        }

        // Back on Redis: the shared budget holds again across the replicas.
        var (_, limitedKey) = await graph.NewApiKeyAsync(user, rateLimitPerSecond: 2);
        await Poll.UntilAsync(async () =>
        {
            var (allowed, limited, sample) = await HammerAsyncQuiet(limitedKey);
            sample?.Dispose();
            return limited > 0 && allowed <= 6;
        }, TimeSpan.FromSeconds(20), "the replicas share one Redis budget again");
    }

    private async Task<(int Allowed, int Limited, HttpResponseMessage? Sample)> HammerAsyncQuiet(string key)
    {
        try
        {
            return await HammerAsync(key, 12);
        }
        catch (Xunit.Sdk.XunitException)
        {
            await Task.Delay(3000);
            return (int.MaxValue, 0, null);
        }
    }
}
