using Microsoft.Extensions.Options;
using Npgsql;
using SmartHub.AuthService.Audit;
using SmartHub.AuthService.Options;
using SmartHub.AuthService.Passwords;
using SmartHub.ServiceDefaults.Postgres;

namespace SmartHub.AuthService.Users;

/// <summary>
/// Creates the first admin from Bootstrap:AdminEmail/AdminPassword (AppHost parameters admin-email/admin-password) when
/// no admin exists, once migrations are applied. Safe with replicas starting together: a transaction-scoped advisory
/// lock serializes them, the admin check is repeated under it, and the insert is ON CONFLICT (email) DO NOTHING.
/// An existing non-admin account with that email is never promoted (someone could have registered it first).
/// Without a password and without an admin it logs an error and creates nothing; there is no default password.
/// </summary>
public sealed class AdminBootstrapper(
    NpgsqlDataSource dataSource,
    DatabaseReadiness readiness,
    IOptions<BootstrapOptions> options,
    PasswordHashing passwords,
    TimeProvider timeProvider,
    ILogger<AdminBootstrapper> logger) : BackgroundService
{
    /// <summary>pg_advisory_xact_lock key of the bootstrap ("SHKBOOT1").</summary>
    private const long LockKey = 0x53484B424F4F5431;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await readiness.WaitAsync(stoppingToken);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await BootstrapAsync(stoppingToken);
                    return;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    var delay = TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, attempt - 1)));
                    logger.LogWarning("Admin bootstrap failed (attempt {Attempt}): {Reason}; retrying in {Seconds} s", attempt, ex.Message, delay.TotalSeconds);
                    await Task.Delay(delay, timeProvider, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task BootstrapAsync(CancellationToken cancellationToken)
    {
        if (await AdminExistsAsync(null, null, cancellationToken))
        {
            return;
        }

        var settings = options.Value;
        var email = Credentials.NormalizeEmail(settings.AdminEmail);
        if (Credentials.ValidateEmail(email) is { } emailError)
        {
            logger.LogError("No admin account exists and Bootstrap:AdminEmail is unusable ({Error}); set the AppHost parameter admin-email", emailError);
            return;
        }

        if (string.IsNullOrEmpty(settings.AdminPassword))
        {
            logger.LogError(
                "No admin account exists and Bootstrap:AdminPassword is not set, so none was created. Start through the AppHost (it generates the admin-password parameter) or set Bootstrap__AdminPassword");
            return;
        }

        if (Credentials.ValidatePassword(settings.AdminPassword) is { } passwordError)
        {
            logger.LogError("No admin account exists and Bootstrap:AdminPassword is unusable: {Error}", passwordError);
            return;
        }

        var hash = await passwords.HashAsync(settings.AdminPassword, cancellationToken);
        var now = timeProvider.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", connection, transaction))
        {
            lockCommand.With("key", LockKey);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);
        }

        if (await AdminExistsAsync(connection, transaction, cancellationToken))
        {
            return; // another replica was first
        }

        await using var insert = new NpgsqlCommand(
            """
            WITH new_user AS (
                INSERT INTO users (id, email, display_name, password_hash, created_at)
                VALUES (@id, @email, 'Administrator', @hash, @now)
                ON CONFLICT (email) DO NOTHING
                RETURNING id
            ), new_role AS (
                INSERT INTO user_roles (user_id, role) SELECT id, 'admin' FROM new_user
            ), entry AS (
                INSERT INTO audit_log (at, type, subject_id, user_agent, details)
                SELECT @now, @type, id, 'smarthub-auth', jsonb_build_object('email', @email::text) FROM new_user
            )
            SELECT count(*) FROM new_user
            """, connection, transaction);
        insert.With("id", Guid.CreateVersion7(now)).With("email", email).With("hash", hash).With("now", now).With("type", AuditTypes.UserBootstrapped);
        var created = (long)(await insert.ExecuteScalarAsync(cancellationToken))! == 1;
        await transaction.CommitAsync(cancellationToken);

        if (created)
        {
            logger.LogInformation("Created the first admin account {Email}", email);
        }
        else
        {
            logger.LogError(
                "No admin account exists, and {Email} (Bootstrap:AdminEmail) already belongs to a non-admin account, which is not promoted. Choose another admin-email",
                email);
        }
    }

    private async Task<bool> AdminExistsAsync(NpgsqlConnection? connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        const string Sql = "SELECT EXISTS (SELECT 1 FROM user_roles WHERE role = 'admin')";
        if (connection is null)
        {
            await using var own = dataSource.CreateCommand(Sql);
            return await own.ExecuteScalarAsync(cancellationToken) is true;
        }

        await using var command = new NpgsqlCommand(Sql, connection, transaction);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }
}
