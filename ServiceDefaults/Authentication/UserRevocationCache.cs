using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// Answers "were this user's sessions revoked at or after the token's iat?" from Redis <c>auth:user-revoked:{sub}</c>
/// (unix seconds, written by AuthService when it disables a user or changes their roles), cached in process for at most
/// <see cref="SmartHubAuthenticationOptions.LocalCacheDuration"/> (1 s) and evicted at once by a <c>user:{id}</c>
/// revocation message. When Redis is down the check fails open — access tokens live 15 minutes — and says so in the
/// log at most once a minute. Without a Redis client registered the check is off (logged at start).
/// </summary>
public sealed class UserRevocationCache
{
    private readonly IRedisClient? _redis;
    private readonly LocalCache<string, long> _cache;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<UserRevocationCache> _logger;
    private readonly LogThrottle _redisWarning;

    public UserRevocationCache(
        IServiceProvider services,
        IOptions<SmartHubAuthenticationOptions> options,
        TimeProvider timeProvider,
        ILogger<UserRevocationCache> logger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        _redis = services.GetService<IRedisClient>();
        _timeProvider = timeProvider;
        _logger = logger;
        _redisWarning = new LogThrottle(TimeSpan.FromMinutes(1), timeProvider);
        _cache = new LocalCache<string, long>(options.Value.LocalCacheDuration, options.Value.LocalCacheSize, timeProvider, StringComparer.Ordinal);
    }

    public bool IsEnabled => _redis is not null;

    /// <summary>True when the user's sessions were revoked at or after <paramref name="issuedAt"/> (unix seconds).</summary>
    public ValueTask<bool> IsRevokedAsync(string userId, long issuedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (_redis is null)
        {
            return ValueTask.FromResult(false);
        }

        if (_cache.TryGetFresh(userId, out var revokedAt))
        {
            return ValueTask.FromResult(revokedAt > 0 && revokedAt >= issuedAt);
        }

        return SlowAsync(userId, issuedAt, cancellationToken);
    }

    /// <summary>Forgets the cached answer for this user (a <c>user:{id}</c> revocation message arrived).</summary>
    public void Evict(string userId) => _cache.Remove(userId);

    private async ValueTask<bool> SlowAsync(string userId, long issuedAt, CancellationToken cancellationToken)
    {
        var revokedAt = await _cache.GetOrLoadAsync(userId, static (id, self) => self.LoadAsync(id), this).WaitAsync(cancellationToken);
        return revokedAt > 0 && revokedAt >= issuedAt;
    }

    private async Task<long> LoadAsync(string userId)
    {
        string reason;
        try
        {
            // A hung Redis must not hold requests for the client's whole command timeout.
            using var timeout = new CancellationTokenSource(SmartHubAuth.RedisLookupTimeout, _timeProvider);
            var value = await _redis!.GetAsync(SmartHubAuth.UserRevokedKey(userId), timeout.Token).ConfigureAwait(false);
            return value is not null && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var unix) ? unix : 0;
        }
        catch (RedisException ex)
        {
            reason = ex.Message;
        }
        catch (OperationCanceledException)
        {
            reason = $"no answer within {SmartHubAuth.RedisLookupTimeout.TotalMilliseconds:0} ms";
        }

        // Fail open (and remember that for the cache's lifetime, so a dead Redis is not asked on every request).
        if (_redisWarning.TryEnter())
        {
            _logger.LogWarning(
                "Redis is unavailable, so access tokens of revoked users are accepted until they expire (fail-open): {Reason}", reason);
        }

        return 0;
    }
}
