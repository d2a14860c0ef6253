using Microsoft.AspNetCore.Mvc;
using SmartHub.ServiceDefaults.Errors;

namespace SmartHub.Gateway.Edge;

/// <summary>
/// Errors the gateway answers itself (401, 403, 413, 429): RFC 9457 ProblemDetails, or OpenAI's error shape
/// <c>{"error":{"message","type","param","code"}}</c> under <c>/v1</c>, whose clients (OpenAI SDKs) parse that.
/// Never an empty body.
/// </summary>
internal static class GatewayErrors
{
    public const string TypeUnauthorized = "https://tools.ietf.org/html/rfc9110#section-15.5.2";
    public const string TypeForbidden = "https://tools.ietf.org/html/rfc9110#section-15.5.4";
    public const string TypeContentTooLarge = "https://tools.ietf.org/html/rfc9110#section-15.5.14";
    public const string TypeTooManyRequests = "https://tools.ietf.org/html/rfc6585#section-4";

    /// <summary>Sets the status and writes the body, unless the response has started already.</summary>
    /// <param name="code">Stable machine-readable code: OpenAI's <c>code</c>, and <c>code</c> in the ProblemDetails extensions.</param>
    public static async Task WriteAsync(HttpContext context, int statusCode, string type, string title, string detail, string code)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.StatusCode = statusCode;
        if (OpenAiErrorExtensions.IsOpenAiPath(context.Request.Path))
        {
            await context.Response.WriteAsJsonAsync(OpenAiError.Create(detail, OpenAiError.TypeFor(statusCode), code), context.RequestAborted);
            return;
        }

        var problem = new ProblemDetails
        {
            Status = statusCode,
            Type = type,
            Title = title,
            Detail = detail,
            Extensions = { ["code"] = code },
        };

        // The service applies the defaults (traceId, correlationId, instance); it declines when the client's Accept
        // header rules out JSON, and then the body is written anyway: an error is never empty.
        var service = context.RequestServices.GetService<IProblemDetailsService>();
        if (service is null || !await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsJsonAsync(problem, options: null, contentType: "application/problem+json", context.RequestAborted);
        }
    }
}
