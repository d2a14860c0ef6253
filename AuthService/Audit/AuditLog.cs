using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.AuthService.Audit;

/// <summary>The audit event types.</summary>
public static class AuditTypes
{
    public const string UserRegistered = "user.registered";
    public const string UserBootstrapped = "user.bootstrapped";
    public const string LoginSucceeded = "login.succeeded";
    public const string LoginFailed = "login.failed";
    public const string LoginLocked = "login.locked";
    public const string KeyCreated = "key.created";
    public const string KeyRevoked = "key.revoked";
    public const string RoleChanged = "role.changed";
    public const string UserDisabled = "user.disabled";
    public const string UserEnabled = "user.enabled";
    public const string PasswordChanged = "password.changed";
    public const string Logout = "logout";
    public const string TokenReuseDetected = "token.reuse_detected";
}

/// <summary>Who did it and from where: the caller's id (if authenticated), IP and user agent.</summary>
public sealed record AuditContext(Guid? ActorId, IPAddress? Ip, string? UserAgent)
{
    public const int MaxUserAgentLength = 512;

    public static readonly AuditContext System = new(null, null, "smarthub-auth");

    /// <summary>
    /// IP: the connection's remote address — or, only when that address is loopback or private (i.e. the request came
    /// through the gateway or another SmartHub process), the first <c>X-Forwarded-For</c> entry, which the gateway
    /// sets to the client it saw. From any other address X-Forwarded-For is ignored, since a client could forge it.
    /// </summary>
    public static AuditContext From(HttpContext context, Guid? actorId = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var userAgent = context.Request.Headers.UserAgent.ToString();
        if (userAgent.Length > MaxUserAgentLength)
        {
            userAgent = userAgent[..MaxUserAgentLength];
        }

        return new AuditContext(actorId, ClientIp(context), userAgent.Length == 0 ? null : userAgent);
    }

    public static IPAddress? ClientIp(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var remote = context.Connection.RemoteIpAddress;
        if (remote is { IsIPv4MappedToIPv6: true })
        {
            remote = remote.MapToIPv4();
        }

        if (remote is not null && IsLoopbackOrPrivate(remote)
            && context.Request.Headers["X-Forwarded-For"].ToString() is { Length: > 0 } forwarded)
        {
            var first = forwarded.Split(',', 2)[0].Trim();
            if (IPAddress.TryParse(first, out var client))
            {
                return client.IsIPv4MappedToIPv6 ? client.MapToIPv4() : client;
            }
        }

        return remote;
    }

    public static bool IsLoopbackOrPrivate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (IPAddress.IsLoopback(address))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168);
        }

        return address.IsIPv6UniqueLocal || address.IsIPv6LinkLocal;
    }
}

public sealed record AuditEntry(long Id, DateTimeOffset At, string Type, Guid? ActorId, Guid? SubjectId, string? Ip, string? UserAgent, JsonElement Details);

/// <summary>Writes and reads table audit_log.</summary>
/// <remarks>
/// Every entry written also counts on <c>smarthub.auth.events</c> (tag <c>type</c>): logins succeeded/failed/locked,
/// keys created/revoked, role changes, users disabled/enabled, password changes, logouts, refresh-token reuse. One
/// instrument fed from the one place every security event passes, so dashboards and the audit log cannot disagree.
/// </remarks>
public sealed class AuditLog(NpgsqlDataSource dataSource, TimeProvider timeProvider, ServiceTelemetry telemetry)
{
    private readonly Counter<long> _events = telemetry.Meter.CreateCounter<long>(
        "smarthub.auth.events", "{event}", "Security events written to the audit log, by type (login.failed, key.revoked, ...).");

    private const string InsertSql = """
        INSERT INTO audit_log (at, type, actor_id, subject_id, ip, user_agent, details)
        VALUES (@at, @type, @actor, @subject, @ip, @ua, @details)
        """;

    /// <summary>Writes one entry in its own statement (own connection unless one is given).</summary>
    public async Task WriteAsync(
        string type, AuditContext context, Guid? subjectId, object? details, CancellationToken cancellationToken,
        NpgsqlConnection? connection = null, NpgsqlTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (connection is null)
        {
            await using var own = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var command = CreateInsert(own, null, type, context, subjectId, details);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        else
        {
            await using var command = CreateInsert(connection, transaction, type, context, subjectId, details);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        _events.Add(1, new KeyValuePair<string, object?>("type", type));
    }

    /// <summary>Newest first, optionally of one type and/or involving one user (as actor or subject).</summary>
    public async Task<(IReadOnlyList<AuditEntry> Items, long Total)> QueryAsync(
        string? type, Guid? userId, int page, int pageSize, CancellationToken cancellationToken)
    {
        const string Filter = """
            WHERE (@type IS NULL OR type = @type)
              AND (@user IS NULL OR actor_id = @user OR subject_id = @user)
            """;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand($"SELECT count(*) FROM audit_log {Filter}"),
                new NpgsqlBatchCommand(
                    $"""
                    SELECT id, at, type, actor_id, subject_id, host(ip), user_agent, details::text
                    FROM audit_log {Filter}
                    ORDER BY id DESC LIMIT @limit OFFSET @offset
                    """),
            },
        };
        foreach (var command in batch.BatchCommands)
        {
            command.Parameters.Add(new NpgsqlParameter("type", NpgsqlDbType.Text) { Value = (object?)type ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter("user", NpgsqlDbType.Uuid) { Value = (object?)userId ?? DBNull.Value });
        }

        batch.BatchCommands[1].Parameters.AddWithValue("limit", pageSize);
        batch.BatchCommands[1].Parameters.AddWithValue("offset", (long)(page - 1) * pageSize);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);
        var items = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            using var details = JsonDocument.Parse(reader.GetString(7));
            items.Add(new AuditEntry(
                reader.GetInt64(0),
                reader.GetFieldValue<DateTimeOffset>(1),
                reader.GetString(2),
                reader.GetNullable<Guid?>(3),
                reader.GetNullable<Guid?>(4),
                reader.GetNullable<string>(5),
                reader.GetNullable<string>(6),
                details.RootElement.Clone()));
        }

        return (items, total);
    }

    private NpgsqlCommand CreateInsert(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string type, AuditContext context, Guid? subjectId, object? details)
    {
        var command = new NpgsqlCommand(InsertSql, connection, transaction);
        command.Parameters.AddWithValue("at", timeProvider.GetUtcNow());
        command.Parameters.AddWithValue("type", type);
        command.Parameters.Add(new NpgsqlParameter("actor", NpgsqlDbType.Uuid) { Value = (object?)context.ActorId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("subject", NpgsqlDbType.Uuid) { Value = (object?)subjectId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("ip", NpgsqlDbType.Inet) { Value = (object?)context.Ip ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("ua", NpgsqlDbType.Text) { Value = (object?)context.UserAgent ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("details", NpgsqlDbType.Jsonb)
        {
            Value = details is null ? "{}" : JsonSerializer.Serialize(details, details.GetType(), s_json),
        });
        return command;
    }

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
}
