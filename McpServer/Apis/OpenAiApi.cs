using Microsoft.AspNetCore.Http.HttpResults;
using SmartHub.ServiceDefaults.Errors;
using SmartHub.ServiceDefaults.Redis;
using SmartHub.ServiceDefaults.Telemetry;

namespace SmartHub.McpServer.Apis;

/// <summary>
/// The OpenAI-compatible surface under <c>/v1</c>. For now: <c>GET /v1/status</c>; every other
/// /v1 path answers 404 in OpenAI's error shape (chat completions and models come next).
/// </summary>
public static class OpenAiApi
{
    private static readonly TimeSpan s_redisTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup(OpenAiErrorExtensions.PathPrefix).WithTags("OpenAI");

        v1.MapGet("/status", GetStatusAsync)
            .RequireAuthorization()
            .WithName("GetMcpStatus")
            .WithSummary("Service status: the Redis server it uses and its PING round trip.");

        v1.Map("/{**path}", UnknownUrl)
            .WithName("UnknownOpenAiUrl")
            .WithSummary("Any other /v1 path: 404 in OpenAI's error shape.");

        return app;
    }

    public static async Task<Results<Ok<McpStatus>, JsonHttpResult<OpenAiError>>> GetStatusAsync(
        IRedisClient redis,
        ServiceTelemetry telemetry,
        ILogger<McpStatus> logger,
        CancellationToken cancellationToken)
    {
        using var activity = telemetry.ActivitySource.StartActivity("mcp.status");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_redisTimeout);

        var endpoint = redis.EndPoint;
        try
        {
            var roundTrip = await redis.PingAsync(timeout.Token);
            return TypedResults.Ok(new McpStatus(
                Service: "mcp",
                Redis: new RedisStatus(endpoint.Host, endpoint.Port, Math.Round(roundTrip.TotalMilliseconds, 2))));
        }
        catch (Exception exception) when (exception is RedisException
            || (exception is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var reason = timeout.IsCancellationRequested ? $"no answer within {s_redisTimeout.TotalSeconds:0} s" : exception.Message;
            logger.LogWarning("Status: Redis at {Host}:{Port} unavailable: {Reason}", endpoint.Host, endpoint.Port, reason);
            return TypedResults.Json(
                OpenAiError.Create($"Redis is unavailable: {reason}", "service_unavailable", "redis_unavailable"),
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    public static NotFound<OpenAiError> UnknownUrl(HttpContext context) =>
        TypedResults.NotFound(OpenAiError.Create(
            $"Invalid URL ({context.Request.Method} {context.Request.Path})",
            "invalid_request_error",
            "unknown_url"));
}

public sealed record McpStatus(string Service, RedisStatus Redis);

public sealed record RedisStatus(string Host, int Port, double PingMs);
