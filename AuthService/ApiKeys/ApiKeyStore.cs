using Npgsql;
using NpgsqlTypes;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Revocation;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService.ApiKeys;

public sealed record ApiKeySummary(
    Guid Id,
    string Prefix,
    string Name,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? ExpiresAt,
    int? RateLimitPerSecond,
    Guid UserId);

/// <summary>The key, shown this once.</summary>
public sealed record CreatedApiKey(
    Guid Id,
    string Key,
    string Prefix,
    string Name,
    IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    int? RateLimitPerSecond);

public enum CreateApiKeyStatus
{
    Created,
    InvalidScopes,
    OwnerUnavailable,
    TooManyKeys,
}

public sealed record CreateApiKeyResult(CreateApiKeyStatus Status, CreatedApiKey? Key = null, ScopeValidation? Scopes = null);

/// <summary>Who owns a key, and whether it is revoked: what other services may know of it.</summary>
public sealed record ApiKeyOwner(Guid Id, Guid UserId, bool Revoked);

public enum RevokeApiKeyStatus
{
    Revoked,
    AlreadyRevoked,
    NotFound,
}

/// <summary>API keys in authdb: created (hash only), listed, revoked, and verified for the internal endpoint.</summary>
public sealed class ApiKeyStore(
    NpgsqlDataSource dataSource,
    RevocationPublisher publisher,
    AuditLog audit,
    TimeProvider timeProvider,
    ILogger<ApiKeyStore> logger)
{
    /// <summary>Live (not revoked) keys per user.</summary>
    public const int MaxKeysPerUser = 100;

    private static readonly TimeSpan s_lastUsedPrecision = TimeSpan.FromMinutes(1);

    public async Task<CreateApiKeyResult> CreateAsync(
        Guid ownerId,
        string name,
        IReadOnlyList<string>? scopes,
        DateTimeOffset? expiresAt,
        int? rateLimitPerSecond,
        IReadOnlyCollection<string>? callerPermissions,
        AuditContext context,
        CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        string[] ownerPermissions;
        long liveKeys;
        await using (var select = new NpgsqlCommand(
            """
            SELECT ARRAY(SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp ON rp.role = ur.role
                         WHERE ur.user_id = u.id ORDER BY rp.permission),
                   (SELECT count(*) FROM api_keys k WHERE k.user_id = u.id AND k.revoked_at IS NULL
                                                      AND (k.expires_at IS NULL OR k.expires_at > @now))
            FROM users u WHERE u.id = @id AND u.disabled_at IS NULL
            FOR UPDATE
            """, connection, transaction))
        {
            select.With("id", ownerId).With("now", now);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new CreateApiKeyResult(CreateApiKeyStatus.OwnerUnavailable);
            }

            ownerPermissions = reader.GetFieldValue<string[]>(0);
            liveKeys = reader.GetInt64(1);
        }

        var validation = ScopePolicy.Validate(scopes, ownerPermissions, callerPermissions);
        if (!validation.IsValid)
        {
            return new CreateApiKeyResult(CreateApiKeyStatus.InvalidScopes, Scopes: validation);
        }

        if (liveKeys >= MaxKeysPerUser)
        {
            return new CreateApiKeyResult(CreateApiKeyStatus.TooManyKeys);
        }

        var key = ApiKeyFormat.Generate();
        var created = new CreatedApiKey(
            Guid.CreateVersion7(now), key, ApiKeyFormat.VisiblePrefix(key), name, validation.Scopes, now, expiresAt, rateLimitPerSecond);
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, rate_limit_per_second, created_at, expires_at)
            VALUES (@id, @user, @name, @prefix, @hash, @scopes, @limit, @now, @expires)
            """, connection, transaction))
        {
            insert.With("id", created.Id).With("user", ownerId).With("name", name).With("prefix", created.Prefix)
                .With("hash", ApiKeyFormat.HashHex(key)).With("scopes", validation.Scopes.ToArray()).With("now", now);
            insert.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Integer) { Value = (object?)rateLimitPerSecond ?? DBNull.Value });
            insert.Parameters.Add(new NpgsqlParameter("expires", NpgsqlDbType.TimestampTz) { Value = (object?)expiresAt ?? DBNull.Value });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await audit.WriteAsync(AuditTypes.KeyCreated, context, ownerId,
            new { keyId = created.Id, name, prefix = created.Prefix, scopes = validation.Scopes, expiresAt, rateLimitPerSecond },
            cancellationToken, connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return new CreateApiKeyResult(CreateApiKeyStatus.Created, created);
    }

    /// <summary>A user's keys that are not revoked (expired ones included, with their expiry), newest first.</summary>
    public async Task<IReadOnlyList<ApiKeySummary>> ListAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT id, prefix, name, scopes, created_at, last_used_at, expires_at, rate_limit_per_second, user_id
            FROM api_keys WHERE user_id = @user AND revoked_at IS NULL
            ORDER BY created_at DESC
            """);
        command.With("user", userId);
        var keys = new List<ApiKeySummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new ApiKeySummary(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetNullableTime(5), reader.GetNullableTime(6),
                reader.GetNullable<int?>(7), reader.GetGuid(8)));
        }

        return keys;
    }

    /// <summary>The owner of a key (revoked ones included), or null when there is no such key.</summary>
    public async Task<ApiKeyOwner?> FindOwnerAsync(Guid keyId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT user_id, revoked_at IS NOT NULL FROM api_keys WHERE id = @id");
        command.With("id", keyId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new ApiKeyOwner(keyId, reader.GetGuid(0), reader.GetBoolean(1)) : null;
    }

    /// <summary>Revokes a key of <paramref name="callerId"/> (any key when <paramref name="anyOwner"/>), then tells Redis.</summary>
    public async Task<RevokeApiKeyStatus> RevokeAsync(
        Guid keyId, Guid callerId, bool anyOwner, AuditContext context, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        string? hash = null;
        Guid ownerId = default;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using (var update = new NpgsqlCommand(
                """
                UPDATE api_keys SET revoked_at = @now
                WHERE id = @id AND revoked_at IS NULL AND (@any OR user_id = @caller)
                RETURNING key_hash, user_id, name, prefix
                """, connection, transaction))
            {
                update.With("now", now).With("id", keyId).With("any", anyOwner).With("caller", callerId);
                await using var reader = await update.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    hash = reader.GetString(0);
                    ownerId = reader.GetGuid(1);
                    var details = new { keyId, name = reader.GetString(2), prefix = reader.GetString(3) };
                    await reader.DisposeAsync();
                    await audit.WriteAsync(AuditTypes.KeyRevoked, context, ownerId, details, cancellationToken, connection, transaction);
                }
            }

            if (hash is null)
            {
                await using var exists = new NpgsqlCommand(
                    "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = @id AND (@any OR user_id = @caller))", connection, transaction);
                exists.With("id", keyId).With("any", anyOwner).With("caller", callerId);
                return await exists.ExecuteScalarAsync(cancellationToken) is true ? RevokeApiKeyStatus.AlreadyRevoked : RevokeApiKeyStatus.NotFound;
            }

            await transaction.CommitAsync(cancellationToken);
        }

        await publisher.ApiKeyRevokedAsync(hash, cancellationToken);
        logger.LogInformation("API key {KeyId} of user {UserId} revoked", keyId, ownerId);
        return RevokeApiKeyStatus.Revoked;
    }

    /// <summary>
    /// The identity of a live key (not revoked, not expired, owner not disabled), cached in Redis for the gateways;
    /// null otherwise. After the cache write the key is checked again: if a revocation (or role change) committed in
    /// between, the entry just written is deleted, so a stale identity cannot outlive the revocation's own DEL.
    /// </summary>
    public async Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken)
    {
        if (!ApiKeyFormat.IsWellFormed(key))
        {
            return null;
        }

        var hash = ApiKeyFormat.HashHex(key);
        var now = timeProvider.GetUtcNow();
        ApiKeyIdentity identity;
        long stamp;
        await using (var select = dataSource.CreateCommand(
            """
            SELECT k.id, k.user_id, u.email, k.scopes, k.rate_limit_per_second, k.expires_at, u.security_stamp,
                   ARRAY(SELECT ur.role FROM user_roles ur WHERE ur.user_id = u.id ORDER BY ur.role),
                   ARRAY(SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp ON rp.role = ur.role
                         WHERE ur.user_id = u.id ORDER BY rp.permission)
            FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.key_hash = @hash AND k.revoked_at IS NULL AND u.disabled_at IS NULL
              AND (k.expires_at IS NULL OR k.expires_at > @now)
            """))
        {
            select.With("hash", hash).With("now", now);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            var scopes = reader.GetFieldValue<string[]>(3);
            identity = new ApiKeyIdentity(
                KeyId: reader.GetGuid(0),
                UserId: reader.GetGuid(1),
                Email: reader.GetString(2),
                Roles: reader.GetFieldValue<string[]>(7),
                Permissions: ScopePolicy.Effective(reader.GetFieldValue<string[]>(8), scopes),
                Scopes: scopes,
                RateLimitPerSecond: reader.GetNullable<int?>(4),
                ExpiresAt: reader.GetNullableTime(5));
            stamp = reader.GetInt64(6);
        }

        var cached = await publisher.CacheIdentityAsync(hash, identity, cancellationToken);

        await using var recheck = dataSource.CreateCommand(
            """
            WITH touch AS (
                UPDATE api_keys SET last_used_at = @now
                WHERE id = @id AND (last_used_at IS NULL OR last_used_at < @stale)
            )
            SELECT EXISTS (SELECT 1 FROM api_keys k JOIN users u ON u.id = k.user_id
                           WHERE k.id = @id AND k.revoked_at IS NULL AND u.disabled_at IS NULL AND u.security_stamp = @stamp)
            """);
        recheck.With("now", now).With("stale", now - s_lastUsedPrecision).With("id", identity.KeyId).With("stamp", stamp);
        if (await recheck.ExecuteScalarAsync(cancellationToken) is not true)
        {
            if (cached)
            {
                await publisher.ForgetIdentityAsync(hash, cancellationToken);
            }

            return null;
        }

        return identity;
    }
}

/// <summary>IApiKeyAuthority inside AuthService: its own database, no HTTP round trip to itself.</summary>
public sealed class LocalApiKeyAuthority(ApiKeyStore store) : IApiKeyAuthority
{
    public async Task<ApiKeyIdentity?> VerifyAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            return await store.VerifyAsync(key, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            throw new SmartHubAuthenticationException(AuthenticationFailureKind.Unavailable, "API keys cannot be verified right now (database unavailable).");
        }
    }
}
