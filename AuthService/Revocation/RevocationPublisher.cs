using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using SmartHub.AuthService.Options;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.AuthService.Revocation;

/// <summary>
/// Tells the gateways and services through Redis that credentials changed:
/// <list type="bullet">
/// <item>a key revoked: DEL <c>auth:apikey:{hash}</c>, PUBLISH <c>apikey:{hash}</c> on <c>auth:revocations</c>;</item>
/// <item>a user disabled or their roles changed: SET <c>auth:user-revoked:{id}</c> = now (unix s, TTL access-token
/// lifetime + 1 min), DEL their keys' entries, PUBLISH <c>user:{id}</c>;</item>
/// <item>a session logged out or its refresh token reused: SET <c>auth:session-revoked:{sid}</c> = now (same TTL),
/// PUBLISH <c>session:{sid}</c>.</item>
/// </list>
/// The database change comes first and is the truth; if Redis is down the Redis part is queued (bounded) and retried
/// every second until it succeeds, because a stale <c>auth:apikey:</c> entry would keep a revoked key alive for up to
/// its 10 min TTL. Also writes verified identities into Redis (best effort).
/// </summary>
public sealed class RevocationPublisher(
    IRedisClient redis,
    IOptions<AuthOptions> options,
    TimeProvider timeProvider,
    ILogger<RevocationPublisher> logger) : BackgroundService
{
    /// <summary>Redis TTL of a cached API-key identity (shorter when the key expires sooner).</summary>
    public static readonly TimeSpan IdentityCacheDuration = TimeSpan.FromMinutes(10);

    private const int QueueCapacity = 10_000;
    private static readonly TimeSpan s_retryDelay = TimeSpan.FromSeconds(1);

    private readonly Channel<Operation> _pending = Channel.CreateBounded<Operation>(new BoundedChannelOptions(QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    public Task ApiKeyRevokedAsync(string keyHashHex, CancellationToken cancellationToken) =>
        RunOrQueueAsync(new Operation($"key {keyHashHex[..8]}…", [keyHashHex], null, null), cancellationToken);

    public Task UserRevokedAsync(Guid userId, long revokedAtUnix, IReadOnlyList<string> keyHashesHex, CancellationToken cancellationToken) =>
        RunOrQueueAsync(new Operation($"user {userId}", keyHashesHex, userId.ToString(), revokedAtUnix), cancellationToken);

    /// <summary>A session logged out (or its refresh token reused): its access tokens end everywhere.</summary>
    public Task SessionRevokedAsync(Guid sessionId, long revokedAtUnix, CancellationToken cancellationToken) =>
        RunOrQueueAsync(new Operation($"session {sessionId}", [], null, revokedAtUnix, sessionId.ToString()), cancellationToken);

    /// <summary>SET <c>auth:apikey:{hash}</c> with TTL min(10 min, until expiry). Failures are logged and ignored.</summary>
    public async Task<bool> CacheIdentityAsync(string keyHashHex, ApiKeyIdentity identity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var ttl = IdentityCacheDuration;
        if (identity.ExpiresAt is { } expiresAt && expiresAt - timeProvider.GetUtcNow() < ttl)
        {
            ttl = expiresAt - timeProvider.GetUtcNow();
        }

        if (ttl <= TimeSpan.Zero)
        {
            return false;
        }

        try
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(identity, AuthJsonContext.Default.ApiKeyIdentity);
            await redis.SetAsync(SmartHubAuth.ApiKeyCacheKey(keyHashHex), json, ttl, cancellationToken: cancellationToken);
            return true;
        }
        catch (RedisException ex)
        {
            logger.LogDebug("Could not cache an API-key identity in Redis: {Reason}", ex.Message);
            return false;
        }
    }

    /// <summary>DEL <c>auth:apikey:{hash}</c> without a message: undoes a cache write that raced a revocation.</summary>
    public async Task ForgetIdentityAsync(string keyHashHex, CancellationToken cancellationToken)
    {
        try
        {
            await redis.DeleteAsync(SmartHubAuth.ApiKeyCacheKey(keyHashHex), cancellationToken);
        }
        catch (RedisException)
        {
            await RunOrQueueAsync(new Operation($"key {keyHashHex[..8]}…", [keyHashHex], null, null), cancellationToken);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var operation in _pending.Reader.ReadAllAsync(stoppingToken))
            {
                var attempts = 0;
                while (true)
                {
                    try
                    {
                        await ApplyAsync(operation, stoppingToken);
                        logger.LogInformation("Revocation of {What} reached Redis after {Attempts} retries", operation.Description, attempts);
                        break;
                    }
                    catch (RedisException ex)
                    {
                        if (attempts++ % 60 == 0)
                        {
                            logger.LogWarning("Revocation of {What} still not in Redis ({Reason}); retrying every second", operation.Description, ex.Message);
                        }

                        await Task.Delay(s_retryDelay, timeProvider, stoppingToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            if (_pending.Reader.Count > 0)
            {
                logger.LogWarning("{Count} revocations did not reach Redis before shutdown; cached entries expire within 10 min", _pending.Reader.Count);
            }
        }
    }

    private async Task RunOrQueueAsync(Operation operation, CancellationToken cancellationToken)
    {
        try
        {
            await ApplyAsync(operation, cancellationToken);
        }
        catch (RedisException ex)
        {
            logger.LogWarning("Revocation of {What} could not be written to Redis ({Reason}); queued for retry", operation.Description, ex.Message);
            if (!_pending.Writer.TryWrite(operation))
            {
                logger.LogError("Revocation retry queue closed; {What} not retried", operation.Description);
            }
        }
    }

    private async Task ApplyAsync(Operation operation, CancellationToken cancellationToken)
    {
        if (operation.SessionId is { } sessionId)
        {
            await redis.SetAsync(
                SmartHubAuth.SessionRevokedKey(sessionId),
                operation.RevokedAtUnix!.Value.ToString(CultureInfo.InvariantCulture),
                options.Value.AccessTokenLifetime + TimeSpan.FromMinutes(1),
                cancellationToken: cancellationToken);
            await redis.PublishAsync(SmartHubAuth.RevocationChannel, SmartHubAuth.SessionRevocationMessage(sessionId), cancellationToken);
            return;
        }

        if (operation.UserId is { } userId)
        {
            var ttl = options.Value.AccessTokenLifetime + TimeSpan.FromMinutes(1);
            await redis.SetAsync(
                SmartHubAuth.UserRevokedKey(userId),
                operation.RevokedAtUnix!.Value.ToString(CultureInfo.InvariantCulture),
                ttl,
                cancellationToken: cancellationToken);
        }

        foreach (var hash in operation.KeyHashes)
        {
            await redis.DeleteAsync(SmartHubAuth.ApiKeyCacheKey(hash), cancellationToken);
        }

        if (operation.UserId is { } user)
        {
            await redis.PublishAsync(SmartHubAuth.RevocationChannel, SmartHubAuth.UserRevocationMessage(user), cancellationToken);
        }
        else
        {
            foreach (var hash in operation.KeyHashes)
            {
                await redis.PublishAsync(SmartHubAuth.RevocationChannel, SmartHubAuth.ApiKeyRevocationMessage(hash), cancellationToken);
            }
        }
    }

    private sealed record Operation(string Description, IReadOnlyList<string> KeyHashes, string? UserId, long? RevokedAtUnix, string? SessionId = null);
}
