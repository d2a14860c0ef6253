using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using SmartHub.Gateway.Telemetry;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.Gateway.RateLimiting;

/// <summary>
/// Takes tokens from the shared Redis buckets, and from <see cref="LocalTokenBuckets"/> while Redis is unavailable.
/// <para>
/// The request path never waits on a dead Redis: a reply has <c>RateLimits:RedisTimeoutMilliseconds</c> (100 ms) to
/// arrive; any failure (refused, broken, timed out, error reply) opens the circuit: this request and all following
/// ones are decided locally, without touching Redis, and a background probe runs the script once a second. The first
/// probe that succeeds closes the circuit. Switching logs one warning, switching back one information; the counter
/// <c>smarthub.gateway.ratelimit.fallback</c> counts local decisions, <c>smarthub.gateway.ratelimit.fallback.active</c>
/// is 1 while in fallback.
/// </para>
/// </summary>
internal sealed class DistributedRateLimiter : IAsyncDisposable
{
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);
    private const string ProbeKey = RateLimitKeys.KeyPrefix + "probe";
    private static readonly BucketParameters s_probeParameters = BucketParameters.Create(1_000_000, 1);

    private readonly IRedisClient _redis;
    private readonly LocalTokenBuckets _local;
    private readonly TokenLeases _leases;
    private readonly ConcurrentDictionary<string, Task<RateLimitResult>> _refills = new(StringComparer.Ordinal);
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly GatewayMetrics _metrics;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _probeLock = new();
    private int _fallback; // 0: Redis, 1: local buckets
    private long _fallbackSince;
    private Task _probe = Task.CompletedTask;

    public DistributedRateLimiter(
        IRedisClient redis, RateLimitOptions options, TimeProvider timeProvider, ILogger<DistributedRateLimiter> logger, GatewayMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(options);
        _redis = redis ?? throw new ArgumentNullException(nameof(redis));
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _timeout = TimeSpan.FromMilliseconds(options.RedisTimeoutMilliseconds);
        _local = new LocalTokenBuckets(timeProvider, options.MaxLocalBuckets);
        _leases = new TokenLeases(timeProvider, options.MaxLocalBuckets);
    }

    /// <summary>True while limits are enforced locally.</summary>
    public bool InFallback => Volatile.Read(ref _fallback) == 1;

    /// <summary>For tests: the local buckets.</summary>
    internal LocalTokenBuckets Local => _local;

    public ValueTask<RateLimitResult> TakeAsync(string key, BucketParameters parameters)
    {
        if (Volatile.Read(ref _fallback) == 0)
        {
            if (parameters.LeaseSize <= 1)
            {
                return TakeFromRedis(key, parameters);
            }

            return _leases.TryTake(key, out var leased) ? new(leased) : RefillLeaseAsync(key, parameters);
        }

        return new(TakeLocal(key, parameters));
    }

    /// <summary>
    /// One lease refill per key at a time: the first request that finds no lease asks Redis; the others arriving
    /// meanwhile wait for that answer and take from the new lease (or are refused with it when the bucket was empty).
    /// Without this, every request in flight at a lease's expiry ran the script, each lease overwrote the previous one,
    /// and the overwritten tokens were lost to the budget (measured: one script call per ten requests at 50 connections).
    /// </summary>
    private async ValueTask<RateLimitResult> RefillLeaseAsync(string key, BucketParameters parameters)
    {
        while (true)
        {
            var mine = new TaskCompletionSource<RateLimitResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            var refill = _refills.GetOrAdd(key, mine.Task);
            if (refill == mine.Task)
            {
                var result = default(RateLimitResult);
                try
                {
                    result = await TakeFromRedis(key, parameters).ConfigureAwait(false);
                }
                finally
                {
                    _refills.TryRemove(KeyValuePair.Create(key, refill));
                    mine.SetResult(result);
                }

                return result;
            }

            var decided = await refill.ConfigureAwait(false);
            if (!decided.Allowed)
            {
                return decided; // the bucket was empty a moment ago: refused with the same Retry-After
            }

            if (Volatile.Read(ref _fallback) != 0)
            {
                return TakeLocal(key, parameters);
            }

            if (_leases.TryTake(key, out var leased))
            {
                return leased;
            }

            // The lease went to the requests ahead of this one: refill again.
        }
    }

    private ValueTask<RateLimitResult> TakeFromRedis(string key, BucketParameters parameters)
    {
        Task<RedisResult> reply;
        try
        {
            reply = RedisTokenBucket.EvaluateAsync(_redis, key, parameters);
        }
#pragma warning disable CA1031 // whatever Redis does (even ObjectDisposedException at shutdown), the request is decided locally
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return new(Fallback(key, parameters, ex.Message));
        }

        if (reply.IsCompleted)
        {
            return new(Decide(reply, key, parameters));
        }

        return AwaitRedisAsync(reply, key, parameters);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RateLimitResult> AwaitRedisAsync(Task<RedisResult> reply, string key, BucketParameters parameters)
    {
        try
        {
            await reply.WaitAsync(_timeout, _timeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Observe(reply);
            return Fallback(key, parameters, $"no answer within {_timeout.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms");
        }
#pragma warning disable CA1031 // Decide() below reads the same failure from the task
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        return Decide(reply, key, parameters);
    }

    private RateLimitResult Decide(Task<RedisResult> reply, string key, BucketParameters parameters)
    {
        if (reply.IsCompletedSuccessfully)
        {
            try
            {
                var (result, granted) = RedisTokenBucket.Parse(reply.Result);
                _leases.Store(key, granted - 1, result);
                return result;
            }
            catch (Exception ex) when (ex is RedisException or InvalidCastException)
            {
                return Fallback(key, parameters, ex.Message);
            }
        }

        var error = reply.Exception?.InnerException;
        return Fallback(key, parameters, error?.Message ?? "the command was canceled");
    }

    private RateLimitResult Fallback(string key, BucketParameters parameters, string reason)
    {
        if (Interlocked.CompareExchange(ref _fallback, 1, 0) == 0)
        {
            Volatile.Write(ref _fallbackSince, _timeProvider.GetTimestamp());
            _metrics.RateLimitFallbackActive.Add(1);
            _logger.LogWarning(
                "Rate limiting falls back to local in-memory buckets: Redis is unavailable ({Reason}). Until it answers again "
                + "this replica enforces every limit on its own (each replica its own copy); probing Redis once a second.",
                reason);
            StartProbe();
        }

        return TakeLocal(key, parameters);
    }

    private RateLimitResult TakeLocal(string key, BucketParameters parameters)
    {
        _metrics.RateLimitFallback.Add(1);
        return _local.Take(key, parameters);
    }

    private void StartProbe()
    {
        lock (_probeLock)
        {
            if (!_stop.IsCancellationRequested)
            {
                _probe = Task.Run(ProbeUntilBackAsync);
            }
        }
    }

    private async Task ProbeUntilBackAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(ProbeInterval, _timeProvider, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _local.Prune();
            var probe = RedisTokenBucket.EvaluateAsync(_redis, ProbeKey, s_probeParameters);
            try
            {
                RedisTokenBucket.Parse(await probe.WaitAsync(ProbeInterval, _timeProvider, token).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidCastException)
            {
                Observe(probe);
                _logger.LogDebug("Rate-limit probe: Redis still unavailable ({Reason})", ex.Message);
                continue;
            }

            var duration = _timeProvider.GetElapsedTime(Volatile.Read(ref _fallbackSince));
            _local.Clear();
            Volatile.Write(ref _fallback, 0);
            _metrics.RateLimitFallbackActive.Add(-1);
            _logger.LogInformation(
                "Rate limiting is back on Redis after {Seconds:0.0} s of local fallback: limits are shared across replicas again.",
                duration.TotalSeconds);
            return;
        }
    }

    /// <summary>A reply abandoned after a timeout may still fail later: observe it so it is not reported as unobserved.</summary>
    private static void Observe(Task task) => task.ContinueWith(
        static t => _ = t.Exception,
        CancellationToken.None,
        TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
        TaskScheduler.Default);

    public async ValueTask DisposeAsync()
    {
        Task probe;
        lock (_probeLock)
        {
            if (_stop.IsCancellationRequested)
            {
                return;
            }

            _stop.Cancel();
            probe = _probe;
        }

        await probe.ConfigureAwait(false);
        _stop.Dispose();
    }
}
