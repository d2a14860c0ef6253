using Npgsql;

namespace SmartHub.ServiceDefaults.Postgres;

/// <summary>Where a data source points (host, port, database): safe to log, never the password.</summary>
public sealed record PostgresTarget(string Host, int Port, string Database)
{
    public static PostgresTarget FromConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var host = string.IsNullOrWhiteSpace(builder.Host) ? "localhost" : builder.Host;
        var database = builder.Database ?? builder.Username ?? "postgres";
        return new PostgresTarget(host, builder.Port, database);
    }

    public override string ToString() => $"{Host}:{Port}/{Database}";
}
