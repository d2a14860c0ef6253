using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace SmartHub.ServiceDefaults.Errors;

/// <summary>
/// OpenAI's error body, <c>{"error":{"message","type","param","code"}}</c>: the OpenAI-compatible
/// surface (/v1/*) answers errors in this shape instead of ProblemDetails because OpenAI SDKs parse it.
/// </summary>
public sealed record OpenAiError([property: JsonPropertyName("error")] OpenAiErrorDetail Error)
{
    public static OpenAiError Create(string message, string type, string? code = null, string? param = null) =>
        new(new OpenAiErrorDetail(message, type, param, code));

    /// <summary>The error type OpenAI uses for a status code ("invalid_request_error", "server_error", ...).</summary>
    public static string TypeFor(int statusCode) => statusCode switch
    {
        StatusCodes.Status401Unauthorized => "authentication_error",
        StatusCodes.Status403Forbidden => "permission_error",
        StatusCodes.Status404NotFound => "invalid_request_error",
        StatusCodes.Status429TooManyRequests => "rate_limit_error",
        StatusCodes.Status503ServiceUnavailable => "service_unavailable",
        >= 500 => "server_error",
        _ => "invalid_request_error",
    };

    /// <summary>Writes an OpenAI-shaped error for an empty error response (404, 405, 502, ...).</summary>
    public static Task WriteForStatusAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        var statusCode = context.Response.StatusCode;
        var message = statusCode switch
        {
            StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed =>
                $"Invalid URL ({context.Request.Method} {context.Request.Path})",
            StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status504GatewayTimeout =>
                "The service is temporarily unavailable. Please retry your request.",
            _ => ReasonPhrase(statusCode),
        };
        var code = statusCode switch
        {
            StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed => "unknown_url",
            StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status504GatewayTimeout => "upstream_unavailable",
            _ => null,
        };

        return context.Response.WriteAsJsonAsync(Create(message, TypeFor(statusCode), code), context.RequestAborted);
    }

    private static string ReasonPhrase(int statusCode) =>
        Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(statusCode) is { Length: > 0 } phrase ? phrase : $"HTTP {statusCode}";
}

public sealed record OpenAiErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
