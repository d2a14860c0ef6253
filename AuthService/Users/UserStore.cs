using Npgsql;
using NpgsqlTypes;
using SmartHub.AuthService.Audit;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService.Users;

/// <summary>A user with what they may do now.</summary>
public sealed record UserRecord(
    Guid Id,
    string Email,
    string? DisplayName,
    string PasswordHash,
    DateTimeOffset CreatedAt,
    DateTimeOffset? DisabledAt,
    DateTimeOffset? LockedUntil,
    DateTimeOffset? LastLoginAt,
    DateTimeOffset? SessionsRevokedAt,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string> Permissions)
{
    public bool IsDisabled => DisabledAt is not null;
}

/// <summary>Users in authdb: registration, look-ups, login bookkeeping (failures, lockout, rehash), listing.</summary>
public sealed class UserStore(NpgsqlDataSource dataSource, TimeProvider timeProvider)
{
    internal const string SelectUser = """
        SELECT u.id, u.email, u.display_name, u.password_hash, u.created_at, u.disabled_at, u.locked_until, u.last_login_at,
               u.sessions_revoked_at,
               ARRAY(SELECT ur.role FROM user_roles ur WHERE ur.user_id = u.id ORDER BY ur.role) AS roles,
               ARRAY(SELECT DISTINCT rp.permission FROM user_roles ur JOIN role_permissions rp ON rp.role = ur.role
                     WHERE ur.user_id = u.id ORDER BY rp.permission) AS permissions
        FROM users u
        """;

    /// <summary>
    /// Inserts the user with role "user" and an audit entry, in one statement; when the email exists already nothing
    /// is written. The statement is the same either way, so the answer time does not tell the two apart.
    /// </summary>
    public async Task<bool> RegisterAsync(string email, string? displayName, string passwordHash, AuditContext audit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            WITH new_user AS (
                INSERT INTO users (id, email, display_name, password_hash, created_at)
                VALUES (@id, @email, @name, @hash, @now)
                ON CONFLICT (email) DO NOTHING
                RETURNING id
            ), new_role AS (
                INSERT INTO user_roles (user_id, role) SELECT id, 'user' FROM new_user
            ), entry AS (
                INSERT INTO audit_log (at, type, actor_id, subject_id, ip, user_agent, details)
                SELECT @now, @type, id, id, @ip, @ua, '{}'::jsonb FROM new_user
            )
            SELECT count(*) FROM new_user
            """);
        command.With("id", Guid.CreateVersion7(timeProvider.GetUtcNow()))
            .With("email", email)
            .With("name", displayName)
            .With("hash", passwordHash)
            .With("now", timeProvider.GetUtcNow())
            .With("type", AuditTypes.UserRegistered);
        command.Parameters.Add(new NpgsqlParameter("ip", NpgsqlDbType.Inet) { Value = (object?)audit.Ip ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("ua", NpgsqlDbType.Text) { Value = (object?)audit.UserAgent ?? DBNull.Value });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))! == 1;
    }

    public Task<UserRecord?> FindByEmailAsync(string normalizedEmail, CancellationToken cancellationToken) =>
        QuerySingleAsync($"{SelectUser} WHERE u.email = @value", normalizedEmail, cancellationToken);

    public Task<UserRecord?> FindByIdAsync(Guid id, CancellationToken cancellationToken) =>
        QuerySingleAsync($"{SelectUser} WHERE u.id = @value", id, cancellationToken);

    /// <summary>Counts a failed password; at the threshold the account locks and the counter restarts. True when it locked now.</summary>
    public async Task<bool> RecordFailedLoginAsync(Guid userId, int threshold, TimeSpan lockout, CancellationToken cancellationToken)
    {
        var lockedUntil = timeProvider.GetUtcNow() + lockout;
        await using var command = dataSource.CreateCommand(
            """
            UPDATE users SET
                failed_login_count = CASE WHEN failed_login_count + 1 >= @threshold THEN 0 ELSE failed_login_count + 1 END,
                locked_until = CASE WHEN failed_login_count + 1 >= @threshold THEN @locked_until ELSE locked_until END
            WHERE id = @id
            RETURNING locked_until = @locked_until
            """);
        command.With("id", userId).With("threshold", threshold).With("locked_until", lockedUntil);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>Resets the failure counter, stamps the login and, when given, stores a stronger password hash.</summary>
    public async Task RecordSuccessfulLoginAsync(Guid userId, string? newPasswordHash, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE users SET failed_login_count = 0, locked_until = NULL, last_login_at = @now,
                             password_hash = COALESCE(@hash, password_hash)
            WHERE id = @id
            """);
        command.With("id", userId).With("now", timeProvider.GetUtcNow());
        command.Parameters.Add(new NpgsqlParameter("hash", NpgsqlDbType.Text) { Value = (object?)newPasswordHash ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<(IReadOnlyList<UserRecord> Items, long Total)> ListAsync(int page, int pageSize, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        long total;
        await using (var count = new NpgsqlCommand("SELECT count(*) FROM users", connection))
        {
            total = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }

        await using var command = new NpgsqlCommand($"{SelectUser} ORDER BY u.created_at, u.id LIMIT @limit OFFSET @offset", connection);
        command.With("limit", pageSize).With("offset", (long)(page - 1) * pageSize);
        var items = new List<UserRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(Read(reader));
        }

        return (items, total);
    }

    public async Task<IReadOnlySet<string>> GetRoleNamesAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT name FROM roles");
        var roles = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            roles.Add(reader.GetString(0));
        }

        return roles;
    }

    internal static UserRecord Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetString(1),
        reader.GetNullable<string>(2),
        reader.GetString(3),
        reader.GetFieldValue<DateTimeOffset>(4),
        reader.GetNullableTime(5),
        reader.GetNullableTime(6),
        reader.GetNullableTime(7),
        reader.GetNullableTime(8),
        reader.GetFieldValue<string[]>(9),
        reader.GetFieldValue<string[]>(10));

    private async Task<UserRecord?> QuerySingleAsync(string sql, object value, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.With("value", value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }
}
