extern alias mcp;

using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartHub.IntegrationTests.Redis;
using mcp::SmartHub.McpServer.Providers;
using mcp::SmartHub.McpServer.Routing;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.IntegrationTests.Routing;

/// <summary>
/// The requests-per-minute Lua script against a real redis-server: two router "replicas", each with its own Redis
/// connection, draw from one budget per deployment.
/// </summary>
public sealed class RpmLimitTests(RedisServerFixture server) : IClassFixture<RedisServerFixture>, IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly ServiceTelemetry _telemetry = new("SmartHub.Tests.RpmLimit");
    private readonly CountingProvider _provider = new();
    private readonly string _prefix = "it" + Guid.NewGuid().ToString("N")[..8];
    private RedisConnection _replica1 = null!;
    private RedisConnection _replica2 = null!;

    public async Task InitializeAsync()
    {
        _replica1 = await RedisConnection.ConnectAsync(server.Options()).WaitAsync(Bound);
        _replica2 = await RedisConnection.ConnectAsync(server.Options()).WaitAsync(Bound);
    }

    public async Task DisposeAsync()
    {
        await _replica1.DisposeAsync();
        await _replica2.DisposeAsync();
    }

    public void Dispose() => _telemetry.Dispose();

    [Fact]
    public async Task Two_replicas_sharing_one_redis_together_accept_exactly_the_rpm()
    {
        const int Rpm = 10;
        var limited = Deployment("limited", Rpm);
        var backup = Deployment("backup", rpm: null);
        var routers = new[] { Router(_replica1), Router(_replica2) };

        // 40 calls at once, half through each replica.
        var routed = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() =>
            routers[i % 2].CompleteAsync([limited, backup], Request(), d => 16, CancellationToken.None)))).WaitAsync(Bound);

        Assert.Equal(Rpm, routed.Count(r => r.Deployment == limited));
        Assert.Equal(40 - Rpm, routed.Count(r => r.Deployment == backup));
        Assert.Equal(Rpm, _provider.CallsTo(limited));
        Assert.All(
            routed.Where(r => r.Deployment == backup),
            r => Assert.Equal(AttemptOutcome.RpmExhausted, r.Attempts[0].Outcome));
        Assert.Equal(Rpm, (await _replica1.ExecuteAsync("ZCARD", [RedisRpmLimiter.KeyFor(limited)])).AsLong());
    }

    [Fact]
    public async Task Refusals_take_no_slot_and_say_when_the_oldest_request_leaves_the_window()
    {
        var deployment = Deployment("window", 3);
        var key = RedisRpmLimiter.KeyFor(deployment);
        var now = await RedisNowMillisecondsAsync();
        await _replica1.ExecuteAsync("ZADD", [key, now - 50_000, "fifty-seconds-ago"]);
        var limiter1 = Limiter(_replica1);
        var limiter2 = Limiter(_replica2);

        var decisions = new List<RpmDecision>();
        for (var i = 0; i < 6; i++)
        {
            decisions.Add(await (i % 2 == 0 ? limiter1 : limiter2).TryAcquireAsync(deployment, CancellationToken.None));
        }

        Assert.Equal([true, true, false, false, false, false], decisions.Select(d => d.Allowed));
        Assert.All(decisions.Skip(2), d => Assert.InRange(d.RetryAfter!.Value, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(10)));
        Assert.Equal(3, (await _replica1.ExecuteAsync("ZCARD", [key])).AsLong());
        var ttl = (await _replica1.ExecuteAsync("PTTL", [key])).AsLong();
        Assert.InRange(ttl, 1, 61_000);
    }

    [Fact]
    public async Task Requests_older_than_a_minute_no_longer_count()
    {
        var deployment = Deployment("slide", 2);
        var key = RedisRpmLimiter.KeyFor(deployment);
        var now = await RedisNowMillisecondsAsync();
        await _replica1.ExecuteAsync("ZADD", [key, now - 61_000, "old-1", now - 60_500, "old-2"]);

        var first = await Limiter(_replica1).TryAcquireAsync(deployment, CancellationToken.None);
        var second = await Limiter(_replica2).TryAcquireAsync(deployment, CancellationToken.None);
        var third = await Limiter(_replica1).TryAcquireAsync(deployment, CancellationToken.None);

        Assert.Equal((true, true, false), (first.Allowed, second.Allowed, third.Allowed));
        Assert.Equal(2, (await _replica1.ExecuteAsync("ZCARD", [key])).AsLong());
    }

    [Fact]
    public async Task Unreachable_redis_lets_requests_through()
    {
        await using var dead = RedisConnection.Create(RedisOptions.Parse($"127.0.0.1:{UnusedPort()},abortConnect=false,connectTimeout=200"));
        var deployment = Deployment("dead", 1);

        var decisions = new List<RpmDecision>();
        for (var i = 0; i < 3; i++)
        {
            decisions.Add(await Limiter(dead).TryAcquireAsync(deployment, CancellationToken.None).AsTask().WaitAsync(Bound));
        }

        Assert.All(decisions, d => Assert.True(d.Allowed));
    }

    private ChatDeployment Deployment(string name, int? rpm) => new()
    {
        Provider = $"{_prefix}-{name}",
        Type = CountingProvider.TypeName,
        Model = "m",
        UpstreamModel = "m",
        RequestsPerMinute = rpm,
    };

    private static ChatRequest Request() => new("m", [new ChatMessage(ChatMessage.User, "hi")]);

    private RedisRpmLimiter Limiter(IRedisClient redis) => new(
        redis,
        Options.Create(new RouterOptions { RpmRedisTimeout = TimeSpan.FromSeconds(2) }),
        TimeProvider.System,
        new RoutingMetrics(_telemetry),
        NullLogger<RedisRpmLimiter>.Instance);

    private DeploymentRouter Router(IRedisClient redis) => new(
        new ProviderRegistry([_provider]),
        Limiter(redis),
        Options.Create(new RouterOptions()),
        TimeProvider.System,
        _telemetry,
        NullLogger<DeploymentRouter>.Instance);

    private async Task<long> RedisNowMillisecondsAsync()
    {
        var time = (await _replica1.ExecuteAsync("TIME", [])).AsArray();
        return (time[0].AsLong() * 1000) + (time[1].AsLong() / 1000);
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Answers every call at once and counts calls per deployment.</summary>
    private sealed class CountingProvider : IChatProvider
    {
        public const string TypeName = "counting";

        private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

        public string Type => TypeName;

        public int CallsTo(ChatDeployment deployment) => _calls.TryGetValue(deployment.Name, out var calls) ? calls : 0;

        public Task<ChatCompletion> CompleteAsync(ChatCall call, CancellationToken cancellationToken)
        {
            _calls.AddOrUpdate(call.Deployment.Name, 1, static (_, c) => c + 1);
            return Task.FromResult(new ChatCompletion(string.Create(CultureInfo.InvariantCulture, $"from {call.Deployment.Name}"), FinishReasons.Stop, new TokenUsage(1, 1)));
        }

        public IAsyncEnumerable<ChatDelta> StreamAsync(ChatCall call, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
