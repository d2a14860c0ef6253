using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.McpServer.Routing;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Telemetry;
using SmartHub.UnitTests.Gateway;

namespace SmartHub.UnitTests.Routing;

public sealed class RedisRpmLimiterTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private readonly ServiceTelemetry _telemetry = new("SmartHub.Tests.Rpm." + Guid.NewGuid().ToString("N"));
    private readonly ScriptedRedis _redis = new();
    private readonly ListLogger<RedisRpmLimiter> _logger = new();
    private readonly RedisRpmLimiter _limiter;

    public RedisRpmLimiterTests() =>
        _limiter = new RedisRpmLimiter(
            _redis,
            Options.Create(new RouterOptions { RpmRedisTimeout = TimeSpan.FromMilliseconds(50) }),
            TimeProvider.System,
            new RoutingMetrics(_telemetry),
            _logger);

    public void Dispose() => _telemetry.Dispose();

    [Fact]
    public void The_window_is_keyed_by_the_deployment_name_in_a_hash_tag()
    {
        Assert.Equal("rpm:{a/m-up}", RedisRpmLimiter.KeyFor(RouterFixture.Deployment("a", rpm: 10)));
    }

    [Fact]
    public async Task A_deployment_without_a_limit_costs_no_redis_call()
    {
        var decision = await _limiter.TryAcquireAsync(RouterFixture.Deployment("a"), CancellationToken.None);

        Assert.True(decision.Allowed);
        Assert.Equal(0, _redis.Calls);
    }

    [Fact]
    public async Task The_scripts_answer_decides()
    {
        _redis.Reply = () => RedisResult.FromArray([RedisResult.FromInteger(0), RedisResult.FromInteger(0), RedisResult.FromInteger(1500)]);

        var decision = await _limiter.TryAcquireAsync(RouterFixture.Deployment("a", rpm: 10), CancellationToken.None);

        Assert.Equal(RpmDecision.Refuse(TimeSpan.FromMilliseconds(1500)), decision);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Unavailable_redis_fails_open_and_is_logged_once(bool refused)
    {
        _redis.Behaviour = refused ? ScriptedRedis.Mode.Fail : ScriptedRedis.Mode.Hang;
        var deployment = RouterFixture.Deployment("a", rpm: 10);

        var first = await _limiter.TryAcquireAsync(deployment, CancellationToken.None).AsTask().WaitAsync(Bound);
        var second = await _limiter.TryAcquireAsync(deployment, CancellationToken.None).AsTask().WaitAsync(Bound);

        Assert.True(first.Allowed);
        Assert.True(second.Allowed);
        var warning = Assert.Single(_logger.Entries);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("a/m-up", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_answer_fails_open()
    {
        _redis.Reply = () => RedisResult.FromInteger(1);

        var decision = await _limiter.TryAcquireAsync(RouterFixture.Deployment("a", rpm: 10), CancellationToken.None);

        Assert.True(decision.Allowed);
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_failing_open()
    {
        _redis.Behaviour = ScriptedRedis.Mode.Hang;
        using var caller = new CancellationTokenSource(TimeSpan.FromMilliseconds(5));
        var slowLimiter = new RedisRpmLimiter(
            _redis, Options.Create(new RouterOptions { RpmRedisTimeout = TimeSpan.FromSeconds(5) }), TimeProvider.System, new RoutingMetrics(_telemetry), _logger);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => slowLimiter.TryAcquireAsync(RouterFixture.Deployment("a", rpm: 10), caller.Token).AsTask().WaitAsync(Bound));
        Assert.Empty(_logger.Entries);
    }
}
