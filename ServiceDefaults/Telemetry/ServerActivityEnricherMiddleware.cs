using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SmartHub.ServiceDefaults.Telemetry;

/// <summary>
/// Completes ASP.NET Core's server span the way the (unavailable) instrumentation package
/// would: <c>http.route</c>, a "GET /api/{**rest}" display name, <c>http.response.status_code</c>,
/// and an error status for 5xx. ASP.NET Core itself only sets the request tags at start.
/// </summary>
internal sealed class ServerActivityEnricherMiddleware(RequestDelegate next)
{
    private const string AspNetCoreActivityName = "Microsoft.AspNetCore.Hosting.HttpRequestIn";

    public Task InvokeAsync(HttpContext context)
    {
        var activity = Activity.Current;
        return activity is not { IsAllDataRequested: true, Kind: ActivityKind.Server }
            || !string.Equals(activity.OperationName, AspNetCoreActivityName, StringComparison.Ordinal)
            ? next(context)  // nothing records the span: no async frame on the hot path
            : EnrichAsync(context, activity);
    }

    private async Task EnrichAsync(HttpContext context, Activity activity)
    {
        try
        {
            await next(context);
        }
        finally
        {
            var method = context.Request.Method;
            if ((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } route)
            {
                activity.SetTag("http.route", route);
                activity.DisplayName = $"{method} {route}";
            }
            else
            {
                activity.DisplayName = method;
            }

            var statusCode = context.Response.StatusCode;
            activity.SetTag("http.response.status_code", statusCode);
            if (statusCode >= StatusCodes.Status500InternalServerError)
            {
                activity.SetStatus(ActivityStatusCode.Error);
                activity.SetTag("error.type", statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }
}
