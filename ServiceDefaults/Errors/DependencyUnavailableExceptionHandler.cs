using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using SmartHub.ServiceDefaults.Authentication;
using SmartHub.ServiceDefaults.Postgres;
using SmartHub.ServiceDefaults.Redis;

namespace SmartHub.ServiceDefaults.Errors;

/// <summary>
/// Thrown when something a request needs is down or not ready yet (a service's own reasons, beside the database and
/// Redis failures that <see cref="DependencyUnavailableExceptionHandler"/> recognises by type). The message is shown to
/// the caller: keep it free of secrets.
/// </summary>
public class DependencyUnavailableException : Exception
{
    public DependencyUnavailableException()
    {
    }

    public DependencyUnavailableException(string message)
        : base(message)
    {
    }

    public DependencyUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A dependency that is down (PostgreSQL, Redis, or a <see cref="DependencyUnavailableException"/>) is not a bug: 503
/// ProblemDetails with Retry-After instead of a 500, and a warning in the log rather than a stack trace.
/// </summary>
public sealed class DependencyUnavailableExceptionHandler(
    IProblemDetailsService problemDetails,
    ILogger<DependencyUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        ArgumentNullException.ThrowIfNull(exception);

        var reason = exception switch
        {
            DependencyUnavailableException e => e.Message,
            // A statement the server refuses (syntax, a constraint, bad data) is a bug, not an outage: left to the 500 handler.
            PostgresException e when !PostgresFailure.IsOutage(e) => null,
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
                Type = SmartHubProblemTypes.ServiceUnavailable,
                Title = "Service unavailable",
                Detail = reason,
            },
        });
    }
}

public static class DependencyUnavailableExtensions
{
    /// <summary>503 ProblemDetails (Retry-After: 1) when PostgreSQL or Redis is down, instead of a 500.</summary>
    public static IServiceCollection AddDependencyUnavailableHandling(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddExceptionHandler<DependencyUnavailableExceptionHandler>();
        return services;
    }
}
