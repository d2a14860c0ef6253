using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.CoreService.Apis;

/// <summary>`GET /api/status`: which database the service uses and the schema version it is at.</summary>
public static class StatusApi
{
    private static readonly TimeSpan s_databaseTimeout = TimeSpan.FromSeconds(3);

    public static IEndpointRouteBuilder MapStatusApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Status");

        api.MapGet("/status", GetStatusAsync)
            .RequireAuthorization()
            .WithName("GetCoreStatus")
            .WithSummary("Service status: database server, address and applied schema version.");

        return app;
    }

    public static async Task<Results<Ok<CoreStatus>, ProblemHttpResult>> GetStatusAsync(
        NpgsqlDataSource dataSource,
        ServiceTelemetry telemetry,
        ILogger<CoreStatus> logger,
        CancellationToken cancellationToken)
    {
        using var activity = telemetry.ActivitySource.StartActivity("core.status");
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
            logger.LogWarning("Status: database coredb unavailable: {Reason}", reason);
            return TypedResults.Problem(
                title: "Database unavailable",
                detail: $"Database 'coredb' is unreachable: {reason}.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        if (status.SchemaVersion is not { } schemaVersion)
        {
            return TypedResults.Problem(
                title: "Database not migrated yet",
                detail: "Database 'coredb' is reachable but its migrations have not been applied yet.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        return TypedResults.Ok(new CoreStatus(
            Service: "core",
            Database: status.Database,
            Host: status.Host,
            Port: status.Port,
            SchemaVersion: schemaVersion,
            ServerVersion: status.ServerVersion));
    }
}

public sealed record CoreStatus(
    string Service,
    string Database,
    string Host,
    int Port,
    int SchemaVersion,
    string ServerVersion);
