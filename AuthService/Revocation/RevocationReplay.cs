using System.Globalization;
using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.AuthService.Options;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Logging;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.AuthService.Revocation;

/// <summary>
/// Writes recent revocations from authdb (the truth) into Redis again, at start and every
/// <see cref="AuthOptions.RevocationReplayInterval"/> (1 min): user markers (<c>auth:user-revoked:</c>) and session
/// markers (<c>auth:session-revoked:</c>) that could still matter (revoked within an access-token lifetime), and the
/// deletion of cached identities of API keys revoked within the Redis identity TTL (10 min).
/// </summary>
/// <remarks>
/// <see cref="RevocationPublisher"/> writes each revocation at once and retries while Redis is down, but its queue
/// lives in memory: an AuthService that crashes before Redis comes back loses it, and a Redis that loses its data
/// forgets the markers. Either way a revoked token or key would work again until it expires. Replaying from the
/// database bounds that to one interval. Idempotent, so every replica may run it.
/// </remarks>
public sealed class RevocationReplay(
    NpgsqlDataSource dataSource,
    DatabaseReadiness readiness,
    IRedisClient redis,
    IOptions<AuthOptions> options,
    TimeProvider timeProvider,
    ILogger<RevocationReplay> logger) : BackgroundService
{
    private readonly LogThrottle _failureLog = new(TimeSpan.FromMinutes(5), timeProvider);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
            using var timer = new PeriodicTimer(options.Value.RevocationReplayInterval, timeProvider);
            do
            {
                try
                {
                    await ReplayAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is NpgsqlException or RedisException or TimeoutException)
                {
                    if (_failureLog.TryEnter())
                    {
                        logger.LogWarning("Revocation replay skipped (retrying every interval): {Reason}", ex.Message);
                    }
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass; returns how many markers were written and cache entries deleted.</summary>
    internal async Task<int> ReplayAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var now = timeProvider.GetUtcNow();
        var markerLifetime = settings.AccessTokenLifetime + TimeSpan.FromMinutes(1);
        var writes = new List<Task>();

        await using (var users = dataSource.CreateCommand("SELECT id, sessions_revoked_at FROM users WHERE sessions_revoked_at > @since"))
        {
            users.With("since", now - markerLifetime);
            await using var reader = await users.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                writes.Add(SetMarkerAsync(
                    SmartHubAuth.UserRevokedKey(reader.GetGuid(0).ToString()), reader.GetFieldValue<DateTimeOffset>(1), now, markerLifetime, cancellationToken));
            }
        }

        await using (var sessions = dataSource.CreateCommand(
            "SELECT family_id, max(revoked_at) FROM refresh_tokens WHERE revoked_at > @since GROUP BY family_id"))
        {
            sessions.With("since", now - markerLifetime);
            await using var reader = await sessions.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                writes.Add(SetMarkerAsync(
                    SmartHubAuth.SessionRevokedKey(reader.GetGuid(0).ToString()), reader.GetFieldValue<DateTimeOffset>(1), now, markerLifetime, cancellationToken));
            }
        }

        await using (var keys = dataSource.CreateCommand("SELECT key_hash FROM api_keys WHERE revoked_at > @since"))
        {
            keys.With("since", now - RevocationPublisher.IdentityCacheDuration);
            await using var reader = await keys.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                writes.Add(redis.DeleteAsync(SmartHubAuth.ApiKeyCacheKey(reader.GetString(0)), cancellationToken));
            }
        }

        await Task.WhenAll(writes); // pipelined: one round trip's worth of waiting for the whole pass
        return writes.Count;
    }

    private Task SetMarkerAsync(string key, DateTimeOffset revokedAt, DateTimeOffset now, TimeSpan markerLifetime, CancellationToken cancellationToken)
    {
        var ttl = revokedAt + markerLifetime - now;
        return ttl <= TimeSpan.Zero
            ? Task.CompletedTask
            : redis.SetAsync(key, revokedAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), ttl, cancellationToken: cancellationToken);
    }
}
