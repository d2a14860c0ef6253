using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.ServiceDefaults.Authentication;

public enum AuthenticationFailureKind
{
    InvalidToken,
    InvalidApiKey,

    /// <summary>The user's sessions were revoked (disabled, roles changed) after the token was issued.</summary>
    Revoked,

    /// <summary>Keys or the verification service could not be reached: 503, not the client's fault.</summary>
    Unavailable,
}

/// <summary>Why authentication failed; carried in <c>AuthenticateResult.Failure</c> and turned into the 401/503 answer.</summary>
public sealed class SmartHubAuthenticationException : Exception
{
    public SmartHubAuthenticationException()
    {
    }

    public SmartHubAuthenticationException(string message)
        : base(message)
    {
    }

    public SmartHubAuthenticationException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    public SmartHubAuthenticationException(AuthenticationFailureKind kind, string message)
        : base(message)
    {
        Kind = kind;
    }

    public AuthenticationFailureKind Kind { get; }
}

/// <summary>
/// The 401/403/503 answers of SmartHub's authentication: ProblemDetails (with traceId and correlationId), or OpenAI's
/// error shape under <c>/v1</c> because OpenAI SDKs parse that; a <c>WWW-Authenticate</c> header as RFC 6750 says.
/// </summary>
public static class AuthenticationResponses
{
    public static async Task WriteChallengeAsync(HttpContext context, Exception? failure)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Response.HasStarted)
        {
            return;
        }

        var problem = failure switch
        {
            null => new Problem(StatusCodes.Status401Unauthorized, SmartHubProblemTypes.Unauthenticated, "Authentication required",
                "Send an access token (Authorization: Bearer <JWT>) or an API key (Authorization: Bearer shk_… or X-API-Key).",
                "Bearer", "missing_credentials"),
            SmartHubAuthenticationException { Kind: AuthenticationFailureKind.Unavailable } e => new Problem(
                StatusCodes.Status503ServiceUnavailable, SmartHubProblemTypes.AuthenticationUnavailable, "Authentication unavailable",
                e.Message, null, "authentication_unavailable"),
            SmartHubAuthenticationException { Kind: AuthenticationFailureKind.InvalidApiKey } e => new Problem(
                StatusCodes.Status401Unauthorized, SmartHubProblemTypes.InvalidApiKey, "Invalid API key", e.Message,
                BearerError("invalid_token", e.Message), "invalid_api_key"),
            _ => new Problem(StatusCodes.Status401Unauthorized, SmartHubProblemTypes.InvalidToken, "Invalid access token",
                failure.Message, BearerError("invalid_token", failure.Message), "invalid_token"),
        };

        await WriteAsync(context, problem);
    }

    public static Task WriteForbiddenAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        const string detail = "Your credentials do not grant the permission this request needs.";
        return WriteAsync(context, new Problem(StatusCodes.Status403Forbidden, SmartHubProblemTypes.Forbidden, "Forbidden", detail,
            BearerError("insufficient_scope", detail), "insufficient_permissions"));
    }

    private static string BearerError(string error, string description) =>
        $"Bearer error=\"{error}\", error_description=\"{description.Replace("\"", "'", StringComparison.Ordinal)}\"";

    private static async Task WriteAsync(HttpContext context, Problem problem)
    {
        var response = context.Response;
        response.StatusCode = problem.Status;
        if (problem.WwwAuthenticate is { } challenge)
        {
            response.Headers.WWWAuthenticate = challenge;
        }

        if (problem.Status == StatusCodes.Status503ServiceUnavailable)
        {
            response.Headers.RetryAfter = "1";
        }

        if (OpenAiErrorExtensions.IsOpenAiPath(context.Request.Path))
        {
            await response.WriteAsJsonAsync(
                OpenAiError.Create(problem.Detail, OpenAiError.TypeFor(problem.Status), problem.Code),
                context.RequestAborted);
            return;
        }

        var details = new ProblemDetails
        {
            Status = problem.Status,
            Type = problem.Type,
            Title = problem.Title,
            Detail = problem.Detail,
        };

        if (context.RequestServices.GetService<IProblemDetailsService>() is { } service
            && await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = details }))
        {
            return;
        }

        await response.WriteAsJsonAsync(details, (System.Text.Json.JsonSerializerOptions?)null, "application/problem+json", context.RequestAborted);
    }

    private sealed record Problem(int Status, string Type, string Title, string Detail, string? WwwAuthenticate, string Code);
}
