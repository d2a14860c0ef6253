using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using SmartHub.ServiceDefaults.Correlation;

namespace Microsoft.Extensions.Hosting;

public static class CorrelationIdExtensions
{
    /// <summary>Adds the X-Correlation-ID middleware (read or create, echo, log scope, activity).</summary>
    public static IApplicationBuilder UseCorrelationId(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<CorrelationIdMiddleware>();
    }

    /// <summary>The request's correlation id, or null before the middleware ran.</summary>
    public static string? GetCorrelationId(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<ICorrelationIdFeature>()?.CorrelationId;
    }
}
