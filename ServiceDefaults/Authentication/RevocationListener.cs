using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Authentication;

/// <summary>
/// Subscribes to <c>auth:revocations</c> and evicts the in-process caches at once: <c>apikey:{sha256hex}</c> drops one
/// key, <c>user:{userId}</c> drops the user's keys and revocation answer, <c>session:{sid}</c> the session's answer. The client renews the subscription after a
/// reconnect; messages lost meanwhile are covered by the caches' 1 s lifetime.
/// </summary>
internal sealed class RevocationListener(
    IServiceProvider services,
    ApiKeyVerifier apiKeys,
    RevocationCache users,
    ILogger<RevocationListener> logger) : BackgroundService
{
    private static readonly TimeSpan s_retryDelay = TimeSpan.FromSeconds(2);
    private const string ApiKeyPrefix = "apikey:";
    private const string UserPrefix = "user:";
    private const string SessionPrefix = "session:";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var redis = services.GetService<IRedisClient>();
        if (redis is null)
        {
            logger.LogInformation(
                "No Redis client registered: revocations reach this service through the 1 s API-key cache only, and revoked users' access tokens stay valid until they expire");
            return;
        }

        var timeProvider = services.GetRequiredService<TimeProvider>();
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            RedisSubscription? subscription = null;
            try
            {
                subscription = await redis.SubscribeAsync(SmartHubAuth.RevocationChannel, OnMessage, stoppingToken);
                if (failures > 0)
                {
                    logger.LogInformation("Subscribed to {Channel}", SmartHubAuth.RevocationChannel);
                }

                failures = 0;
                await Task.Delay(Timeout.Infinite, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (RedisException ex)
            {
                if (failures++ == 0)
                {
                    logger.LogWarning("Cannot subscribe to {Channel} yet ({Reason}); retrying every {Seconds} s",
                        SmartHubAuth.RevocationChannel, ex.Message, s_retryDelay.TotalSeconds);
                }

                // A revocation we might have missed: start from empty caches once subscribed again.
                apiKeys.EvictAll();
                try
                {
                    await Task.Delay(s_retryDelay, timeProvider, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            finally
            {
                if (subscription is not null)
                {
                    await subscription.DisposeAsync();
                }
            }
        }
    }

    internal void OnMessage(RedisChannelMessage message)
    {
        var text = message.Message.AsString();
        if (text is null)
        {
            return;
        }

        if (text.StartsWith(ApiKeyPrefix, StringComparison.Ordinal))
        {
            if (ApiKeyHash.TryParseHex(text.AsSpan(ApiKeyPrefix.Length), out var hash))
            {
                apiKeys.Evict(hash);
            }
        }
        else if (text.StartsWith(SessionPrefix, StringComparison.Ordinal))
        {
            users.EvictSession(text[SessionPrefix.Length..]);
        }
        else if (text.StartsWith(UserPrefix, StringComparison.Ordinal))
        {
            var id = text[UserPrefix.Length..];
            users.Evict(id);
            if (Guid.TryParse(id, out var userId))
            {
                apiKeys.EvictUser(userId);
            }
        }
    }
}
