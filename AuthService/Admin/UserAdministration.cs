using Npgsql;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Revocation;
using SmartHub.AuthService.Tokens;
using SmartHub.AuthService.Users;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService.Admin;

public enum AdminChangeStatus
{
    Changed,
    Unchanged,
    NotFound,
    UnknownRoles,

    /// <summary>The change would leave no enabled admin.</summary>
    LastAdmin,
}

public sealed record AdminChangeResult(AdminChangeStatus Status, UserRecord? User = null, IReadOnlyList<string>? UnknownRoles = null);

/// <summary>
/// Role changes and disabling. Both end the user's sessions: roles and permissions are baked into access tokens and
/// API-key identities, so after the change the user signs in again. In one transaction (serialized by an advisory lock
/// so two admins cannot each remove the other's admin role): the change, security stamp and
/// <c>sessions_revoked_at</c>, refresh tokens revoked (disable: API keys revoked too), audit entry. Then Redis:
/// <c>auth:user-revoked:{id}</c>, the keys' cache entries deleted, <c>user:{id}</c> published.
/// </summary>
public sealed class UserAdministration(
    NpgsqlDataSource dataSource,
    UserStore users,
    AuditLog audit,
    RevocationPublisher publisher,
    TimeProvider timeProvider,
    ILogger<UserAdministration> logger)
{
    /// <summary>pg_advisory_xact_lock key of admin changes ("SHKADMN1").</summary>
    private const long LockKey = 0x53484B41444D4E31;

    public async Task<AdminChangeResult> SetRolesAsync(Guid userId, IReadOnlyList<string> roles, AuditContext context, CancellationToken cancellationToken)
    {
        var requested = roles.Select(r => r.Trim()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var known = await users.GetRoleNamesAsync(cancellationToken);
        var unknown = requested.Where(r => !known.Contains(r)).ToList();
        if (unknown.Count > 0)
        {
            return new AdminChangeResult(AdminChangeStatus.UnknownRoles, UnknownRoles: unknown);
        }

        var now = timeProvider.GetUtcNow();
        string[] previous;
        List<string> keyHashes;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await LockAsync(connection, transaction, cancellationToken);
            var current = await CurrentRolesAsync(connection, transaction, userId, cancellationToken);
            if (current is null)
            {
                return new AdminChangeResult(AdminChangeStatus.NotFound);
            }

            previous = current.Value.Roles;
            if (previous.SequenceEqual(requested, StringComparer.Ordinal))
            {
                return new AdminChangeResult(AdminChangeStatus.Unchanged, await users.FindByIdAsync(userId, cancellationToken));
            }

            if (previous.Contains(Roles.Admin) && !requested.Contains(Roles.Admin) && !current.Value.Disabled
                && await OtherEnabledAdminsAsync(connection, transaction, userId, cancellationToken) == 0)
            {
                return new AdminChangeResult(AdminChangeStatus.LastAdmin);
            }

            await using (var replace = new NpgsqlCommand(
                """
                DELETE FROM user_roles WHERE user_id = @id;
                INSERT INTO user_roles (user_id, role) SELECT @id, unnest(@roles::text[]);
                """, connection, transaction))
            {
                replace.With("id", userId).With("roles", requested);
                await replace.ExecuteNonQueryAsync(cancellationToken);
            }

            keyHashes = await EndSessionsAsync(connection, transaction, userId, now, revokeKeys: false, cancellationToken);
            await audit.WriteAsync(AuditTypes.RoleChanged, context, userId, new { from = previous, to = requested }, cancellationToken, connection, transaction);
            await transaction.CommitAsync(cancellationToken);
        }

        await publisher.UserRevokedAsync(userId, now.ToUnixTimeSeconds(), keyHashes, cancellationToken);
        logger.LogInformation("Roles of user {UserId} changed from [{From}] to [{To}] by {ActorId}",
            userId, string.Join(", ", previous), string.Join(", ", requested), context.ActorId);
        return new AdminChangeResult(AdminChangeStatus.Changed, await users.FindByIdAsync(userId, cancellationToken));
    }

    public async Task<AdminChangeResult> DisableAsync(Guid userId, AuditContext context, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        List<string> keyHashes;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await LockAsync(connection, transaction, cancellationToken);
            var current = await CurrentRolesAsync(connection, transaction, userId, cancellationToken);
            if (current is null)
            {
                return new AdminChangeResult(AdminChangeStatus.NotFound);
            }

            if (current.Value.Disabled)
            {
                return new AdminChangeResult(AdminChangeStatus.Unchanged, await users.FindByIdAsync(userId, cancellationToken));
            }

            if (current.Value.Roles.Contains(Roles.Admin)
                && await OtherEnabledAdminsAsync(connection, transaction, userId, cancellationToken) == 0)
            {
                return new AdminChangeResult(AdminChangeStatus.LastAdmin);
            }

            await using (var disable = new NpgsqlCommand("UPDATE users SET disabled_at = @now WHERE id = @id", connection, transaction))
            {
                disable.With("now", now).With("id", userId);
                await disable.ExecuteNonQueryAsync(cancellationToken);
            }

            keyHashes = await EndSessionsAsync(connection, transaction, userId, now, revokeKeys: true, cancellationToken);
            await audit.WriteAsync(AuditTypes.UserDisabled, context, userId, new { revokedKeys = keyHashes.Count }, cancellationToken, connection, transaction);
            await transaction.CommitAsync(cancellationToken);
        }

        await publisher.UserRevokedAsync(userId, now.ToUnixTimeSeconds(), keyHashes, cancellationToken);
        logger.LogInformation("User {UserId} disabled by {ActorId}; {Keys} API keys revoked", userId, context.ActorId, keyHashes.Count);
        return new AdminChangeResult(AdminChangeStatus.Changed, await users.FindByIdAsync(userId, cancellationToken));
    }

    /// <summary>
    /// Enables a disabled user again (and clears a lockout). Their sessions and API keys stay revoked: they sign in
    /// again and create new keys.
    /// </summary>
    public async Task<AdminChangeResult> EnableAsync(Guid userId, AuditContext context, CancellationToken cancellationToken)
    {
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            var current = await CurrentRolesAsync(connection, transaction, userId, cancellationToken);
            if (current is null)
            {
                return new AdminChangeResult(AdminChangeStatus.NotFound);
            }

            if (!current.Value.Disabled)
            {
                return new AdminChangeResult(AdminChangeStatus.Unchanged, await users.FindByIdAsync(userId, cancellationToken));
            }

            await using (var enable = new NpgsqlCommand(
                "UPDATE users SET disabled_at = NULL, failed_login_count = 0, locked_until = NULL WHERE id = @id", connection, transaction))
            {
                enable.With("id", userId);
                await enable.ExecuteNonQueryAsync(cancellationToken);
            }

            await audit.WriteAsync(AuditTypes.UserEnabled, context, userId, null, cancellationToken, connection, transaction);
            await transaction.CommitAsync(cancellationToken);
        }

        logger.LogInformation("User {UserId} enabled by {ActorId}", userId, context.ActorId);
        return new AdminChangeResult(AdminChangeStatus.Changed, await users.FindByIdAsync(userId, cancellationToken));
    }

    /// <summary>
    /// Stores a new password hash and ends every session of the user (refresh tokens revoked, access tokens issued up
    /// to now refused everywhere). API keys stay: they are separate credentials. Returns the revocation time.
    /// </summary>
    public async Task<DateTimeOffset> ChangePasswordAsync(Guid userId, string passwordHash, AuditContext context, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            await using (var update = new NpgsqlCommand(
                "UPDATE users SET password_hash = @hash, failed_login_count = 0, locked_until = NULL WHERE id = @id", connection, transaction))
            {
                update.With("hash", passwordHash).With("id", userId);
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await EndSessionsAsync(connection, transaction, userId, now, revokeKeys: false, cancellationToken);
            await audit.WriteAsync(AuditTypes.PasswordChanged, context, userId, null, cancellationToken, connection, transaction);
            await transaction.CommitAsync(cancellationToken);
        }

        // No key hashes: the keys stay valid (and their cached identities with them).
        await publisher.UserRevokedAsync(userId, now.ToUnixTimeSeconds(), [], cancellationToken);
        logger.LogInformation("User {UserId} changed their password; their sessions were ended", userId);
        return now;
    }

    private static async Task LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction);
        command.With("key", LockKey);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<(string[] Roles, bool Disabled)?> CurrentRolesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT ARRAY(SELECT role FROM user_roles WHERE user_id = u.id ORDER BY role), u.disabled_at IS NOT NULL
            FROM users u WHERE u.id = @id FOR UPDATE
            """, connection, transaction);
        command.With("id", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetFieldValue<string[]>(0), reader.GetBoolean(1)) : null;
    }

    private static async Task<long> OtherEnabledAdminsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT count(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id
            WHERE ur.role = 'admin' AND u.disabled_at IS NULL AND u.id <> @id
            """, connection, transaction);
        command.With("id", userId);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Stamp + sessions_revoked_at, refresh tokens revoked, API keys revoked (or only listed); returns the keys' hashes.</summary>
    private static async Task<List<string>> EndSessionsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, DateTimeOffset now, bool revokeKeys, CancellationToken cancellationToken)
    {
        await using (var stamp = new NpgsqlCommand(
            "UPDATE users SET security_stamp = security_stamp + 1, sessions_revoked_at = @now WHERE id = @id", connection, transaction))
        {
            stamp.With("now", now).With("id", userId);
            await stamp.ExecuteNonQueryAsync(cancellationToken);
        }

        await RefreshTokenStore.RevokeAllForUserAsync(connection, transaction, userId, now, cancellationToken);

        var sql = revokeKeys
            ? "UPDATE api_keys SET revoked_at = @now WHERE user_id = @id AND revoked_at IS NULL RETURNING key_hash"
            : "SELECT key_hash FROM api_keys WHERE user_id = @id AND revoked_at IS NULL";
        var hashes = new List<string>();
        await using var keys = new NpgsqlCommand(sql, connection, transaction);
        keys.With("id", userId);
        if (revokeKeys)
        {
            keys.With("now", now);
        }

        await using var reader = await keys.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            hashes.Add(reader.GetString(0));
        }

        return hashes;
    }
}
