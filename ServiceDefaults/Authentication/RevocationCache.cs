using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// Answers "is this access token revoked?" from the markers AuthService writes to Redis:
/// <list type="bullet">
/// <item><c>auth:user-revoked:{sub}</c> (unix seconds): the user was disabled or their roles changed; tokens issued at
/// or before that second are rejected;</item>
/// <item><c>auth:session-revoked:{sid}</c> (unix seconds): the session was logged out (or its refresh token reused);
/// every token of that session is rejected.</item>
/// </list>
/// Answers are cached in process for at most <see cref="SmartHubAuthenticationOptions.LocalCacheDuration"/> (1 s) and
/// evicted at once by a <c>user:{id}</c> or <c>session:{sid}</c> revocation message. When Redis is down the check fails
/// open — access tokens live 15 minutes — and says so in the log at most once a minute. Without a Redis client
/// registered the check is off (logged at start).
/// </summary>
public sealed class RevocationCache
{
    private readonly IRedisClient? _redis;
    private readonly LocalCache<string, long> _users;
    private readonly LocalCache<string, long> _sessions;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<RevocationCache> _logger;
    private readonly LogThrottle _redisWarning;

    public RevocationCache(
        IServiceProvider services,
        IOptions<SmartHubAuthenticationOptions> options,
        TimeProvider timeProvider,
        ILogger<RevocationCache> logger)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        _redis = services.GetService<IRedisClient>();
        _timeProvider = timeProvider;
        _logger = logger;
        _redisWarning = new LogThrottle(TimeSpan.FromMinutes(1), timeProvider);
        var settings = options.Value;
        _users = new LocalCache<string, long>(settings.LocalCacheDuration, settings.LocalCacheSize, timeProvider, StringComparer.Ordinal);
        _sessions = new LocalCache<string, long>(settings.LocalCacheDuration, settings.LocalCacheSize, timeProvider, StringComparer.Ordinal);
    }

    public bool IsEnabled => _redis is not null;

    /// <summary>
    /// True when the user's sessions were revoked at or after <paramref name="issuedAt"/> (unix seconds), or when the
    /// token's session (<paramref name="sessionId"/>, its <c>sid</c>; null for tokens without one) was revoked.
    /// </summary>
    public ValueTask<bool> IsRevokedAsync(string userId, string? sessionId, long issuedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (_redis is null)
        {
            return ValueTask.FromResult(false);
        }

        if (_users.TryGetFresh(userId, out var userRevokedAt)
            && (sessionId is null || _sessions.TryGetFresh(sessionId, out var sessionRevokedAt) && sessionRevokedAt == 0))
        {
            return ValueTask.FromResult(userRevokedAt > 0 && userRevokedAt >= issuedAt);
        }

        return SlowAsync(userId, sessionId, issuedAt, cancellationToken);
    }

    /// <summary>Forgets the cached answer for this user (a <c>user:{id}</c> revocation message arrived).</summary>
    public void Evict(string userId) => _users.Remove(userId);

    /// <summary>Forgets the cached answer for this session (a <c>session:{sid}</c> revocation message arrived).</summary>
    public void EvictSession(string sessionId) => _sessions.Remove(sessionId);

    private async ValueTask<bool> SlowAsync(string userId, string? sessionId, long issuedAt, CancellationToken cancellationToken)
    {
        var user = _users.GetOrLoadAsync(userId, static (id, self) => self.LoadAsync(SmartHubAuth.UserRevokedKey(id)), this);
        var session = sessionId is null
            ? Task.FromResult(0L)
            : _sessions.GetOrLoadAsync(sessionId, static (id, self) => self.LoadAsync(SmartHubAuth.SessionRevokedKey(id)), this);
        var userRevokedAt = await user.WaitAsync(cancellationToken);
        var sessionRevokedAt = await session.WaitAsync(cancellationToken);
        return sessionRevokedAt > 0 || (userRevokedAt > 0 && userRevokedAt >= issuedAt);
    }

    private async Task<long> LoadAsync(string key)
    {
        var (value, reason) = await BoundedRedisGet.GetBytesAsync(_redis!, key, _timeProvider).ConfigureAwait(false);
        if (reason is null)
        {
            return value is not null && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var unix) ? unix : 0;
        }

        // Fail open (and remember that for the cache's lifetime, so a dead Redis is not asked on every request).
        if (_redisWarning.TryEnter())
        {
            _logger.LogWarning(
                "Redis is unavailable, so access tokens of revoked users and sessions are accepted until they expire (fail-open): {Reason}", reason);
        }

        return 0;
    }
}
