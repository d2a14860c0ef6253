using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using SmartHub.McpServer.Providers;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.McpServer.Routing;

/// <summary>
/// Requests-per-minute limits across replicas: a sliding one-minute window per deployment in Redis, one atomic Lua
/// script (EVALSHA) per attempt. The window is a sorted set <c>rpm:{provider/upstream-model}</c> (the braces are a
/// cluster hash tag) of request ids scored by Redis's own clock, so the replicas' clocks do not matter and the count
/// is exact: at most RPM requests in any 60 s. Memory is bounded by the limit itself (one entry per accepted request
/// of the last minute); an idle key expires.
/// <para>
/// Redis unreachable, slow (beyond <see cref="RouterOptions.RpmRedisTimeout"/>) or answering nonsense: the request is
/// allowed (fail open). It is logged at most once a minute and counted by <c>smarthub.mcp.routing.rpm.fail_open</c>.
/// </para>
/// </summary>
internal sealed class RedisRpmLimiter : IRpmLimiter
{
    public const string KeyPrefix = "rpm:";

    /// <summary>
    /// KEYS[1] the window; ARGV[1] the limit, ARGV[2] a unique request id. Returns {allowed (1/0), remaining, retry-after ms}.
    /// Times are milliseconds: Lua 5.1 turns numbers into strings with 14 significant digits, which µs since 1970 exceed.
    /// </summary>
    public static readonly LuaScript Script = new("""
        local limit = tonumber(ARGV[1])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local window = 60000
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        local count = redis.call('ZCARD', KEYS[1])
        if count < limit then
          redis.call('ZADD', KEYS[1], now, ARGV[2])
          redis.call('PEXPIRE', KEYS[1], window + 1000)
          return { 1, limit - count - 1, 0 }
        end
        local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
        local retry_ms = 1
        if oldest[2] then
          retry_ms = math.max(1, tonumber(oldest[2]) + window - now)
        end
        return { 0, 0, retry_ms }
        """);

    private static readonly TimeSpan s_logInterval = TimeSpan.FromMinutes(1);

    private readonly IRedisClient _redis;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly RoutingMetrics _metrics;
    private readonly ILogger _logger;
    private readonly LogThrottle _logThrottle;
    private readonly string _replica = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
    private long _sequence;

    public RedisRpmLimiter(IRedisClient redis, IOptions<RouterOptions> options, TimeProvider timeProvider, RoutingMetrics metrics, ILogger<RedisRpmLimiter> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _redis = redis ?? throw new ArgumentNullException(nameof(redis));
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _timeout = options.Value.RpmRedisTimeout;
        _logThrottle = new LogThrottle(s_logInterval, timeProvider);
    }

    public static string KeyFor(ChatDeployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return $"{KeyPrefix}{{{deployment.Name}}}";
    }

    public async ValueTask<RpmDecision> TryAcquireAsync(ChatDeployment deployment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (deployment.RequestsPerMinute is not { } limit)
        {
            return RpmDecision.Allow;
        }

        var id = string.Create(CultureInfo.InvariantCulture, $"{_replica}:{Interlocked.Increment(ref _sequence)}");
        Task<RedisResult> reply;
        try
        {
            reply = _redis.ScriptEvaluateAsync(Script, [KeyFor(deployment)], [(long)limit, id], cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // whatever Redis does (even ObjectDisposedException at shutdown), the request goes on
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return FailOpen(deployment, ex.Message);
        }

        try
        {
            var result = await reply.WaitAsync(_timeout, _timeProvider, cancellationToken);
            var items = result.AsArray();
            if (items.Count != 3)
            {
                throw new InvalidCastException($"the RPM script returned {items.Count} values instead of 3");
            }

            return items[0].AsLong() == 1 ? RpmDecision.Allow : RpmDecision.Refuse(TimeSpan.FromMilliseconds(items[2].AsLong()));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Observe(reply);
            throw;
        }
        catch (TimeoutException)
        {
            Observe(reply);
            return FailOpen(deployment, $"no answer within {_timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
        }
        catch (Exception ex) when (ex is RedisException or InvalidCastException or OperationCanceledException or ObjectDisposedException)
        {
            return FailOpen(deployment, ex.Message);
        }
    }

    private RpmDecision FailOpen(ChatDeployment deployment, string reason)
    {
        _metrics.RpmFailOpen.Add(1, new KeyValuePair<string, object?>(RoutingMetrics.DeploymentTag, deployment.Name));
        if (_logThrottle.TryEnter())
        {
            _logger.LogWarning(
                "Requests-per-minute limits are not enforced: Redis is unavailable ({Reason}); {Deployment} and every other limited "
                + "deployment are let through (the providers' own limits still apply). Logged at most once a minute.",
                reason,
                deployment.Name);
        }

        return RpmDecision.Allow;
    }

    /// <summary>A reply abandoned by a timeout or cancellation may still fail: observe it so it is not an unobserved exception.</summary>
    private static void Observe(Task task) =>
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
}
