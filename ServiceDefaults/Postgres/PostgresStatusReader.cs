using Npgsql;

namespace SmartHub.ServiceDefaults.Postgres;

/// <summary>What a service reports about its database on its status endpoint.</summary>
public sealed record PostgresStatus(string Host, int Port, string Database, string ServerVersion, int? SchemaVersion);

public static class PostgresStatusReader
{
    /// <summary>Server version and the highest applied migration (null before the first migration).</summary>
    public static async Task<PostgresStatus> ReadAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);

        var target = PostgresTarget.FromConnectionString(dataSource.ConnectionString);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);

        string serverVersion;
        string database;
        bool hasMigrationsTable;
        await using (var command = new NpgsqlCommand(
            "SELECT current_setting('server_version'), current_database(), to_regclass('schema_migrations') IS NOT NULL",
            connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            serverVersion = reader.GetString(0);
            database = reader.GetString(1);
            hasMigrationsTable = reader.GetBoolean(2);
        }

        int? schemaVersion = null;
        if (hasMigrationsTable)
        {
            await using var command = new NpgsqlCommand("SELECT max(version) FROM schema_migrations", connection);
            schemaVersion = await command.ExecuteScalarAsync(cancellationToken) is int version ? version : null;
        }

        return new PostgresStatus(target.Host, target.Port, database, serverVersion, schemaVersion);
    }
}
