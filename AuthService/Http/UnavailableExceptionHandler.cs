using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Npgsql;
using SmartHub.AuthService.Apis;
using SmartHub.AuthService.Signing;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.AuthService.Http;

/// <summary>
/// A dependency that is down (PostgreSQL, Redis, the signing keys not loaded) is not a bug: 503 ProblemDetails with
/// Retry-After instead of a 500, and a warning in the log rather than a stack trace.
/// </summary>
public sealed class UnavailableExceptionHandler(IProblemDetailsService problemDetails, ILogger<UnavailableExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var reason = exception switch
        {
            SigningKeyUnavailableException e => e.Message,
            NpgsqlException or TimeoutException => $"The database is unavailable ({PostgresFailure.Describe(exception)}).",
            RedisException e => $"Redis is unavailable ({e.Message}).",
            _ => null,
        };

        if (reason is null || httpContext.Response.HasStarted)
        {
            return false;
        }

        logger.LogWarning("{Method} {Path} answered 503: {Reason}", httpContext.Request.Method, httpContext.Request.Path, reason);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = "1";
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Type = AuthProblems.Unavailable,
                Title = "Service unavailable",
                Detail = reason,
            },
        });
    }
}
