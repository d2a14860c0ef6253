using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Npgsql;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.ServiceDefaults.Postgres;

/// <summary>
/// <c>GET {prefix}/status</c> of a service that owns a database: which database it uses, where, and the schema version
/// its migrations reached. 503 ProblemDetails while the database is unreachable or not migrated yet.
/// </summary>
public static class DatabaseStatusEndpoint
{
    private static readonly TimeSpan s_databaseTimeout = TimeSpan.FromSeconds(3);

    /// <param name="prefix">The service's route prefix, e.g. <c>/api</c>.</param>
    /// <param name="service">The resource name, e.g. <c>core</c>.</param>
    /// <param name="database">The connection name, e.g. <c>coredb</c>.</param>
    public static IEndpointRouteBuilder MapDatabaseStatus(this IEndpointRouteBuilder app, string prefix, string service, string database)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet($"{prefix}/status", (NpgsqlDataSource dataSource, ServiceTelemetry telemetry, ILoggerFactory loggers, CancellationToken cancellationToken) =>
                GetStatusAsync(service, database, dataSource, telemetry, loggers.CreateLogger(typeof(DatabaseStatusEndpoint)), cancellationToken))
            .RequireAuthorization()
            .WithTags("Status")
            .WithName($"Get{char.ToUpperInvariant(service[0])}{service[1..]}Status")
            .WithSummary("Service status: database server, address and applied schema version.");
        return app;
    }

    public static async Task<Results<Ok<DatabaseStatus>, ProblemHttpResult>> GetStatusAsync(
        string service, string database, NpgsqlDataSource dataSource, ServiceTelemetry telemetry, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        using var activity = telemetry.ActivitySource.StartActivity($"{service}.status");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_databaseTimeout);

        PostgresStatus status;
        try
        {
            status = await PostgresStatusReader.ReadAsync(dataSource, timeout.Token);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var reason = timeout.IsCancellationRequested ? "no answer within 3 s" : PostgresFailure.Describe(exception);
            logger.LogWarning("Status: database {Database} unavailable: {Reason}", database, reason);
            return TypedResults.Problem(
                title: "Database unavailable",
                detail: $"Database '{database}' is unreachable: {reason}.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (status.SchemaVersion is not { } schemaVersion)
        {
            return TypedResults.Problem(
                title: "Database not migrated yet",
                detail: $"Database '{database}' is reachable but its migrations have not been applied yet.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Ok(new DatabaseStatus(service, status.Database, status.Host, status.Port, schemaVersion, status.ServerVersion));
    }
}

public sealed record DatabaseStatus(string Service, string Database, string Host, int Port, int SchemaVersion, string ServerVersion);
