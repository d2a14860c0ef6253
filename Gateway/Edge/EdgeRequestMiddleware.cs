using SmartHub.Gateway.Proxy;

namespace SmartHub.Gateway.Edge;

/// <summary>
/// The gateway's checks on every request, in one step: a canonical path (else 400), no client-sent internal identity
/// headers (removed), and the route's body limit (413 for a declared length above it; Kestrel enforces it while the
/// body streams). One middleware instead of three: each step of the pipeline costs the hot path a call and a task.
/// </summary>
internal sealed class EdgeRequestMiddleware(RequestDelegate next, RequestBodyLimits limits)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.Path.Value is { } path && !CanonicalPath.IsCanonical(path))
        {
            return CanonicalPath.RejectAsync(context);
        }

        InternalHeaders.Strip(context.Request.Headers);
        return limits.Enforce(context, context.GetEndpoint()?.Metadata.GetMetadata<GatewayRoute>()) ?? next(context);
    }
}

internal static class EdgeRequestExtensions
{
    /// <summary>Canonical paths, internal-header stripping and body limits (after the defaults, before authentication).</summary>
    public static IApplicationBuilder UseEdgeRequestChecks(this IApplicationBuilder app) =>
        app.UseMiddleware<EdgeRequestMiddleware>();
}
