using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace SmartHub.ServiceDefaults.Errors;

/// <summary>OpenAI-shaped errors on the OpenAI-compatible surface (<c>/v1/*</c>); ProblemDetails elsewhere.</summary>
public static class OpenAiErrorExtensions
{
    public const string PathPrefix = "/v1";

    public static bool IsOpenAiPath(PathString path) => path.StartsWithSegments(PathPrefix, StringComparison.OrdinalIgnoreCase);

    /// <summary>Unhandled exceptions under /v1 answer <c>{"error":{...,"type":"server_error"}}</c>.</summary>
    public static TBuilder AddOpenAiErrors<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddExceptionHandler<OpenAiExceptionHandler>();
        return builder;
    }

    /// <summary>Empty error responses under /v1 (404, 405, 502, ...) get an OpenAI-shaped body.</summary>
    public static IApplicationBuilder UseOpenAiErrors(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        return app.UseWhen(
            context => IsOpenAiPath(context.Request.Path),
            openAi => openAi.UseStatusCodePages(context => OpenAiError.WriteForStatusAsync(context.HttpContext)));
    }

    private sealed class OpenAiExceptionHandler : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (!IsOpenAiPath(httpContext.Request.Path))
            {
                return false;
            }

            var statusCode = httpContext.Response.StatusCode;
            var error = statusCode < StatusCodes.Status500InternalServerError
                ? OpenAiError.Create("The request could not be processed.", OpenAiError.TypeFor(statusCode), "invalid_request")
                : OpenAiError.Create("The server had an error while processing your request.", "server_error", "internal_error");
            await httpContext.Response.WriteAsJsonAsync(error, cancellationToken);
            return true;
        }
    }
}
