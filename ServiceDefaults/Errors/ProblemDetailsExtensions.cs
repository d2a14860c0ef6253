using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.Extensions.Hosting;

public static class ProblemDetailsExtensions
{
    /// <summary>
    /// Every error leaves as RFC 9457 ProblemDetails carrying <c>traceId</c> and
    /// <c>correlationId</c>; exception details are never included, in any environment.
    /// </summary>
    public static TBuilder AddDefaultProblemDetails<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            var extensions = context.ProblemDetails.Extensions;
            extensions.Remove("exception");

            var httpContext = context.HttpContext;
            extensions["traceId"] = Activity.Current?.TraceId.ToHexString() ?? httpContext.TraceIdentifier;
            if (httpContext.GetCorrelationId() is { } correlationId)
            {
                extensions["correlationId"] = correlationId;
            }

            context.ProblemDetails.Instance ??= $"{httpContext.Request.Method} {httpContext.Request.Path}";
        });

        return builder;
    }

    /// <summary>
    /// Unhandled exceptions → 500 ProblemDetails (400/413/... for BadHttpRequestException),
    /// empty 4xx/5xx responses (404, 405, ...) → ProblemDetails. Placed after the developer
    /// exception page, so it answers first and no stack trace leaks even in Development.
    /// </summary>
    public static IApplicationBuilder UseDefaultProblemDetails(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception is BadHttpRequestException badRequest
                ? badRequest.StatusCode
                : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();

        return app;
    }
}
