using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace SmartHub.ServiceDefaults.Postgres.Migrations;

/// <summary>
/// Applies the embedded migrations at start-up, in version order, each in its own transaction
/// and recorded in <c>schema_migrations</c>, under a session advisory lock so replicas starting
/// together take turns. The service starts regardless: while the database is unreachable the
/// migrator retries with backoff (a warning per attempt) and the "&lt;db&gt;-migrations" health
/// check stays Unhealthy.
/// </summary>
internal sealed class PostgresMigrator(
    NpgsqlDataSource dataSource,
    IReadOnlyList<MigrationScript> scripts,
    MigrationState state,
    TimeProvider timeProvider,
    ILogger<PostgresMigrator> logger) : BackgroundService
{
    internal const string CreateHistoryTableSql = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """;

    private readonly PostgresTarget _target = PostgresTarget.FromConnectionString(dataSource.ConnectionString);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();

        for (var failures = 0; !stoppingToken.IsCancellationRequested;)
        {
            try
            {
                var (applied, schemaVersion) = await MigrateAsync(stoppingToken);
                state.MarkApplied(schemaVersion);
                logger.LogInformation(
                    "Database {Database} at schema version {SchemaVersion}: {Applied} migration(s) applied now, {Known} known",
                    _target.Database, schemaVersion, applied, scripts.Count);
                return;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception)
            {
                failures++;
                var reason = PostgresFailure.Describe(exception);
                state.MarkFailed(reason);
                var delay = MigrationBackoff.Delay(failures, Random.Shared.NextDouble());

                if (PostgresFailure.IsTransient(exception))
                {
                    logger.LogWarning(
                        "Migrations of {Database} not applied yet ({Target} unavailable: {Reason}); attempt {Attempt}, retrying in {DelaySeconds:0.0} s",
                        _target.Database, _target.ToString(), reason, failures, delay.TotalSeconds);
                }
                else
                {
                    logger.LogError(
                        exception,
                        "Migrations of {Database} failed: {Reason}; attempt {Attempt}, retrying in {DelaySeconds:0.0} s",
                        _target.Database, reason, failures, delay.TotalSeconds);
                }

                try
                {
                    await Task.Delay(delay, timeProvider, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<(int Applied, int? SchemaVersion)> MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var lockKey = MigrationLock.KeyFor(connection.Database);

        await ExecuteAsync(connection, "SELECT pg_advisory_lock(@key)", lockKey, cancellationToken);
        try
        {
            await ExecuteAsync(connection, CreateHistoryTableSql, null, cancellationToken);

            var applied = new HashSet<int>();
            await using (var command = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            var count = 0;
            foreach (var script in scripts.Where(s => !applied.Contains(s.Version)))
            {
                var started = Stopwatch.GetTimestamp();
                await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
                {
                    await using (var command = new NpgsqlCommand(script.Sql, connection, transaction) { CommandTimeout = 300 })
                    {
                        await command.ExecuteNonQueryAsync(cancellationToken);
                    }

                    await using (var record = new NpgsqlCommand(
                        "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@version, @name, now())",
                        connection,
                        transaction))
                    {
                        record.Parameters.AddWithValue("version", script.Version);
                        record.Parameters.AddWithValue("name", script.Name);
                        await record.ExecuteNonQueryAsync(cancellationToken);
                    }

                    await transaction.CommitAsync(cancellationToken);
                }

                count++;
                logger.LogInformation(
                    "Applied migration {Version:0000}_{Name} to {Database} in {ElapsedMs:0} ms",
                    script.Version, script.Name, _target.Database, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            await using var versionCommand = new NpgsqlCommand("SELECT max(version) FROM schema_migrations", connection);
            var schemaVersion = await versionCommand.ExecuteScalarAsync(cancellationToken) is int version ? version : (int?)null;
            return (count, schemaVersion);
        }
        finally
        {
            await UnlockAsync(connection, lockKey);
        }
    }

    private async Task UnlockAsync(NpgsqlConnection connection, long lockKey)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return; // the server released the session lock with the session
        }

        try
        {
            await ExecuteAsync(connection, "SELECT pg_advisory_unlock(@key)", lockKey, CancellationToken.None);
        }
        catch (NpgsqlException exception)
        {
            logger.LogDebug(exception, "Releasing the migration lock of {Database} failed; it ends with the session", _target.Database);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, long? key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        if (key is { } value)
        {
            command.Parameters.AddWithValue("key", value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
