using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Options;
using SmartHub.AuthService.Users;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService.Tokens;

public enum RefreshStatus
{
    Rotated,
    Invalid,

    /// <summary>An already-used token came back: someone holds a copy. The whole family is now revoked.</summary>
    ReuseDetected,
}

/// <summary>The outcome of a refresh; <paramref name="SessionId"/> is the token family (also set when reuse was detected).</summary>
public sealed record RefreshResult(RefreshStatus Status, UserRecord? User = null, string? RefreshToken = null, Guid? SessionId = null);

/// <summary>A new session: its id (the refresh-token family, the access tokens' <c>sid</c>) and first refresh token.</summary>
public sealed record IssuedSession(Guid SessionId, string RefreshToken);

/// <summary>
/// Opaque refresh tokens (32 random bytes, base64url), stored as SHA-256. A login starts a family; every refresh marks
/// the presented token used and issues its child; presenting a used token again revokes the whole family (the
/// legitimate holder and the thief both have to sign in again) and is audited as token.reuse_detected.
/// </summary>
public sealed class RefreshTokenStore(NpgsqlDataSource dataSource, IOptions<AuthOptions> options, TimeProvider timeProvider, AuditLog audit)
{
    public const int TokenLength = 43;

    public static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static bool IsWellFormed(string? token) =>
        token is { Length: TokenLength } && token.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>Starts a new family (a login): the session id is the family id.</summary>
    public async Task<IssuedSession> IssueAsync(Guid userId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var sessionId = Guid.NewGuid();
        return new IssuedSession(sessionId, await InsertAsync(connection, null, userId, sessionId, null, cancellationToken));
    }

    public async Task<RefreshResult> RotateAsync(string token, AuditContext context, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(token))
        {
            return new RefreshResult(RefreshStatus.Invalid);
        }

        var now = timeProvider.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        Guid id, userId, familyId;
        DateTimeOffset expiresAt;
        DateTimeOffset? usedAt, revokedAt;
        await using (var select = new NpgsqlCommand(
            "SELECT id, user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = @hash FOR UPDATE",
            connection, transaction))
        {
            select.With("hash", Hash(token));
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new RefreshResult(RefreshStatus.Invalid);
            }

            (id, userId, familyId, expiresAt, usedAt, revokedAt) =
                (reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetFieldValue<DateTimeOffset>(3), reader.GetNullableTime(4), reader.GetNullableTime(5));
        }

        if (usedAt is not null)
        {
            var revoked = await RevokeFamilyAsync(connection, transaction, familyId, now, cancellationToken);
            await audit.WriteAsync(AuditTypes.TokenReuseDetected, context with { ActorId = null }, userId,
                new { familyId, tokenId = id, revokedTokens = revoked, usedAt }, cancellationToken, connection, transaction);
            await transaction.CommitAsync(cancellationToken);
            return new RefreshResult(RefreshStatus.ReuseDetected, SessionId: familyId);
        }

        if (revokedAt is not null || expiresAt <= now)
        {
            return new RefreshResult(RefreshStatus.Invalid);
        }

        UserRecord? user;
        await using (var select = new NpgsqlCommand($"{UserStore.SelectUser} WHERE u.id = @id", connection, transaction))
        {
            select.With("id", userId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            user = await reader.ReadAsync(cancellationToken) ? UserStore.Read(reader) : null;
        }

        if (user is null || user.IsDisabled)
        {
            return new RefreshResult(RefreshStatus.Invalid);
        }

        await using (var markUsed = new NpgsqlCommand("UPDATE refresh_tokens SET used_at = @now WHERE id = @id", connection, transaction))
        {
            markUsed.With("now", now).With("id", id);
            await markUsed.ExecuteNonQueryAsync(cancellationToken);
        }

        var child = await InsertAsync(connection, transaction, userId, familyId, id, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new RefreshResult(RefreshStatus.Rotated, user, child, familyId);
    }

    /// <summary>
    /// Logout: revokes the family of a refresh token, only if it belongs to <paramref name="userId"/>. Returns the
    /// family (session) id, or null when the token is unknown or someone else's.
    /// </summary>
    public async Task<Guid?> RevokeFamilyOfAsync(string token, Guid userId, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(token))
        {
            return null;
        }

        await using var find = dataSource.CreateCommand("SELECT family_id FROM refresh_tokens WHERE token_hash = @hash AND user_id = @user");
        find.With("hash", Hash(token)).With("user", userId);
        if (await find.ExecuteScalarAsync(cancellationToken) is not Guid familyId)
        {
            return null;
        }

        await RevokeSessionAsync(familyId, userId, cancellationToken);
        return familyId;
    }

    /// <summary>Logout by session id (the <c>sid</c> of the caller's access token): revokes that family's refresh tokens.</summary>
    public async Task RevokeSessionAsync(Guid sessionId, Guid userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE refresh_tokens SET revoked_at = @now WHERE family_id = @family AND user_id = @user AND revoked_at IS NULL");
        command.With("now", timeProvider.GetUtcNow()).With("family", sessionId).With("user", userId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Revokes every live refresh token of a user (disabled, roles changed).</summary>
    public static async Task<int> RevokeAllForUserAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid userId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE refresh_tokens SET revoked_at = @now WHERE user_id = @user AND revoked_at IS NULL", connection, transaction);
        command.With("now", now).With("user", userId);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<int> RevokeFamilyAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid familyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE refresh_tokens SET revoked_at = @now WHERE family_id = @family AND revoked_at IS NULL", connection, transaction);
        command.With("now", now).With("family", familyId);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<string> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid userId, Guid familyId, Guid? parentId, CancellationToken cancellationToken)
    {
        var token = NewToken();
        var now = timeProvider.GetUtcNow();
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO refresh_tokens (id, token_hash, user_id, family_id, parent_id, created_at, expires_at)
            VALUES (@id, @hash, @user, @family, @parent, @now, @expires)
            """, connection, transaction);
        insert.With("id", Guid.NewGuid()).With("hash", Hash(token)).With("user", userId).With("family", familyId)
            .With("now", now).With("expires", now + options.Value.RefreshTokenLifetime);
        insert.Parameters.Add(new NpgsqlParameter("parent", NpgsqlTypes.NpgsqlDbType.Uuid) { Value = (object?)parentId ?? DBNull.Value });
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return token;
    }
}
